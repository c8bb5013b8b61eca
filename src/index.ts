/**
 * QuickSort's public API.
 *
 * @example
 * import { QuickSort } from 'quicksort';
 * const ds = await QuickSort.open('photos/');
 * await ds.ingest();
 * ds.label(1, 'cat');
 * ds.undo();
 * console.log(ds.stats());
 * ds.close();
 */
export { QuickSort, Dataset, STATE_FOLDER, type OpenOptions } from './dataset';
export * from './errors';
export type {
  ActionOptions,
  ActionSource,
  Box,
  ClassInfo,
  DatasetStats,
  IngestFailure,
  Item,
  ItemAction,
  ItemFilter,
  ItemQuery,
  ItemState,
  ItemWithState,
  StoredEvent,
} from './store';
export { LabelStore } from './store';
export { ingestFolder, probeImage, type IngestOptions, type IngestProgress, type IngestReport, type VerifyMode } from './images';
