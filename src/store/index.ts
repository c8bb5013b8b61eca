/** The dataset's store: items, classes, the event log and the state derived from it (SQLite). */
export type { Store, StoreReader, ReadSnapshot, ActionEntry } from './store';
export { LabelStore, STATE_FOLDER, STORE_FILE_NAME, type StoreOptions } from './label-store';
export { isUserName } from './checks';
export { ITEM_ROW_COLUMNS, type ItemRowTuple } from './rows';
export { foldItemState, EMPTY_STATE } from './item-state';
export * from './types';
export { writeImmediately, busyError, type WriteLock } from './write-lock';
