import { ConflictError, messageOf } from '../errors';
import type { ItemRecord } from '../store';
import type { CropOutcome } from './crop-worker';
import type { ImportRun, PendingCrop } from './import-run';
import type { CategoryIndex, CocoImage } from './types';

/** Who the suggested classes of an import are recorded as (so a person's undo never takes them back). */
export const IMPORT_USER = 'coco-import';

/** A crop written to disk, waiting to be stored as an item. */
export interface CutCrop {
  crop: PendingCrop;
  image: CocoImage;
  outcome: Extract<CropOutcome, { ok: true }>;
}

/** Stores cut crops as items linked to their image and annotation, each with its suggested class, in one transaction. */
export function storeCrops(run: ImportRun, batch: CutCrop[], categories: CategoryIndex): void {
  const { store, settings } = run;
  store.transaction(() => {
    const records: ItemRecord[] = batch.map(({ crop, image, outcome }) => ({
      uri: outcome.uri, width: outcome.width, height: outcome.height, format: settings.format, bytes: outcome.bytes,
      mtimeMs: outcome.mtimeMs, hash: outcome.hash, split: settings.split, sourceUri: image.fileName, box: crop.box,
      cocoImageId: image.id, cocoAnnotationId: crop.annotationId,
    }));
    const ids = store.upsertItems(records);
    batch.forEach(({ crop }, index) => suggestClass(run, ids[index]!, crop, categories));
  });
}

/** Records the box's category as the crop's suggested class: a model label, the score as its confidence. */
export function suggestClass(run: ImportRun, itemId: number, crop: PendingCrop, categories: CategoryIndex): void {
  if (!crop.suggest) return;
  const name = categories.byId.get(crop.categoryId)?.name;
  if (name === undefined) return;
  try {
    // Someone may have labeled a stored crop while this import read the file: never write over them.
    run.store.act(itemId, { kind: 'label', label: name }, { source: 'model', confidence: crop.score, user: IMPORT_USER, ifVersion: crop.stored ? 0 : undefined });
  } catch (error) {
    if (error instanceof ConflictError) return;
    run.warn(crop.annotationId, 'category_id', `the class name ${JSON.stringify(name)} cannot be stored: ${messageOf(error)}; the crop was added without a suggestion`);
  }
}
