import { Worker } from 'node:worker_threads';
import { Table, tableToIPC, type Schema } from 'apache-arrow';
import { ExportError, InvalidArgumentError, messageOf } from '../errors';
import { itemSchema, toRecordBatch } from './arrow-batch';
import { compiledWorkerModule } from './worker-module';
import type { FromParquetWorker, ParquetWorkerData, ToParquetWorker } from './parquet-worker';
import type { ExportBatch, ExportContext, Exporter, ExportWriter, ParquetCompression } from './types';

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
export const PARQUET_DICTIONARY_COLUMNS: readonly string[] = ['format', 'split', 'label', 'label_source', 'labeled_by', 'source_uri'];

/** The worker's compiled module (see {@link compiledWorkerModule}). */
function workerModule(): string {
  const module = compiledWorkerModule('parquet-worker');
  if (module) return module;
  throw new ExportError(`the Parquet worker parquet-worker.js was not found beside ${__filename} nor in dist/export; run \`npm run build\` first`);
}

/** Batches on their way to the worker or in its encoder, at most: bounds memory on both sides. */
const MAX_IN_FLIGHT = 2;

/**
 * The main-thread side of a Parquet export: builds each Arrow record batch, serialises it as an IPC stream
 * (the one format apache-arrow and parquet-wasm share), and transfers the bytes to the encoder thread
 * (`parquet-worker.ts`), at most {@link MAX_IN_FLIGHT} batches ahead of it.
 */
class ParquetWriter implements ExportWriter {
  private batches = 0;
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private finished = false;
  private readonly done: Promise<void>;

  private constructor(
    private readonly context: ExportContext,
    private readonly worker: Worker,
    private readonly schema: Schema,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromParquetWorker) => {
        switch (message.type) {
          case 'ack':
            this.inFlight--;
            break;
          case 'bytes':
            context.addBytes(message.bytes);
            break;
          case 'done':
            this.finished = true;
            resolve();
            break;
          case 'error':
            this.failure = new ExportError(`the Parquet writer failed: ${message.message}`);
            reject(this.failure);
            break;
          case 'ready':
            break;
        }
        this.wake?.();
      });
      worker.on('error', (error) => {
        this.failure = new ExportError(`the Parquet worker failed: ${messageOf(error)}`, { cause: error });
        reject(this.failure);
        this.wake?.();
      });
      worker.on('exit', (code) => {
        if (!this.finished && !this.failure) {
          this.failure = new ExportError(`the Parquet worker stopped (exit code ${code}) before the file was complete`);
          reject(this.failure);
        }
        this.wake?.();
      });
    });
    this.done.catch(() => undefined);
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
    const schema = itemSchema({ embeddingDim: context.embeddingDim, classes: context.classes, metadata: context.metadata });
    const settings: ParquetWorkerData = {
      path: context.path,
      compression,
      rowGroupRows,
      dictionaryColumns: [...PARQUET_DICTIONARY_COLUMNS],
      // The Arrow schema's metadata (the class list) travels inside ARROW:schema, which only Arrow-based
      // readers decode; as plain key-value metadata every Parquet reader sees it.
      keyValueMetadata: [...schema.metadata],
    };
    const worker = new Worker(workerModule(), { workerData: { parquetWorker: settings } });
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', (message: FromParquetWorker) =>
        message.type === 'ready' ? resolve() : reject(new ExportError(`the Parquet writer could not start: ${message.type === 'error' ? message.message : message.type}`)),
      );
      worker.once('error', reject);
    });
    const writer = new ParquetWriter(context, worker, schema);
    try {
      await ready;
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return writer;
  }

  async write(batch: ExportBatch): Promise<void> {
    await this.send(batch);
  }

  async close(): Promise<{ files: string[] }> {
    // A file with no rows still needs one (empty) batch to carry the schema.
    if (this.batches === 0) {
      const dim = this.context.embeddingDim;
      await this.send({ items: [], embeddings: dim ? { dim, values: new Float32Array(0), present: null } : null });
    }
    this.post({ type: 'end' });
    await this.done;
    return { files: [] };
  }

  async abort(): Promise<void> {
    if (!this.finished && !this.failure) {
      this.post({ type: 'abort' });
      await Promise.race([this.done.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    }
    await this.worker.terminate();
  }

  private async send(batch: ExportBatch): Promise<void> {
    this.check();
    const ipc = tableToIPC(new Table(this.schema, toRecordBatch(this.schema, batch)), 'stream');
    while (this.inFlight >= MAX_IN_FLIGHT) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.check();
    }
    this.inFlight++;
    // Transferred, not copied, when the bytes own their whole buffer (as tableToIPC's result does).
    const whole = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength;
    const bytes = whole ? ipc : ipc.slice();
    this.post({ type: 'batch', ipc: bytes }, [bytes.buffer as ArrayBuffer]);
    this.batches++;
  }

  private post(message: ToParquetWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }
}

/** Parquet through parquet-wasm (Rust's arrow-rs writer), compression selectable, row groups of ~128 MiB. */
export const parquetExporter: Exporter = {
  format: 'parquet',
  description: 'Parquet (snappy, zstd, gzip or none), row groups of about 128 MiB',
  target: 'file',
  embeddings: true,
  input: 'columns',
  // Smaller than the default: each batch is copied twice on its way (IPC bytes, WebAssembly memory).
  batchRows: 16_384,
  open: (context) => ParquetWriter.open(context),
};
