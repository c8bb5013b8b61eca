import type Database from 'better-sqlite3';
import { StoreBusyError } from '../errors';

/** Whose write lock it is, for the error a person reads, and how long a write waits for it. */
export interface WriteLock {
  /** The SQLite file. */
  file: string;
  /** What the file is, in words ("the dataset's store", "the embedding cache"). */
  what: string;
  busyTimeoutMs: number;
}

/**
 * Runs `fn` as one write transaction that takes the write lock up front (BEGIN IMMEDIATE), waiting up to
 * `busyTimeoutMs` for another writer. A deferred transaction that reads first and writes later cannot wait:
 * SQLite refuses the read→write upgrade at once when another process wrote meanwhile (WAL), which is what
 * made labels fail under several writers. Inside another transaction it is a savepoint of that one.
 *
 * The wait is this module's own, not SQLite's busy handler: that one sleeps up to 100 ms between looks at
 * the lock, and writers that commit back to back leave it free only for the moment between two of their
 * transactions, so a waiter looking that seldom starved past the timeout (3 writers × 1,000 labels on a
 * loaded machine). Looking every millisecond finds those moments.
 */
export function writeImmediately<T>(db: Database.Database, lock: WriteLock, fn: () => T): T {
  const { busyTimeoutMs } = lock;
  const transaction = db.transaction(fn);
  if (db.inTransaction) return transaction.immediate();
  const deadline = Date.now() + busyTimeoutMs;
  db.pragma('busy_timeout = 0');
  try {
    for (;;) {
      try {
        return transaction.immediate();
      } catch (error) {
        const busy = busyError(error, lock);
        if (!busy) throw error;
        if (Date.now() >= deadline) throw busy;
        Atomics.wait(PAUSE, 0, 0, 1);
      }
    }
  } finally {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  }
}

/** What {@link writeImmediately} waits on for a millisecond between looks at the write lock (nothing wakes it). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * SQLITE_BUSY (and its extended codes) as the retryable error a person can read; undefined for any other error.
 * Read by its code, not `instanceof SqliteError`: the native addon keeps the class of the first copy of
 * better-sqlite3 loaded in the process, and a second copy (bundlers, test runners) has another.
 */
export function busyError(error: unknown, { file, what, busyTimeoutMs }: WriteLock): StoreBusyError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) return undefined;
  return new StoreBusyError(
    `${what} ${file} is busy with another writer (its write lock stayed taken for ${busyTimeoutMs} ms); nothing was saved, retry in a moment`,
    { cause: error },
  );
}
