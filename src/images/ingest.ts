import { realpath, stat } from 'node:fs/promises';
import type { LabelStore } from '../store';
import { DatasetError } from '../errors';
import { createPool } from '../workers';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PIXELS } from './formats';
import type { ProbeOptions, ProbeResult } from './probe';
import type { ProbeTask } from './probe-worker';
import { walkImages, type WalkEntry } from './walk';

export interface IngestProgress {
  /** Files found so far (grows while the folder is walked). */
  found: number;
  /** Files done: probed, found unchanged, or failed. */
  done: number;
  walking: boolean;
}

export interface IngestOptions extends ProbeOptions {
  onProgress?: (progress: IngestProgress) => void;
  signal?: AbortSignal;
  /** Files per worker task. */
  batchSize?: number;
  threads?: number;
}

export interface IngestReport {
  found: number;
  added: number;
  updated: number;
  unchanged: number;
  failed: number;
  /** The reasons, for the first 1,000 failures of this run. */
  failures: { uri: string; reason: string }[];
  /** Items whose files were not found this time (their labels are kept). */
  missing: number;
  duplicateGroups: number;
  seconds: number;
}

const MAX_REPORTED_FAILURES = 1000;
const TOUCH_FLUSH = 2000;

/**
 * Adds the images under `root` to the store: new and changed files are probed (dimensions, hash, a check
 * that they decode) in a worker pool; unchanged files (same size and mtime) cost one lookup. A bad file is
 * recorded with its reason and the rest go on; it is tried again once the file or the options that judged it
 * (verify, maxPixels, maxFileBytes) change, and forgotten once the file is gone. Memory stays bounded: the
 * walk streams, and only a few batches are in flight at once.
 *
 * @example
 * const report = await ingestFolder(store, 'photos/', { onProgress: (p) => console.log(p.done) });
 */
export async function ingestFolder(store: LabelStore, root: string, options: IngestOptions = {}): Promise<IngestReport> {
  const started = performance.now();
  const rootInfo = await stat(root).catch(() => undefined);
  if (!rootInfo?.isDirectory()) throw new DatasetError(`the dataset folder ${root} does not exist or is not a folder`);
  await realpath(root);

  const runStartedAt = Date.now();
  const batchSize = options.batchSize ?? 16;
  const probeOptions: ProbeOptions = { verify: options.verify, maxPixels: options.maxPixels, maxFileBytes: options.maxFileBytes };
  const failedUnder = probeOptionsKey(probeOptions);
  const report: IngestReport = {
    found: 0, added: 0, updated: 0, unchanged: 0, failed: 0, failures: [], missing: 0, duplicateGroups: 0, seconds: 0,
  };
  const progress: IngestProgress = { found: 0, done: 0, walking: true };
  const notify = () => options.onProgress?.({ ...progress });

  const fail = (uri: string, reason: string, bytes = 0, mtimeMs = 0) => {
    store.recordFailure(uri, reason, bytes, mtimeMs, failedUnder);
    report.failed++;
    if (report.failures.length < MAX_REPORTED_FAILURES) report.failures.push({ uri, reason });
  };

  let touched: number[] = [];
  let touchedFailures: string[] = [];
  const flushTouched = () => {
    store.touchItems(touched, runStartedAt);
    store.touchFailures(touchedFailures, runStartedAt);
    touched = [];
    touchedFailures = [];
  };

  const pool = createPool('images/probe-worker', { threads: options.threads });
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = pool.options.maxThreads * 2;

  const writeResults = (batch: Extract<WalkEntry, { kind: 'file' }>[], results: ProbeResult[]) => {
    const records = [];
    for (const [index, entry] of batch.entries()) {
      const result = results[index]!;
      if (!result.ok) {
        fail(entry.uri, result.reason, entry.bytes, entry.mtimeMs);
        continue;
      }
      const known = store.fileState(entry.uri);
      if (known) report.updated++;
      else report.added++;
      records.push({
        uri: entry.uri, width: result.width, height: result.height, format: result.format, bytes: result.bytes,
        mtimeMs: entry.mtimeMs, hash: result.hash, split: null, sourceUri: null, box: null, cocoImageId: null,
        cocoAnnotationId: null,
      });
    }
    store.upsertItems(records, runStartedAt);
    progress.done += batch.length;
    notify();
  };

  const dispatch = async (batch: Extract<WalkEntry, { kind: 'file' }>[]) => {
    const task: ProbeTask = { files: batch.map((entry) => entry.file), options: probeOptions };
    const running = (pool.run(task, { signal: options.signal }) as Promise<ProbeResult[]>).then((results) =>
      writeResults(batch, results),
    );
    const tracked = running.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  };

  try {
    let pending: Extract<WalkEntry, { kind: 'file' }>[] = [];
    for await (const entry of walkImages(root)) {
      options.signal?.throwIfAborted();
      report.found++;
      progress.found++;
      if (entry.kind === 'refused') {
        fail(entry.uri, entry.reason);
        progress.done++;
        continue;
      }
      const known = store.fileState(entry.uri);
      if (known && known.bytes === entry.bytes && known.mtimeMs === entry.mtimeMs) {
        report.unchanged++;
        progress.done++;
        touched.push(known.id);
        if (touched.length >= TOUCH_FLUSH) {
          flushTouched();
          notify();
        }
        continue;
      }
      // The same file under the same options fails the same way; other options (a higher maxPixels) may not.
      const failedBefore = store.failureState(entry.uri);
      if (failedBefore && failedBefore.bytes === entry.bytes && failedBefore.mtimeMs === entry.mtimeMs && failedBefore.options === failedUnder) {
        report.failed++;
        progress.done++;
        touchedFailures.push(entry.uri);
        if (touchedFailures.length >= TOUCH_FLUSH) flushTouched();
        continue;
      }
      pending.push(entry);
      if (pending.length >= batchSize) {
        await dispatch(pending);
        pending = [];
      }
    }
    if (pending.length) await dispatch(pending);
    progress.walking = false;
    flushTouched();
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
    await pool.destroy();
  }
  report.missing = store.markMissing(runStartedAt);
  store.forgetUnseenFailures(runStartedAt);
  report.duplicateGroups = store.duplicates().length;
  report.seconds = (performance.now() - started) / 1000;
  notify();
  return report;
}

/** The options a probe's verdict depends on, defaults filled in, as the key a failure is recorded under. */
function probeOptionsKey(options: ProbeOptions): string {
  return JSON.stringify({
    verify: options.verify ?? 'decode',
    maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS,
    maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
  });
}
