import { open, type FileHandle } from 'node:fs/promises';
import { Table, tableToIPC, type Schema } from 'apache-arrow';
import type * as ParquetWasm from 'parquet-wasm/node';
import { ExportError, InvalidArgumentError, messageOf } from '../errors';
import { itemSchema, toRecordBatch } from './arrow-batch';
import type { ExportBatch, ExportContext, Exporter, ExportWriter, ParquetCompression } from './types';
import { writeChunks } from './write-chunks';

export const PARQUET_COMPRESSIONS: readonly ParquetCompression[] = ['snappy', 'zstd', 'gzip', 'none'];

/** Uncompressed bytes a row group aims at: big enough for fast scans, small enough to write in bounded memory. */
const ROW_GROUP_TARGET_BYTES = 128 * 1024 * 1024;
const MIN_ROW_GROUP_ROWS = 4096;
const MAX_ROW_GROUP_ROWS = 1024 * 1024;
/** The columns other than the embedding take about this many bytes a row (uri, hash, label, ids, box). */
const BASE_ROW_BYTES = 256;

/**
 * Rows per row group: about {@link ROW_GROUP_TARGET_BYTES} of data, so a table with 512-d embeddings gets
 * ~60k-row groups and one without gets the usual 1Mi-row groups.
 */
export function defaultRowGroupRows(embeddingDim: number | null): number {
  const rowBytes = BASE_ROW_BYTES + 4 * (embeddingDim ?? 0);
  const rows = Math.floor(ROW_GROUP_TARGET_BYTES / rowBytes / 1024) * 1024;
  return Math.min(MAX_ROW_GROUP_ROWS, Math.max(MIN_ROW_GROUP_ROWS, rows));
}

/**
 * Dictionary encoding only for the columns of few distinct values (labels, splits, sources); elsewhere
 * (ids, uris, hashes, captions, boxes, embeddings) the writer would build a dictionary, find it too big and
 * fall back, which only costs time. It is off by default and named here, because parquet-wasm can name
 * top-level columns only (a nested path such as `embedding.list.item` is not matched).
 */
export const PARQUET_DICTIONARY_COLUMNS = ['format', 'split', 'label', 'label_source', 'labeled_by', 'source_uri'];

let wasm: typeof ParquetWasm | undefined;

/** parquet-wasm's Node build (CommonJS, compiles its WebAssembly on first require); loaded on first use only. */
function parquetWasm(): typeof ParquetWasm {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  wasm ??= require('parquet-wasm/node') as typeof ParquetWasm;
  return wasm;
}

/**
 * Pushes wasm record batches into the ReadableStream the Parquet writer pulls from, one at a time: `push`
 * resolves once the writer has asked for more, so batches never pile up in WebAssembly memory.
 */
class BatchFeed {
  readonly stream: ReadableStream<ParquetWasm.RecordBatch>;
  private controller!: ReadableStreamDefaultController<ParquetWasm.RecordBatch>;
  private wake: (() => void) | undefined;

  constructor() {
    this.stream = new ReadableStream<ParquetWasm.RecordBatch>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          this.wake?.();
          this.wake = undefined;
        },
      },
      { highWaterMark: 1 },
    );
  }

  async push(batch: ParquetWasm.RecordBatch, failed: Promise<never>): Promise<void> {
    this.controller.enqueue(batch);
    if ((this.controller.desiredSize ?? 1) > 0) return;
    await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), failed]);
  }

  close(): void {
    this.controller.close();
  }

  error(reason: unknown): void {
    try {
      this.controller.error(reason);
    } catch {
      // already closed or errored
    }
  }
}

class ParquetWriter implements ExportWriter {
  private batches = 0;
  private readonly feed = new BatchFeed();
  /** Writes the Parquet bytes to the file as the writer produces them; rejects on the first failure. */
  private readonly drained: Promise<void>;
  private readonly failed: Promise<never>;
  private failure: unknown;

  private constructor(
    private readonly context: ExportContext,
    private readonly file: FileHandle,
    private readonly schema: Schema,
    properties: ParquetWasm.WriterProperties,
  ) {
    const pw = parquetWasm();
    this.drained = (async () => {
      const output = await pw.transformParquetStream(this.feed.stream, properties);
      const reader = output.getReader() as ReadableStreamDefaultReader<Uint8Array>;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        context.addBytes(await writeChunks(file, [value]));
      }
    })();
    this.failed = this.drained.then(() => {
      throw new ExportError('the Parquet writer stopped before the last batch');
    });
    // The failure is reported by write/close; this keeps it from also surfacing as unhandled.
    this.failed.catch((error: unknown) => (this.failure = error));
  }

  static async open(context: ExportContext): Promise<ParquetWriter> {
    const compression = context.options.compression ?? 'snappy';
    if (!PARQUET_COMPRESSIONS.includes(compression)) {
      throw new InvalidArgumentError(`unknown Parquet compression ${JSON.stringify(compression)}; expected one of ${PARQUET_COMPRESSIONS.join(', ')}`);
    }
    const rowGroupRows = context.options.rowGroupRows ?? defaultRowGroupRows(context.embeddingDim);
    if (!Number.isInteger(rowGroupRows) || rowGroupRows <= 0) {
      throw new InvalidArgumentError(`rowGroupRows must be a positive whole number; got ${String(rowGroupRows)}`);
    }
    const pw = parquetWasm();
    const codec = { snappy: pw.Compression.SNAPPY, zstd: pw.Compression.ZSTD, gzip: pw.Compression.GZIP, none: pw.Compression.UNCOMPRESSED }[compression];
    let builder = new pw.WriterPropertiesBuilder()
      .setCompression(codec)
      .setMaxRowGroupSize(rowGroupRows)
      .setCreatedBy('quicksort (parquet-wasm)')
      .setDictionaryEnabled(false);
    for (const column of PARQUET_DICTIONARY_COLUMNS) builder = builder.setColumnDictionaryEnabled(column, true);
    const schema = itemSchema({ embeddingDim: context.embeddingDim, classes: context.classes, metadata: context.metadata });
    // The Arrow schema's metadata (the class list) travels inside ARROW:schema, which only Arrow-based
    // readers decode; as plain key-value metadata every Parquet reader sees it.
    builder = builder.setKeyValueMetadata(new Map(schema.metadata));
    const file = await open(context.path, 'w');
    return new ParquetWriter(context, file, schema, builder.build());
  }

  async write(batch: ExportBatch): Promise<void> {
    await this.push(batch);
  }

  async close(): Promise<{ files: string[] }> {
    // A file with no rows still needs one (empty) batch to carry the schema.
    if (this.batches === 0) await this.push({ items: [], embeddings: this.context.embeddingDim ? { dim: this.context.embeddingDim, values: new Float32Array(0), present: null } : null });
    this.feed.close();
    try {
      await this.drained;
    } catch (error) {
      throw new ExportError(`the Parquet writer failed: ${messageOf(error)}`, { cause: error });
    } finally {
      await this.file.close();
    }
    return { files: [] };
  }

  async abort(): Promise<void> {
    this.feed.error(new ExportError('export aborted'));
    await this.drained.catch(() => undefined);
    await this.file.close().catch(() => undefined);
  }

  /**
   * Hands a batch to parquet-wasm: apache-arrow's IPC bytes are the one format both sides share, so the
   * batch crosses into WebAssembly memory as an IPC stream.
   */
  private async push(batch: ExportBatch): Promise<void> {
    if (this.failure !== undefined) throw new ExportError(`the Parquet writer failed: ${messageOf(this.failure)}`, { cause: this.failure });
    const pw = parquetWasm();
    const ipc = tableToIPC(new Table(this.schema, toRecordBatch(this.schema, batch)), 'stream');
    let table: ParquetWasm.Table;
    try {
      table = pw.Table.fromIPCStream(ipc);
    } catch (error) {
      throw new ExportError(`parquet-wasm could not read a batch of ${batch.items.length} rows: ${messageOf(error)}`, { cause: error });
    }
    const wasmBatches = table.recordBatches();
    table.free();
    for (const wasmBatch of wasmBatches) await this.feed.push(wasmBatch, this.failed);
    this.batches++;
  }
}

/** Parquet through parquet-wasm (Rust's arrow-rs writer), compression selectable, row groups of ~128 MiB. */
export const parquetExporter: Exporter = {
  format: 'parquet',
  description: 'Parquet (snappy, zstd, gzip or none), row groups of about 128 MiB',
  target: 'file',
  embeddings: true,
  open: (context) => ParquetWriter.open(context),
};
