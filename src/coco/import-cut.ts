import type { Piscina } from 'piscina';
import { storeCrops, type CutCrop } from './crop-items';
import type { CropResult, CropTask } from './crop-worker';
import type { ImageGroup, ImportRun } from './import-run';
import type { CategoryIndex } from './types';

/** Crops written to the store per transaction (one fsync each). */
const FLUSH_CROPS = 512;

/**
 * The cut phase: each image's crops are cut by a worker of the pool (a bounded number of images in flight),
 * and stored in batches as they come back. A crop that cannot be cut is a warning and no longer counted as
 * kept. What was cut before an abort or a failure is still stored.
 */
export async function cutCrops(run: ImportRun, pool: Piscina, work: ImageGroup[], categories: CategoryIndex): Promise<void> {
  const { report, progress, settings, paths } = run;
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = pool.options.maxThreads * 2;
  let pending: CutCrop[] = [];

  const flush = () => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    storeCrops(run, batch, categories);
  };

  const settle = (group: ImageGroup, result: CropResult) => {
    const declared = group.image;
    if (result.width && declared.width && declared.height && (result.width !== declared.width || result.height !== declared.height)) report.imagesWithOtherSize++;
    const byId = new Map(group.crops.map((crop) => [crop.annotationId, crop]));
    for (const outcome of result.outcomes) {
      const crop = byId.get(outcome.annotationId)!;
      if (outcome.ok) {
        pending.push({ crop, image: declared, outcome });
        report.cut++;
        progress.crops.done++;
      } else {
        run.warn(outcome.annotationId, outcome.field, `image ${declared.id} (${declared.fileName}): ${outcome.reason}`);
        report.kept--;
        progress.crops.total--;
      }
    }
    progress.images.done++;
    if (pending.length >= FLUSH_CROPS) flush();
    run.notify();
  };

  try {
    for (const group of work) {
      run.signal?.throwIfAborted();
      const task: CropTask = {
        imagesRoot: paths.realImages, file: group.file, outputRoot: paths.realOutput,
        crops: group.crops.map(({ annotationId, box, uri }) => ({ annotationId, box, uri })),
        options: settings.crop, format: settings.format, quality: settings.quality,
      };
      const running = (pool.run(task, { signal: run.signal }) as Promise<CropResult>).then((result) => settle(group, result));
      const tracked = running.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
    flush();
  }
}
