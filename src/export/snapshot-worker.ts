import { parentPort, workerData } from 'node:worker_threads';
import { LabelStore, type ItemFilter, type ItemRowTuple } from '../store';
import { ItemColumnsBuilder, columnBuffers, type ItemColumns } from './item-columns';

/**
 * The store reader of a column export, in its own thread: its own read-only connection in one read
 * transaction (the snapshot: count, classes and rows agree, while labeling goes on), reading the rows and
 * writing each batch's column buffers here, then transferring them (no copy, no row objects) to the thread
 * that encodes and writes — so reading the store overlaps writing the file.
 *
 * Protocol (main → worker): `more` (one more batch may be sent: the main thread took one), `close`.
 * (worker → main): `opened` { count, classes }, `batch` { columns } (`ahead` of them unasked, then one per
 * `more`), `end`, `error` { message }.
 */
export interface SnapshotWorkerData {
  file: string;
  where: ItemFilter;
  batchRows: number;
  /** Batches to send without being asked, from the start (the first ones are read while the writer opens). */
  ahead: number;
}

export type ToSnapshotWorker = { type: 'more' } | { type: 'close' };
export type FromSnapshotWorker =
  | { type: 'opened'; count: number; classes: string[] }
  | { type: 'batch'; columns: ItemColumns }
  | { type: 'end' }
  | { type: 'error'; message: string; stack?: string };

function post(message: FromSnapshotWorker, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

function run(settings: SnapshotWorkerData): void {
  const store = LabelStore.openSnapshot(settings.file);
  let rows: Iterator<ItemRowTuple> | undefined;
  let credits = settings.ahead;
  let ended = false;
  const close = () => {
    try {
      rows?.return?.();
    } finally {
      store.close();
      parentPort!.close();
    }
  };
  const fail = (error: unknown) => {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined });
    ended = true;
    try {
      close();
    } catch {
      // already failing
    }
  };
  const pump = () => {
    while (credits > 0 && !ended) {
      credits--;
      const builder = new ItemColumnsBuilder(settings.batchRows);
      let next = rows!.next();
      while (!next.done) {
        builder.addRow(next.value);
        if (builder.length >= settings.batchRows) break;
        next = rows!.next();
      }
      if (builder.length > 0) {
        const columns = builder.finish();
        post({ type: 'batch', columns }, columnBuffers(columns));
      }
      if (next.done) {
        ended = true;
        post({ type: 'end' });
      }
    }
  };
  parentPort!.on('message', (message: ToSnapshotWorker) => {
    if (message.type === 'close') {
      ended = true;
      close();
      return;
    }
    credits++;
    try {
      pump();
    } catch (error) {
      fail(error);
    }
  });
  try {
    // The snapshot is taken by the first read (the count), and held until the store is closed.
    const count = store.count(settings.where);
    const classes = store.classes().map((c) => c.name);
    rows = store.iterateItemRows(settings.where);
    post({ type: 'opened', count, classes });
  } catch (error) {
    fail(error);
    return;
  }
  // The first batches, while the main thread opens its writer; then one per `more`.
  setImmediate(() => {
    try {
      pump();
    } catch (error) {
      fail(error);
    }
  });
}

if (parentPort && (workerData as { snapshotWorker?: SnapshotWorkerData } | undefined)?.snapshotWorker) {
  try {
    run((workerData as { snapshotWorker: SnapshotWorkerData }).snapshotWorker);
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    parentPort.close();
  }
}
