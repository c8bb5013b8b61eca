import type { ItemRowTuple } from './rows';
import type { ActionOptions, AppliedActionKey, ClassInfo, DatasetStats, ItemAction, ItemFilter, ItemQuery, ItemRecord, ItemWithState, StoredEvent } from './types';

/** One action on one item, as {@link Store.actMany} takes a batch of them. */
export interface ActionEntry {
  itemId: number;
  action: ItemAction;
}

/**
 * What can be read from a dataset's store. Every read of one {@link ReadSnapshot} sees the store as it was at
 * its first read; reads of the {@link Store} itself see every committed write.
 */
export interface StoreReader {
  /** The store's file (`:memory:` for a store in memory). */
  readonly file: string;
  /** One item with its current state; NotFoundError (naming the id) when there is none. */
  item(id: number): ItemWithState;
  items(query?: ItemQuery): ItemWithState[];
  /** Items in id order, streamed: exports and scans of any size. */
  iterateItems(where?: ItemFilter): IterableIterator<ItemWithState>;
  /** Items in id order as bare rows (see ITEM_ROW_COLUMNS), no object per row: the column exports' read. */
  iterateItemRows(where?: ItemFilter): IterableIterator<ItemRowTuple>;
  /** The ids of the items that match, ascending, without reading the items. */
  itemIds(where?: ItemFilter): Int32Array;
  count(where?: ItemFilter): number;
  /** What the store knows of the item at `uri` (relative to the dataset root), undefined when none. */
  fileState(uri: string): { id: number; bytes: number; mtimeMs: number; hash: string } | undefined;
  /**
   * The items whose state a fresh learner must know — labeled by a person, skipped, marked don't-know or
   * deleted — in id order, without reading the plain candidates (most items of a large dataset).
   */
  iterateSettledItems(): IterableIterator<ItemWithState>;
  classes(): ClassInfo[];
  stats(): DatasetStats;
  /** Events in log order: of one item, after a seq (what changed since a version), at most `limit`. */
  events(options?: { itemId?: number; sinceSeq?: number; limit?: number }): StoredEvent[];
  /** The seq of the newest event, whoever wrote it (0 when empty): cheap enough to poll. */
  lastSeq(): number;
  getMeta(key: string): string | undefined;
}

/** Reads from a connection of their own that all see one moment of the store, until {@link close}. */
export interface ReadSnapshot extends StoreReader {
  close(): void;
}

/**
 * A dataset's store as the engine's parts use it (sessions, exports, the COCO bridge): items, actions on them
 * with undo, classes, the event log and snapshot reads. {@link LabelStore} is its SQLite implementation;
 * ingest bookkeeping (file states, failures) stays on that class, for the ingest alone.
 */
export interface Store extends StoreReader {
  readonly isOpen: boolean;
  readonly isReadonly: boolean;
  /** Adds or updates items (by uri) in one transaction; returns their ids. */
  upsertItems(records: ItemRecord[], seenAt?: number): number[];
  /** Applies one action to one item; returns the appended event. */
  act(itemId: number, action: ItemAction, options?: ActionOptions): StoredEvent;
  /** Applies actions atomically as one batch (one undo takes them all back); returns the appended events. */
  actMany(entries: ActionEntry[], options?: ActionOptions): StoredEvent[];
  /**
   * {@link actMany}, with the acted-on items as they are after it (each once, in the order of the entries),
   * read in the same transaction: what a caller shows after a label, without reading the item again.
   */
  actAndRead(entries: ActionEntry[], options?: ActionOptions): { events: StoredEvent[]; items: ItemWithState[] };
  /** Takes back the user's latest batch still in effect; returns the undone events ([] when none). */
  undo(user?: string): StoredEvent[];
  /** Re-applies what the user's latest undo took back, unless the user acted since; returns the redone events. */
  redo(user?: string): StoredEvent[];
  addClass(name: string, key?: string | null): ClassInfo;
  /** The user's action applied under this idempotency key, while the store keeps it; undefined when none was. */
  actionKey(user: string, key: string): AppliedActionKey | undefined;
  /**
   * Runs `write` (the store's writes of one action) and records the user's `key` with the action's `digest`
   * and the events `write` appended, in one transaction: the key is stored exactly when the action is. A key
   * already recorded is refused (InvalidArgumentError): ask {@link actionKey} first and answer from it.
   */
  applyOnce<T>(user: string, key: string, digest: string, write: () => T): T;
  setMeta(key: string, value: string): void;
  /** Runs `fn` as one write transaction, waiting for another process's write lock like every write. */
  transaction<T>(fn: () => T): T;
  /** Reads that all see the store as it is now, from a connection of their own (the export's read). */
  snapshot(): ReadSnapshot;
}
