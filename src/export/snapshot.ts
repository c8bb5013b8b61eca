import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ExportError, messageOf } from '../errors';
import type { ItemFilter, ItemWithState, ReadSnapshot, Store } from '../store';
import type { EmbeddingJoin } from './embeddings';
import { ItemColumnsBuilder, type ItemColumns } from './item-columns';
import type { FromSnapshotWorker, SnapshotWorkerData, ToSnapshotWorker } from './snapshot-worker';
import type { ExportBatch } from './types';
import { compiledWorkerModule } from './worker-module';

/**
 * A read-only view of the store as it was when the export began: the count, the class list and every row
 * agree with each other, and labeling goes on while the export streams.
 *
 * - `columns` batches (Arrow, Parquet, `toArrow`) are read by a {@link WorkerSnapshot}: another thread with
 *   its own connection, so reading the store overlaps encoding and writing.
 * - `items` batches (WebDataset, COCO) and stores that cannot be reopened (in memory) are read here by a
 *   {@link StoreSnapshot}.
 */
export interface Snapshot {
  /** The rows the filter matched. */
  readonly count: number;
  /** The class names, in class-index order. */
  readonly classes: string[];
  /** How the rows are read: `worker` (another thread) or `main` (this one). */
  readonly reader: 'worker' | 'main';
  /** The batches in id order, with their embedding rows when a join is given. */
  batches(join: EmbeddingJoin | null): AsyncGenerator<ExportBatch>;
  close(): Promise<void>;
}

export interface SnapshotOptions {
  where: ItemFilter;
  batchRows: number;
  /** What the batches carry: column buffers (read in a worker thread when the store is a file) or items. */
  input: 'items' | 'columns';
}

/** Opens the snapshot an export reads. */
export async function openSnapshot(store: Store, options: SnapshotOptions): Promise<Snapshot> {
  if (options.input === 'columns') {
    const worker = await WorkerSnapshot.open(store, options);
    if (worker) return worker;
  }
  return StoreSnapshot.open(store, options);
}

/** A batch's items; for exporters whose `input` is `items`. */
export function itemsOf(batch: ExportBatch): readonly ItemWithState[] {
  if (!batch.items) throw new Error('this exporter reads items, but was given column batches; declare input: "items"');
  return batch.items;
}

/**
 * The snapshot read on this thread: the store's {@link ReadSnapshot} — its own SQLite connection in one read
 * transaction (WAL keeps that snapshot while others write; a statement left open on the shared connection
 * would make its writes fail as "busy"), or the store's own connection for a store in memory.
 */
export class StoreSnapshot implements Snapshot {
  readonly reader = 'main';
  readonly count: number;
  readonly classes: string[];

  private constructor(
    private readonly store: ReadSnapshot,
    private readonly options: SnapshotOptions,
  ) {
    this.count = store.count(options.where);
    this.classes = store.classes().map((c) => c.name);
  }

  static open(store: Store, options: SnapshotOptions): StoreSnapshot {
    const snapshot = store.snapshot();
    try {
      return new StoreSnapshot(snapshot, options);
    } catch (error) {
      snapshot.close();
      throw error;
    }
  }

  async *batches(join: EmbeddingJoin | null): AsyncGenerator<ExportBatch> {
    const { where, batchRows, input } = this.options;
    if (input === 'columns') {
      let builder = new ItemColumnsBuilder(batchRows);
      for (const row of this.store.iterateItemRows(where)) {
        builder.addRow(row);
        if (builder.length >= batchRows) {
          yield columnBatch(builder.finish(), join);
          builder = new ItemColumnsBuilder(batchRows);
        }
      }
      if (builder.length > 0) yield columnBatch(builder.finish(), join);
      return;
    }
    let items: ItemWithState[] = [];
    for (const item of this.store.iterateItems(where)) {
      items.push(item);
      if (items.length >= batchRows) {
        yield { items, embeddings: join ? join.rowsFor(items.map((i) => i.id)) : null };
        items = [];
      }
    }
    if (items.length > 0) yield { items, embeddings: join ? join.rowsFor(items.map((i) => i.id)) : null };
  }

  async close(): Promise<void> {
    this.store.close();
  }
}

function columnBatch(columns: ItemColumns, join: EmbeddingJoin | null): ExportBatch {
  return { columns, embeddings: join ? join.rowsFor(columns.id) : null };
}

/** Batches the reader thread may have made and not yet handed over: it reads them ahead of the writer. */
const IN_FLIGHT = 2;

/**
 * The snapshot read in a worker thread (`snapshot-worker.ts`): it holds the read transaction and sends
 * each batch's column buffers as soon as they are written, at most {@link IN_FLIGHT} ahead of the writer,
 * so reading batch n + 1 from SQLite overlaps encoding and writing batch n.
 */
export class WorkerSnapshot implements Snapshot {
  readonly reader = 'worker';
  count = 0;
  classes: string[] = [];
  private readonly queue: FromSnapshotWorker[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private exited = false;
  private ended = false;
  private readonly exit: Promise<void>;
  /** Resolves true once the thread's snapshot is open, false if it could not open one. */
  private readonly opened: Promise<boolean>;
  private settleOpened: ((opened: boolean) => void) | undefined;

  private constructor(private readonly worker: Worker) {
    this.opened = new Promise<boolean>((resolve) => (this.settleOpened = resolve));
    this.exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Listening from the start: the thread sends its first batches right after `opened`, unasked.
    worker.on('message', (message: FromSnapshotWorker) => this.receive(message));
    worker.on('error', (error) => this.fail(new ExportError(`the store reader thread failed: ${messageOf(error)}`, { cause: error })));
    worker.once('exit', (code) => {
      this.exited = true;
      this.fail(new ExportError(`the store reader thread stopped (exit code ${code}) before the last batch`));
    });
  }

  /**
   * Starts the reader thread and waits for its snapshot to open. Null when the store cannot be read there
   * (an in-memory store, a file it cannot open, or no compiled worker): the caller reads on its own thread.
   */
  static async open(store: Store, options: SnapshotOptions): Promise<WorkerSnapshot | null> {
    const module = compiledWorkerModule('snapshot-worker');
    if (!module || !existsSync(store.file)) return null;
    const settings: SnapshotWorkerData = { file: store.file, where: options.where, batchRows: options.batchRows, ahead: IN_FLIGHT };
    const snapshot = new WorkerSnapshot(new Worker(module, { workerData: { snapshotWorker: settings } }));
    if (await snapshot.opened) return snapshot;
    await snapshot.worker.terminate();
    return null;
  }

  async *batches(join: EmbeddingJoin | null): AsyncGenerator<ExportBatch> {
    for (;;) {
      const message = await this.next();
      if (message.type === 'end') {
        this.ended = true;
        return;
      }
      if (message.type === 'batch') {
        this.post({ type: 'more' });
        yield columnBatch(message.columns, join);
      }
    }
  }

  async close(): Promise<void> {
    if (this.exited) return;
    if (!this.ended) {
      // Stopped early (a failure, a cancel): the thread may be in the middle of a batch; its connection is
      // read-only, so ending it there loses nothing.
      await this.worker.terminate();
      return;
    }
    // Done: the thread ends its read transaction, closes its connection and exits.
    this.post({ type: 'close' });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 5000)));
    const outcome = await Promise.race([this.exit.then(() => 'exited' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') await this.worker.terminate();
  }

  private post(message: ToSnapshotWorker): void {
    if (!this.exited) this.worker.postMessage(message);
  }

  private receive(message: FromSnapshotWorker): void {
    if (message.type === 'error') {
      this.fail(new ExportError(`reading the store failed: ${message.message}`));
      return;
    }
    if (message.type === 'opened') {
      this.count = message.count;
      this.classes = message.classes;
      this.settleOpened?.(true);
      this.settleOpened = undefined;
      return;
    }
    this.queue.push(message);
    this.wake?.();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    // Before its snapshot opened, a failure means: read on the main thread instead.
    this.settleOpened?.(false);
    this.settleOpened = undefined;
    this.wake?.();
  }

  private async next(): Promise<FromSnapshotWorker> {
    for (;;) {
      const message = this.queue.shift();
      if (message) return message;
      // A failure counts only once the messages before it are used (the thread exits after `end`).
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}
