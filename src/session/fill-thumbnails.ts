import os from 'node:os';
import { InvalidArgumentError, messageOf } from '../errors';
import type { SessionSource } from './session-source';
import { encodeImage } from './encode-image';
import { DISK_THUMBNAIL_MAX, ThumbnailCache, thumbnailCachePath } from './thumbnail-cache';

export interface FillThumbnailsOptions {
  /** Sizes to make (longer side, px; up to 384). Default [128]: the grid's cells at a device pixel ratio of 1. */
  sizes?: number[];
  /** The cache file; default `thumbnails.db` beside the store. */
  cacheFile?: string;
  /** Resizes at once (sharp's pool does the work); default the number of CPUs. */
  concurrency?: number;
  onProgress?: (progress: { done: number; total: number }) => void;
}

export interface FillThumbnailsReport {
  file: string;
  /** Thumbnails made now. */
  made: number;
  /** Thumbnails the cache held already. */
  cached: number;
  /** Images that could not be read or decoded (they show a placeholder in the app). */
  failed: { itemId: number; uri: string; reason: string }[];
  seconds: number;
}

/**
 * Makes the thumbnails the cache does not hold yet, for every item that is not deleted or missing, so the
 * labeling app's grid scrolls through images already made (`quicksort thumbnails --dataset DIR`). Safe to run
 * while a server or a notebook uses the dataset; re-running does only what changed.
 *
 * @example
 * const report = await fillThumbnails(ds, { sizes: [128, 256] });
 */
export async function fillThumbnails(dataset: Pick<SessionSource, 'store' | 'pathOf'>, options: FillThumbnailsOptions = {}): Promise<FillThumbnailsReport> {
  const sizes = [...new Set(options.sizes ?? [128])];
  for (const size of sizes) {
    if (!Number.isInteger(size) || size < 16 || size > DISK_THUMBNAIL_MAX) throw new InvalidArgumentError(`thumbnail sizes must be whole numbers from 16 to ${DISK_THUMBNAIL_MAX}; got ${size}`);
  }
  const started = Date.now();
  const file = options.cacheFile ?? thumbnailCachePath(dataset.store.file);
  const cache = ThumbnailCache.open(file, { busyTimeoutMs: 5000 });
  const report: FillThumbnailsReport = { file, made: 0, cached: 0, failed: [], seconds: 0 };
  try {
    const items = [...dataset.store.iterateItems({ missing: false })].map((item) => ({ id: item.id, uri: item.uri, hash: item.hash }));
    const jobs: { item: (typeof items)[number]; size: number }[] = [];
    const queued = new Set<string>();
    for (const item of items) {
      for (const size of sizes) {
        // Files with the same content share one thumbnail.
        if (queued.has(`${item.hash}:${size}`) || cache.has(item.hash, size)) report.cached++;
        else jobs.push({ item, size });
        queued.add(`${item.hash}:${size}`);
      }
    }
    const total = items.length * sizes.length;
    let done = report.cached;
    options.onProgress?.({ done, total });
    const failedIds = new Set<number>();
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const { item, size } = jobs[next++]!;
        try {
          cache.put(item.hash, size, await encodeImage(dataset.pathOf(item), size, `the image of item ${item.id} (${item.uri})`));
          report.made++;
        } catch (error) {
          if (!failedIds.has(item.id)) report.failed.push({ itemId: item.id, uri: item.uri, reason: messageOf(error) });
          failedIds.add(item.id);
        }
        options.onProgress?.({ done: ++done, total });
      }
    };
    const concurrency = Math.max(1, options.concurrency ?? os.cpus().length);
    await Promise.all(Array.from({ length: concurrency }, worker));
    cache.flush();
    if (!cache.enabled) throw new InvalidArgumentError(`the thumbnail cache ${file} cannot be written: ${cache.problem ?? 'unknown reason'}`);
  } finally {
    cache.close();
  }
  report.seconds = (Date.now() - started) / 1000;
  return report;
}
