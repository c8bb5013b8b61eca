import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { InvalidArgumentError, NotFoundError, StoreError, messageOf } from '../errors';
import { ActionLog, DEFAULT_USER } from './action-log';
import { checkClassName } from './checks';
import { foldItemState } from './item-state';
import { escapeLike, whereClause } from './item-filter';
import { ITEM_ROW_SQL, toEvent, toItemWithState, toState, type EventRow, type ItemRow, type ItemRowTuple, type StateRow } from './rows';
import { ACTION_KEYS_VERSION, CAPTIONS_VERSION, CLASS_COUNTS_VERSION, migrate, schemaVersion } from './schema';
import { prepareStatements, type Statements } from './statements';
import type { ActionEntry, ReadSnapshot, Store } from './store';
import type { ActionOptions, AppliedActionKey, ClassInfo, DatasetStats, IngestFailure, ItemAction, ItemFilter, ItemQuery, ItemRecord, ItemWithState, StoredEvent } from './types';
import { busyError, writeImmediately } from './write-lock';

export interface StoreOptions {
  readonly?: boolean;
  /**
   * `full` (default) fsyncs the log on every commit, so an acknowledged label survives a power cut as well
   * as a crash; `normal` survives a crash of the process, not of the machine, and writes faster.
   */
  durability?: 'full' | 'normal';
  /**
   * Milliseconds a write waits for another process's write lock before it fails with a retryable
   * {@link StoreBusyError} (default 5000: a write holds the lock for milliseconds, so labels from several
   * processes queue up well within it).
   */
  busyTimeoutMs?: number;
}

/** The store's file name, in the dataset's state folder unless the caller names another file. */
export const STORE_FILE_NAME = 'quicksort.db';

/** The folder, beside the images, where QuickSort keeps a dataset's store and derived data (caches, indexes). */
export const STATE_FOLDER = '.quicksort';
const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * How long an action's idempotency key is kept: 30 days. A key is only looked up when a page sends an action
 * again that it sent before and heard no answer to; the page holds those in its memory and sends them at its
 * first reconnect, before anything new. A resend older than this needs a tab left open and unable to reach the
 * server for a month. The table holds at most those 30 days of keyed actions, fewer rows than the event log
 * beside it (each keyed action appended at least one event, or was an undo or a class), and each write
 * forgets the expired keys through an index on their time, one seek.
 */
export const ACTION_KEY_RETENTION_MS = 30 * 24 * 3600 * 1000;
const OLD_SCHEMA_CAPTIONS_SQL = `CASE WHEN coalesce(s.caption, '') = '' THEN '[]'
  ELSE json_array(json_object('text', s.caption, 'source', 'human', 'author', 'unknown', 'time', 0)) END`;

/**
 * The dataset's store: items, classes and the append-only event log in one SQLite file (WAL), with the
 * current state of every item derived from the log in the same transaction as each event.
 *
 * @example
 * const store = LabelStore.open('photos/.quicksort/quicksort.db');
 * store.act(1, { kind: 'label', label: 'cat' });
 * store.undo();
 */
export class LabelStore implements Store {
  private readonly statements: Statements;
  private readonly log: ActionLog;
  private readonly countsKept: boolean;
  /** A store of an older schema opened read-only has no table of keys: none was applied. */
  private readonly keysKept: boolean;
  private readonly itemRowSql: string;

  private constructor(
    readonly db: Database.Database,
    readonly file: string,
    busyTimeoutMs: number,
  ) {
    const version = schemaVersion(db);
    this.countsKept = version >= CLASS_COUNTS_VERSION;
    this.keysKept = version >= ACTION_KEYS_VERSION;
    // A store of an older schema opened read-only has one caption and no list: its rows list that one.
    this.itemRowSql = version >= CAPTIONS_VERSION ? ITEM_ROW_SQL : ITEM_ROW_SQL.replace('s.captions', OLD_SCHEMA_CAPTIONS_SQL);
    this.statements = prepareStatements(db);
    const lock = { file, what: "the dataset's store", busyTimeoutMs };
    this.write = (fn) => writeImmediately(this.db, lock, fn);
    this.log = new ActionLog(this.statements, file, this.write);
  }

  private readonly write: <T>(fn: () => T) => T;

  static open(file: string, options: StoreOptions = {}): LabelStore {
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (error) {
      throw new StoreError(`cannot open the store ${file}: ${messageOf(error)}`, { cause: error });
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    try {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      if (!options.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
        db.pragma('foreign_keys = ON');
        migrate(db);
      }
      return new LabelStore(db, file, busyTimeoutMs);
    } catch (error) {
      db.close();
      throw busyError(error, { file, what: "the dataset's store", busyTimeoutMs }) ?? new StoreError(`cannot use the store ${file}: ${messageOf(error)}`, { cause: error });
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  get isReadonly(): boolean {
    return this.db.readonly;
  }

  /**
   * A read-only connection of its own whose reads all see the store as it is at the first of them (a read
   * transaction held until `close`), for exports that read while others write. A store without a file to
   * open again (in memory, not written yet, unreadable) reads through this connection instead, without that
   * guarantee.
   */
  snapshot(): ReadSnapshot {
    if (this.file === ':memory:' || !existsSync(this.file)) return this.sameConnectionSnapshot();
    try {
      return LabelStore.openSnapshot(this.file);
    } catch {
      return this.sameConnectionSnapshot();
    }
  }

  /** Reads through this store, by prototype: closing the snapshot must not close the store. */
  private sameConnectionSnapshot(): ReadSnapshot {
    return Object.assign(Object.create(this) as LabelStore, { close: () => undefined });
  }

  /** {@link snapshot} of the store in `file`, for a reader on another thread (the export's worker). */
  static openSnapshot(file: string): ReadSnapshot {
    const reader = LabelStore.open(file, { readonly: true });
    try {
      // BEGIN is deferred: the snapshot is taken by the first read, and held until COMMIT.
      reader.db.exec('BEGIN');
    } catch (error) {
      reader.close();
      throw error;
    }
    return Object.assign(reader, {
      close: () => {
        try {
          if (reader.db.inTransaction) reader.db.exec('COMMIT');
        } finally {
          LabelStore.prototype.close.call(reader);
        }
      },
    });
  }

  /**
   * Runs `fn` as one write transaction of this store, with the same lock-taking and waiting as every write of
   * its own (below); for callers that store several things at once (a COCO import's batch of crops).
   * Throws {@link StoreBusyError} when the lock stays taken past the busy timeout.
   */
  transaction<T>(fn: () => T): T {
    return this.write(fn);
  }



  // ---- items -------------------------------------------------------------------------------------------

  /** What the store knows of a file, for incremental ingest. */
  fileState(uri: string): { id: number; bytes: number; mtimeMs: number; hash: string } | undefined {
    return this.statements.fileByUri.get(uri) as { id: number; bytes: number; mtimeMs: number; hash: string } | undefined;
  }

  /** What the store recorded of a file that failed to ingest, with the ingest options it failed under. */
  failureState(uri: string): { bytes: number; mtimeMs: number; options: string } | undefined {
    return this.statements.failureByUri.get(uri) as { bytes: number; mtimeMs: number; options: string } | undefined;
  }

  /** Adds or updates items in one transaction (the ingest writes in batches). Returns their ids. */
  upsertItems(records: ItemRecord[], seenAt = Date.now()): number[] {
    const s = this.statements;
    return this.write(() =>
      records.map((record) => {
        const row = {
          ...record,
          boxX: record.box?.[0] ?? null,
          boxY: record.box?.[1] ?? null,
          boxW: record.box?.[2] ?? null,
          boxH: record.box?.[3] ?? null,
          now: seenAt,
        };
        const existing = this.fileState(record.uri);
        s.deleteFailure.run(record.uri);
        if (existing) {
          s.updateItem.run({ ...row, id: existing.id });
          return existing.id;
        }
        const id = Number(s.insertItem.run(row).lastInsertRowid);
        s.insertState.run(id);
        return id;
      }),
    );
  }

  /** Marks files as seen by the ingest running since `seenAt`, without rewriting them. */
  touchItems(ids: number[], seenAt: number): void {
    this.write(() => {
      for (const id of ids) this.statements.touchItem.run(seenAt, id);
    });
  }

  /** After an ingest: items under `prefix` that it did not see are flagged missing (never deleted: labels stay). */
  markMissing(seenAt: number, uriPrefix = ''): number {
    const statement = this.db.prepare(`UPDATE items SET missing = 1 WHERE seen_at < ? AND missing = 0 AND uri LIKE ? ESCAPE '\\'`);
    return this.write(() => statement.run(seenAt, `${escapeLike(uriPrefix)}%`).changes);
  }

  /** Records why a file failed to ingest, and under which ingest `options` (an opaque key). */
  recordFailure(uri: string, reason: string, bytes: number, mtimeMs: number, options = ''): void {
    const now = Date.now();
    this.write(() => this.statements.upsertFailure.run(uri, reason, bytes, mtimeMs, options, now, now));
  }

  /** Marks failures as still on disk for the ingest running since `seenAt` (their files were not probed again). */
  touchFailures(uris: string[], seenAt: number): void {
    this.write(() => {
      for (const uri of uris) this.statements.touchFailure.run(seenAt, uri);
    });
  }

  /** After an ingest: failures of files it did not see (deleted, or renamed) are forgotten. Returns how many. */
  forgetUnseenFailures(seenAt: number): number {
    const statement = this.db.prepare('DELETE FROM ingest_failures WHERE seen_at < ?');
    return this.write(() => statement.run(seenAt).changes);
  }

  failures(): IngestFailure[] {
    return this.db.prepare('SELECT uri, reason, time FROM ingest_failures ORDER BY uri').all() as IngestFailure[];
  }

  item(id: number): ItemWithState {
    const row = this.statements.itemById.get(id) as ItemRow | undefined;
    if (!row) throw new NotFoundError(`no item with id ${id} in ${this.file}; list ids with \`npx quicksort status\` or ds.items()`);
    return toItemWithState({ ...row, ...(this.statements.stateById.get(id) as StateRow) });
  }

  // Item queries order by s.item_id, which equals i.id: SQLite then reads item_state in that order, through
  // the label index or not, and never sorts. Ordered by i.id, "unlabeled" at 1M items went through the label
  // index and sorted every match (1.8 s) before the first row an open hands out.
  items(query: ItemQuery = {}): ItemWithState[] {
    const { sql, params } = whereClause(query.where ?? {});
    const limit = query.limit ?? -1;
    const offset = query.offset ?? 0;
    const rows = this.db
      .prepare(`SELECT i.*, s.* FROM items i JOIN item_state s ON s.item_id = i.id ${sql} ORDER BY s.item_id LIMIT ? OFFSET ?`)
      .all(...params, limit, offset) as (ItemRow & StateRow)[];
    return rows.map(toItemWithState);
  }

  /** Streams items in id order without holding them all, for exports of any size. */
  *iterateItems(where: ItemFilter = {}): IterableIterator<ItemWithState> {
    const { sql, params } = whereClause(where);
    const statement = this.db.prepare(`SELECT i.*, s.* FROM items i JOIN item_state s ON s.item_id = i.id ${sql} ORDER BY s.item_id`);
    for (const row of statement.iterate(...params) as IterableIterator<ItemRow & StateRow>) yield toItemWithState(row);
  }

  /**
   * Streams items in id order as bare rows — arrays in {@link ITEM_ROW_COLUMNS} order, tags as JSON text —
   * with no object made per row: the read path of column exports (the store's SQL stays in the store).
   *
   * @example
   * for (const [id, uri, , , , , , label] of store.iterateItemRows({ labeled: true })) console.log(id, uri, label);
   */
  *iterateItemRows(where: ItemFilter = {}): IterableIterator<ItemRowTuple> {
    const { sql, params } = whereClause(where);
    const statement = this.db.prepare(`SELECT ${this.itemRowSql} FROM items i JOIN item_state s ON s.item_id = i.id ${sql} ORDER BY s.item_id`).raw(true);
    yield* statement.iterate(...params) as IterableIterator<ItemRowTuple>;
  }

  *iterateSettledItems(): IterableIterator<ItemWithState> {
    const statement = this.db.prepare(`SELECT i.*, s.* FROM items i JOIN item_state s ON s.item_id = i.id
      WHERE s.label_source = 'human' OR s.skipped = 1 OR s.dont_know = 1 OR s.deleted = 1 ORDER BY s.item_id`);
    for (const row of statement.iterate() as IterableIterator<ItemRow & StateRow>) yield toItemWithState(row);
  }

  /** The ids of the items that match, ascending: a filter's answer without reading the items (search masks). */
  itemIds(where: ItemFilter = {}): Int32Array {
    const { sql, params } = whereClause(where);
    const ids = this.db.prepare(`SELECT i.id FROM items i JOIN item_state s ON s.item_id = i.id ${sql} ORDER BY s.item_id`).pluck().all(...params) as number[];
    return Int32Array.from(ids);
  }

  count(where: ItemFilter = {}): number {
    const { sql, params } = whereClause(where);
    const row = this.db.prepare(`SELECT count(*) AS n FROM items i JOIN item_state s ON s.item_id = i.id ${sql}`).get(...params) as { n: number };
    return row.n;
  }

  /** Groups of items whose files have identical content. */
  duplicates(): { hash: string; uris: string[] }[] {
    const rows = this.db
      .prepare(`SELECT hash, json_group_array(uri) AS uris FROM (SELECT hash, uri FROM items WHERE missing = 0 ORDER BY uri)
        GROUP BY hash HAVING count(*) > 1 ORDER BY hash`)
      .all() as { hash: string; uris: string }[];
    return rows.map((row) => ({ hash: row.hash, uris: JSON.parse(row.uris) as string[] }));
  }

  // ---- actions -----------------------------------------------------------------------------------------

  /** Applies one action to one item; returns the appended event. */
  act(itemId: number, action: ItemAction, options: ActionOptions = {}): StoredEvent {
    return this.log.actMany([{ itemId, action }], options)[0]!;
  }

  /**
   * Applies several actions atomically as one batch: all are stored or none, and one undo takes them all
   * back (a grid page accepted with one key).
   */
  actMany(entries: ActionEntry[], options: ActionOptions = {}): StoredEvent[] {
    return this.log.actMany(entries, options);
  }

  actAndRead(entries: ActionEntry[], options: ActionOptions = {}): { events: StoredEvent[]; items: ItemWithState[] } {
    return this.write(() => {
      const events = this.log.actMany(entries, options);
      return { events, items: [...new Set(entries.map((entry) => entry.itemId))].map((id) => this.item(id)) };
    });
  }

  /** Takes back the user's latest batch of actions that is still in effect. Returns the undone events, or [] when there is nothing to undo. */
  undo(user = DEFAULT_USER): StoredEvent[] {
    return this.log.undo(user);
  }

  /** Re-applies what the user's latest undo took back, unless the user acted since. Returns the redone events. */
  redo(user = DEFAULT_USER): StoredEvent[] {
    return this.log.redo(user);
  }

  events(options: { itemId?: number; sinceSeq?: number; limit?: number } = {}): StoredEvent[] {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (options.itemId !== undefined) {
      conditions.push('item_id = ?');
      params.push(options.itemId);
    }
    if (options.sinceSeq !== undefined) {
      conditions.push('seq > ?');
      params.push(options.sinceSeq);
    }
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = this.db.prepare(`SELECT * FROM events ${where} ORDER BY seq LIMIT ?`).all(...params, options.limit ?? -1) as EventRow[];
    return rows.map(toEvent);
  }

  /**
   * The log's high-water mark: the seq of the newest event, whoever wrote it (0 when empty). One b-tree seek,
   * cheap enough to poll: it grows when any process appends to the log.
   */
  lastSeq(): number {
    return (this.statements.lastSeq.get() as { seq: number }).seq;
  }

  // ---- classes -----------------------------------------------------------------------------------------

  addClass(name: string, key: string | null = null): ClassInfo {
    const clean = checkClassName(name);
    this.write(() => this.log.ensureClass(clean, Date.now(), key));
    return this.classes().find((c) => c.name === clean)!;
  }


  // ---- idempotency keys ---------------------------------------------------------------------------------

  actionKey(user: string, key: string): AppliedActionKey | undefined {
    if (!this.keysKept) return undefined;
    return this.statements.actionKey.get(user, key) as AppliedActionKey | undefined;
  }

  applyOnce<T>(user: string, key: string, digest: string, write: () => T): T {
    const s = this.statements;
    return this.write(() => {
      if (this.actionKey(user, key)) {
        throw new InvalidArgumentError(`the idempotency key ${JSON.stringify(key)} of ${JSON.stringify(user)} was applied before; answer from store.actionKey, do not apply it again`);
      }
      const before = this.lastSeq();
      const result = write();
      const after = this.lastSeq();
      const now = Date.now();
      s.forgetActionKeys.run(now - ACTION_KEY_RETENTION_MS);
      s.insertActionKey.run(user, key, digest, after > before ? before + 1 : null, after > before ? after : null, now);
      return result;
    });
  }

  /** The classes in the order they were made, with their counts of (not deleted) items. */
  classes(): ClassInfo[] {
    // A store of an older schema opened read-only was not migrated: its counts are not kept, so count them.
    const count = this.countsKept ? 'c.count' : '(SELECT count(*) FROM item_state s WHERE s.label = c.name AND s.deleted = 0) AS count';
    return this.db.prepare(`SELECT c.id, c.name, c.key, ${count} FROM classes c ORDER BY c.id`).all() as ClassInfo[];
  }

  // ---- summaries and checks ----------------------------------------------------------------------------

  stats(): DatasetStats {
    const row = this.db
      .prepare(`SELECT
        count(*) FILTER (WHERE s.deleted = 0) AS items,
        count(*) FILTER (WHERE s.deleted = 0 AND s.label IS NOT NULL) AS labeled,
        count(*) FILTER (WHERE s.deleted = 0 AND s.label_source = 'human') AS labeledByHuman,
        count(*) FILTER (WHERE s.deleted = 0 AND s.label_source IN ('model','vlm')) AS labeledByModel,
        count(*) FILTER (WHERE s.deleted = 0 AND s.skipped = 1) AS skipped,
        count(*) FILTER (WHERE s.deleted = 0 AND s.dont_know = 1) AS dontKnow,
        count(*) FILTER (WHERE s.deleted = 1) AS deleted,
        count(*) FILTER (WHERE s.deleted = 0 AND s.caption IS NOT NULL AND s.caption <> '') AS captioned,
        count(*) FILTER (WHERE s.deleted = 0 AND i.missing = 1) AS missing
        FROM items i JOIN item_state s ON s.item_id = i.id`)
      .get() as Omit<DatasetStats, 'unlabeled' | 'failed' | 'events' | 'classes' | 'duplicateGroups'>;
    const scalar = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    return {
      ...row,
      unlabeled: row.items - row.labeled,
      failed: scalar('SELECT count(*) AS n FROM ingest_failures'),
      events: scalar('SELECT count(*) AS n FROM events'),
      classes: this.classes().map(({ name, count }) => ({ name, count })),
      duplicateGroups: scalar('SELECT count(*) AS n FROM (SELECT hash FROM items WHERE missing = 0 GROUP BY hash HAVING count(*) > 1)'),
    };
  }

  /** Recomputes the derived tables (undone flags and item state) from the log alone. */
  rebuildState(): void {
    this.write(() => {
      this.db.exec('UPDATE events SET undone = 0');
      const markers = this.db.prepare(`SELECT kind, payload FROM events WHERE kind IN ('undo','redo') ORDER BY seq`).all() as EventRow[];
      for (const marker of markers) this.statements.setUndone.run(marker.kind === 'undo' ? 1 : 0, JSON.parse(marker.payload).target);
      for (const { id } of this.db.prepare('SELECT id FROM items').all() as { id: number }[]) this.log.recompute(id);
      this.db.exec('UPDATE classes SET count = (SELECT count(*) FROM item_state s WHERE s.label = classes.name AND s.deleted = 0)');
    });
  }

  /** Item ids whose stored state differs from the state derived from the log (empty when all agree). */
  checkState(): number[] {
    const mismatched: number[] = [];
    for (const { id } of this.db.prepare('SELECT id FROM items').all() as { id: number }[]) {
      const derived = foldItemState((this.statements.eventsOfItem.all(id) as EventRow[]).map(toEvent));
      const stored = toState(this.statements.stateById.get(id) as StateRow);
      if (JSON.stringify(derived) !== JSON.stringify(stored)) mismatched.push(id);
    }
    return mismatched;
  }

  /** SQLite's own consistency check: 'ok' or a list of problems. */
  integrityCheck(): string {
    const rows = this.db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((row) => row.integrity_check).join('; ');
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    const statement = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.write(() => statement.run(key, value));
  }
}
