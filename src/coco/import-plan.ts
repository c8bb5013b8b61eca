import { statSync } from 'node:fs';
import path from 'node:path';
import { suggestClass } from './crop-items';
import type { ImageGroup, ImportRun, PendingCrop } from './import-run';
import type { CategoryIndex } from './types';

/**
 * The plan phase: what is left to cut. A crop an earlier run stored, whose file is still there at its size,
 * is done (resumed); one cut before its class could be named (a file truncated before its categories) and
 * untouched since is suggested its class now. Returns the images with crops to cut.
 */
export function planCuts(run: ImportRun, groups: ImageGroup[], categories: CategoryIndex): ImageGroup[] {
  const { report, earlier, paths } = run;
  const work: ImageGroup[] = [];
  const unsuggested: { itemId: number; crop: PendingCrop }[] = [];
  for (const group of groups) {
    report.images++;
    report.kept += group.crops.length;
    const remaining = group.crops.filter((crop) => {
      const previousCrop = earlier.crops.get(crop.annotationId);
      if (!previousCrop) return true;
      crop.uri = previousCrop.uri;
      crop.stored = true;
      crop.suggest = previousCrop.untouched;
      const size = statSync(path.join(paths.outputRoot, ...previousCrop.uri.split('/')), { throwIfNoEntry: false })?.size;
      if (size !== previousCrop.bytes) return true;
      report.resumed++;
      if (crop.suggest) unsuggested.push({ itemId: previousCrop.itemId, crop });
      return false;
    });
    if (remaining.length) work.push({ ...group, crops: remaining });
  }
  earlier.crops.clear();
  if (unsuggested.length) run.store.transaction(() => unsuggested.forEach(({ itemId, crop }) => suggestClass(run, itemId, crop, categories)));
  return work;
}
