/** The dataset's store: items, classes, the event log and the state derived from it (SQLite). */
export type { Store, StoreReader, ReadSnapshot, ActionEntry } from './store';
export { ACTION_KEY_RETENTION_MS, LabelStore, STATE_FOLDER, STORE_FILE_NAME, type StoreOptions } from './label-store';
export { isUserName, checkCaptionText, checkCaptionSource, CAPTION_SOURCES, MAX_CAPTION_LENGTH } from './checks';
export { ITEM_ROW_COLUMNS, type ItemRowTuple } from './rows';
export { foldItemState, EMPTY_STATE } from './item-state';
export * from './types';
export { writeImmediately, busyError, type WriteLock } from './write-lock';

/**
 * Names that layers above the store own, kept here, below them all, so that the output guard (src/output)
 * can protect them without importing its callers: the caches of the state folder (src/embed's, src/session's)
 * and the meta key of a COCO import's link (src/coco's), which names the COCO files it came from.
 */
export const EMBEDDING_CACHE_FILE_NAME = 'embeddings.db';
export const THUMBNAIL_CACHE_FILE_NAME = 'thumbnails.db';
export const COCO_LINK_META_KEY = 'coco.link';
