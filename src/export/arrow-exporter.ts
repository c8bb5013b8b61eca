import { open, type FileHandle } from 'node:fs/promises';
import { AsyncByteQueue, RecordBatchFileWriter, RecordBatchStreamWriter, type RecordBatchWriter } from 'apache-arrow';
import { itemSchema, toRecordBatch } from './arrow-batch';
import { writeChunks } from './write-chunks';
import type { ExportBatch, ExportContext, Exporter, ExportWriter } from './types';

/**
 * The IPC writer's byte sink, collected synchronously: after each `write(batch)` the bytes of that batch
 * are taken and written to the file before the next batch is built, so at most one batch is in memory.
 * (The writer's own queue would hold everything until someone iterates it.)
 */
class ChunkCollector extends AsyncByteQueue<Uint8Array> {
  private chunks: Uint8Array[] = [];

  override write(value: Uint8Array | ArrayBufferView | ArrayBufferLike): void {
    const bytes = value instanceof Uint8Array ? value : ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
    if (bytes.byteLength > 0) this.chunks.push(bytes);
  }

  take(): Uint8Array[] {
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }
}

class ArrowIpcWriter implements ExportWriter {
  /** The bytes of the previous batch on their way to the file, while the next batch is read and built. */
  private pending: Promise<void> = Promise.resolve();

  private constructor(
    private readonly context: ExportContext,
    private readonly file: FileHandle,
    private readonly writer: RecordBatchWriter,
    private readonly sink: ChunkCollector,
    private readonly schema: ReturnType<typeof itemSchema>,
  ) {}

  static async open(context: ExportContext, kind: 'file' | 'stream'): Promise<ArrowIpcWriter> {
    const schema = itemSchema({ embeddingDim: context.embeddingDim, classes: context.classes, metadata: context.metadata });
    const writer = kind === 'file' ? new RecordBatchFileWriter() : new RecordBatchStreamWriter();
    const sink = new ChunkCollector();
    // Given the schema up front, the writer emits it now, so an export of zero rows is still a valid file
    // that tells readers its columns.
    writer.reset(sink, schema);
    const file = await open(context.path, 'w');
    const self = new ArrowIpcWriter(context, file, writer, sink, schema);
    await self.flush();
    return self;
  }

  async write(batch: ExportBatch): Promise<void> {
    const recordBatch = toRecordBatch(this.schema, batch);
    await this.pending;
    this.writer.write(recordBatch);
    // Not awaited here: the file system writes this batch (in libuv's threads) while the caller reads the
    // next one from the store; at most two batches are in memory.
    this.pending = this.flush();
    this.pending.catch(() => undefined);
  }

  async close(): Promise<{ files: string[] }> {
    await this.pending;
    this.writer.finish();
    await this.flush();
    this.writer.close();
    await this.file.close();
    return { files: [] };
  }

  async abort(): Promise<void> {
    await this.pending.catch(() => undefined);
    await this.file.close().catch(() => undefined);
  }

  private async flush(): Promise<void> {
    this.context.addBytes(await writeChunks(this.file, this.sink.take()));
  }
}

/** Arrow IPC file (Feather v2): random access, memory-mappable; `pyarrow.ipc.open_file`, `tableFromIPC`. */
export const arrowFileExporter: Exporter = {
  format: 'arrow',
  description: 'Arrow IPC file (Feather v2), random access',
  target: 'file',
  embeddings: true,
  input: 'columns',
  open: (context) => ArrowIpcWriter.open(context, 'file'),
};

/** Arrow IPC stream: batches in order, readable while it is written or piped; `pyarrow.ipc.open_stream`. */
export const arrowStreamExporter: Exporter = {
  format: 'arrow-stream',
  description: 'Arrow IPC stream, sequential batches',
  target: 'file',
  embeddings: true,
  input: 'columns',
  open: (context) => ArrowIpcWriter.open(context, 'stream'),
};
