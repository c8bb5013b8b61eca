import type { Store } from '../store';
import { createPool } from '../workers';
import { cutCrops } from './import-cut';
import type { CocoImportOptions, CocoImportReport } from './import-options';
import { planCuts } from './import-plan';
import { readImport } from './import-read';
import { resolveImport } from './import-resolve';
import { ImportRun } from './import-run';

export { IMPORT_USER } from './crop-items';
export type { CocoImportOptions, CocoImportProgress, CocoImportReport, CocoWarning } from './import-options';

/**
 * Imports a COCO file as a dataset of crops: every box (ground truth, or a detection at or above
 * `minConfidence`) is cut from its image in a worker pool, written under `outputRoot`, and added to the
 * store as an item linked to its image and annotation ids, with the box's category as the suggested class
 * (a model label; a detection's score is its confidence). Bad records are skipped with a warning naming the
 * annotation and field; the rest is imported. Running it again resumes: crops already in the store are not
 * cut again, and a corrected file (a truncated one, fixed) adds what the first run could not read; another
 * file is refused (see {@link SameImportCheck}). The store remembers the file (see {@link CocoLink}) for
 * {@link exportCoco}.
 *
 * The phases, each in its file, share one {@link ImportRun}: read (stream the file), resolve (categories,
 * images, the same-import check), plan (what earlier runs already cut), cut (the worker pool, stored in batches).
 *
 * @example
 * const report = await importCoco(store, 'crops/', { predictions: 'detections.json', annotations: 'instances_val2017.json', images: 'val2017/', minConfidence: 0.3 });
 */
export async function importCoco(store: Store, outputRoot: string, options: CocoImportOptions): Promise<CocoImportReport> {
  const run = await ImportRun.start(store, outputRoot, options);
  // Start the crop workers now: loading sharp in them overlaps with reading the file.
  const pool = createPool('coco/crop-worker', { threads: options.threads });
  try {
    const read = await readImport(run);
    const { categories, groups } = await resolveImport(run, read);
    const work = planCuts(run, groups, categories);
    run.beginCropping(work.length);
    if (work.length) await cutCrops(run, pool, work, categories);
    return run.finish();
  } finally {
    await pool.destroy();
  }
}
