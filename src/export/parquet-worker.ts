import { open, type FileHandle } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import type * as ParquetWasm from 'parquet-wasm/node';
import { writeChunks } from './write-chunks';

/**
 * The Parquet encoder, in its own thread: parquet-wasm's writer is synchronous WebAssembly, so here it
 * encodes one batch while the main thread reads and builds the next (on two cores, the export takes about
 * as long as the encoding alone). Batches arrive as Arrow IPC stream bytes, transferred without a copy.
 *
 * Protocol (main → worker): `batch` { ipc }, `end`, `abort`. (worker → main): `ready`, `ack` (a batch
 * entered the encoder: send another), `bytes` { bytes }, `done`, `error` { message }.
 */
export interface ParquetWorkerData {
  path: string;
  compression: 'snappy' | 'zstd' | 'gzip' | 'none';
  rowGroupRows: number;
  dictionaryColumns: string[];
  keyValueMetadata: [string, string][];
}

export type ToParquetWorker = { type: 'batch'; ipc: Uint8Array } | { type: 'end' } | { type: 'abort' };
export type FromParquetWorker =
  | { type: 'ready' }
  | { type: 'ack' }
  | { type: 'bytes'; bytes: number }
  | { type: 'done' }
  | { type: 'error'; message: string; stack?: string };

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

function post(message: FromParquetWorker): void {
  parentPort!.postMessage(message);
}

async function run(settings: ParquetWorkerData): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pw = require('parquet-wasm/node') as typeof ParquetWasm;
  const codec = { snappy: pw.Compression.SNAPPY, zstd: pw.Compression.ZSTD, gzip: pw.Compression.GZIP, none: pw.Compression.UNCOMPRESSED }[settings.compression];
  let builder = new pw.WriterPropertiesBuilder()
    .setCompression(codec)
    .setMaxRowGroupSize(settings.rowGroupRows)
    .setCreatedBy('quicksort (parquet-wasm)')
    .setDictionaryEnabled(false)
    .setKeyValueMetadata(new Map(settings.keyValueMetadata));
  for (const column of settings.dictionaryColumns) builder = builder.setColumnDictionaryEnabled(column, true);
  const properties = builder.build();

  const file: FileHandle = await open(settings.path, 'w');
  const feed = new BatchFeed();
  const drained = (async () => {
    const output = await pw.transformParquetStream(feed.stream, properties);
    const reader = output.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      post({ type: 'bytes', bytes: await writeChunks(file, [value]) });
    }
  })();
  const failed = drained.then(() => {
    throw new Error('the Parquet writer stopped before the last batch');
  });
  failed.catch(() => undefined);

  const handle = async (message: ToParquetWorker): Promise<boolean> => {
    switch (message.type) {
      case 'batch': {
        const table = pw.Table.fromIPCStream(message.ipc);
        const batches = table.recordBatches();
        table.free();
        for (const batch of batches) await feed.push(batch, failed);
        post({ type: 'ack' });
        return false;
      }
      case 'end':
        feed.close();
        await drained;
        await file.close();
        post({ type: 'done' });
        return true;
      case 'abort':
        feed.error(new Error('export aborted'));
        await drained.catch(() => undefined);
        await file.close().catch(() => undefined);
        post({ type: 'done' });
        return true;
    }
  };

  // Messages are handled one after another, in the order they came.
  let queue = Promise.resolve(false);
  parentPort!.on('message', (message: ToParquetWorker) => {
    queue = queue
      .then((finished) => (finished ? true : handle(message)))
      .then(
        (finished) => {
          if (finished) parentPort!.close();
          return finished;
        },
        async (error: unknown) => {
          feed.error(error);
          await file.close().catch(() => undefined);
          post({ type: 'error', message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined });
          parentPort!.close();
          return true;
        },
      );
  });
  post({ type: 'ready' });
}

if (parentPort && (workerData as { parquetWorker?: ParquetWorkerData } | undefined)?.parquetWorker) {
  run((workerData as { parquetWorker: ParquetWorkerData }).parquetWorker).catch((error: unknown) => {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    parentPort!.close();
  });
}
