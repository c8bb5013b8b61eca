/** The dataset's store: items, classes, the event log and the state derived from it (SQLite). */
export { LabelStore, STATE_FOLDER, STORE_FILE_NAME, isUserName, ITEM_ROW_COLUMNS, type ItemRowTuple, type StoreOptions } from './label-store';
export { foldItemState, EMPTY_STATE } from './item-state';
export * from './types';
