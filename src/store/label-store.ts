import Database from 'better-sqlite3';
import { ConflictError, InvalidArgumentError, NotFoundError, StoreBusyError, StoreError, messageOf } from '../errors';
import { foldItemState, type FoldableEvent } from './item-state';
import { migrate } from './schema';
import type {
  ActionOptions,
  ActionSource,
  ClassInfo,
  DatasetStats,
  EventKind,
  IngestFailure,
  ItemAction,
  ItemFilter,
  ItemQuery,
  ItemRecord,
  ItemState,
  ItemWithState,
  StoredEvent,
} from './types';

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

interface EventRow {
  seq: number;
  item_id: number | null;
  kind: EventKind;
  payload: string;
  user: string;
  source: ActionSource;
  confidence: number | null;
  batch: number;
  time: number;
  undone: number;
}

interface ItemRow {
  id: number;
  uri: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
  hash: string;
  split: string | null;
  source_uri: string | null;
  box_x: number | null;
  box_y: number | null;
  box_w: number | null;
  box_h: number | null;
  coco_image_id: number | null;
  coco_annotation_id: number | null;
  missing: number;
}

interface StateRow {
  label: string | null;
  label_source: ActionSource | null;
  confidence: number | null;
  labeled_by: string | null;
  skipped: number;
  dont_know: number;
  caption: string | null;
  tags: string;
  deleted: number;
  version: number;
}

/** The columns of {@link LabelStore.iterateItemRows}'s rows, in order (snake_case, as stored). */
export const ITEM_ROW_COLUMNS = [
  'id',
  'uri',
  'format',
  'width',
  'height',
  'hash',
  'split',
  'label',
  'label_source',
  'confidence',
  'labeled_by',
  'caption',
  'tags',
  'source_uri',
  'box_x',
  'box_y',
  'box_w',
  'box_h',
  'coco_image_id',
  'coco_annotation_id',
] as const;

/** A row of {@link LabelStore.iterateItemRows}: one item's fields in {@link ITEM_ROW_COLUMNS} order; `tags` is a JSON array. */
export type ItemRowTuple = [
  id: number,
  uri: string,
  format: string,
  width: number,
  height: number,
  hash: string,
  split: string | null,
  label: string | null,
  labelSource: ActionSource | null,
  confidence: number | null,
  labeledBy: string | null,
  caption: string | null,
  tags: string,
  sourceUri: string | null,
  boxX: number | null,
  boxY: number | null,
  boxW: number | null,
  boxH: number | null,
  cocoImageId: number | null,
  cocoAnnotationId: number | null,
];

const ITEM_TABLE_COLUMNS = new Set(['id', 'uri', 'format', 'width', 'height', 'hash', 'split', 'source_uri', 'box_x', 'box_y', 'box_w', 'box_h', 'coco_image_id', 'coco_annotation_id']);
const ITEM_ROW_SQL = ITEM_ROW_COLUMNS.map((column) => `${ITEM_TABLE_COLUMNS.has(column) ? 'i' : 's'}.${column}`).join(', ');

const ACTION_KINDS = new Set<EventKind>(['label', 'unlabel', 'skip', 'dont_know', 'caption', 'tags', 'delete', 'restore']);
const SOURCES = new Set<ActionSource>(['human', 'model', 'vlm']);
const DEFAULT_USER = 'local';
/** The store's file name, in the dataset's state folder unless the caller names another file. */
export const STORE_FILE_NAME = 'quicksort.db';

/** The folder, beside the images, where QuickSort keeps a dataset's store and derived data (caches, indexes). */
export const STATE_FOLDER = '.quicksort';
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const MAX_CLASS_NAME = 200;

/**
 * The dataset's store: items, classes and the append-only event log in one SQLite file (WAL), with the
 * current state of every item derived from the log in the same transaction as each event.
 *
 * @example
 * const store = LabelStore.open('photos/.quicksort/quicksort.db');
 * store.act(1, { kind: 'label', label: 'cat' });
 * store.undo();
 */
export class LabelStore {
  private readonly statements: ReturnType<LabelStore['prepare']>;

  private constructor(
    readonly db: Database.Database,
    readonly file: string,
    private readonly busyTimeoutMs: number,
  ) {
    this.statements = this.prepare();
  }

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
      throw busyError(error, file, busyTimeoutMs) ?? new StoreError(`cannot use the store ${file}: ${messageOf(error)}`, { cause: error });
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Runs `fn` as one write transaction that takes the write lock up front (BEGIN IMMEDIATE), waiting up to the
   * busy timeout for another writer. A deferred transaction that reads first and writes later cannot wait:
   * SQLite refuses the read→write upgrade at once when another process wrote meanwhile (WAL), which is what
   * made labels fail under several writers. Inside another transaction it is a savepoint of that one.
   *
   * The wait is this store's own, not SQLite's busy handler: that one sleeps up to 100 ms between looks at
   * the lock, and writers that commit back to back leave it free only for the moment between two of their
   * transactions, so a waiter looking that seldom starved past the timeout (3 writers × 1,000 labels on a
   * loaded machine). Looking every millisecond finds those moments.
   */
  /**
   * Runs `fn` as one write transaction of this store, with the same lock-taking and waiting as every write of
   * its own (below); for callers that store several things at once (a COCO import's batch of crops).
   * Throws {@link StoreBusyError} when the lock stays taken past the busy timeout.
   */
  transaction<T>(fn: () => T): T {
    return this.write(fn);
  }

  private write<T>(fn: () => T): T {
    const transaction = this.db.transaction(fn);
    if (this.db.inTransaction) return transaction.immediate();
    const deadline = Date.now() + this.busyTimeoutMs;
    this.db.pragma('busy_timeout = 0');
    try {
      for (;;) {
        try {
          return transaction.immediate();
        } catch (error) {
          const busy = busyError(error, this.file, this.busyTimeoutMs);
          if (!busy) throw error;
          if (Date.now() >= deadline) throw busy;
          Atomics.wait(PAUSE, 0, 0, 1);
        }
      }
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  private prepare() {
    const db = this.db;
    return {
      itemById: db.prepare('SELECT * FROM items WHERE id = ?'),
      stateById: db.prepare('SELECT * FROM item_state WHERE item_id = ?'),
      fileByUri: db.prepare('SELECT id, bytes, mtime_ms AS mtimeMs, hash FROM items WHERE uri = ?'),
      failureByUri: db.prepare('SELECT bytes, mtime_ms AS mtimeMs, options FROM ingest_failures WHERE uri = ?'),
      touchFailure: db.prepare('UPDATE ingest_failures SET seen_at = ? WHERE uri = ?'),
      touchItem: db.prepare('UPDATE items SET seen_at = ?, missing = 0 WHERE id = ?'),
      insertItem: db.prepare(`INSERT INTO items (uri, width, height, format, bytes, mtime_ms, hash, split, source_uri,
        box_x, box_y, box_w, box_h, coco_image_id, coco_annotation_id, seen_at, added_at)
        VALUES (@uri, @width, @height, @format, @bytes, @mtimeMs, @hash, @split, @sourceUri,
        @boxX, @boxY, @boxW, @boxH, @cocoImageId, @cocoAnnotationId, @now, @now)`),
      updateItem: db.prepare(`UPDATE items SET width=@width, height=@height, format=@format, bytes=@bytes,
        mtime_ms=@mtimeMs, hash=@hash, split=@split, source_uri=@sourceUri, box_x=@boxX, box_y=@boxY, box_w=@boxW,
        box_h=@boxH, coco_image_id=@cocoImageId, coco_annotation_id=@cocoAnnotationId, seen_at=@now, missing=0
        WHERE id=@id`),
      insertState: db.prepare('INSERT OR IGNORE INTO item_state (item_id) VALUES (?)'),
      upsertFailure: db.prepare(`INSERT INTO ingest_failures (uri, reason, bytes, mtime_ms, options, time, seen_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(uri) DO UPDATE SET reason=excluded.reason, bytes=excluded.bytes, mtime_ms=excluded.mtime_ms,
        options=excluded.options, time=excluded.time, seen_at=excluded.seen_at`),
      deleteFailure: db.prepare('DELETE FROM ingest_failures WHERE uri = ?'),
      insertEvent: db.prepare(`INSERT INTO events (item_id, kind, payload, user, source, confidence, batch, time)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      setBatch: db.prepare('UPDATE events SET batch = ? WHERE seq BETWEEN ? AND ?'),
      eventBySeq: db.prepare('SELECT * FROM events WHERE seq = ?'),
      eventsOfItem: db.prepare('SELECT * FROM events WHERE item_id = ? ORDER BY seq'),
      writeState: db.prepare(`INSERT INTO item_state (item_id, label, label_source, confidence, labeled_by, skipped,
        dont_know, caption, tags, deleted, version) VALUES (@itemId, @label, @labelSource, @confidence, @labeledBy,
        @skipped, @dontKnow, @caption, @tags, @deleted, @version)
        ON CONFLICT(item_id) DO UPDATE SET label=excluded.label, label_source=excluded.label_source,
        confidence=excluded.confidence, labeled_by=excluded.labeled_by, skipped=excluded.skipped,
        dont_know=excluded.dont_know, caption=excluded.caption, tags=excluded.tags, deleted=excluded.deleted,
        version=excluded.version`),
      lastActiveBatch: db.prepare(`SELECT batch FROM events WHERE user = ? AND undone = 0
        AND kind IN ('label','unlabel','skip','dont_know','caption','tags','delete','restore') ORDER BY seq DESC LIMIT 1`),
      activeInBatch: db.prepare('SELECT * FROM events WHERE batch = ? AND undone = 0 ORDER BY seq'),
      batchesOfUser: db.prepare(`SELECT batch, kind FROM events WHERE user = ? GROUP BY batch ORDER BY batch DESC`),
      eventsInBatch: db.prepare('SELECT * FROM events WHERE batch = ? ORDER BY seq'),
      setUndone: db.prepare('UPDATE events SET undone = ? WHERE seq = ?'),
      classByName: db.prepare('SELECT id FROM classes WHERE name = ?'),
      insertClass: db.prepare('INSERT INTO classes (name, key, created_at) VALUES (?, ?, ?)'),
      lastSeq: db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM events'),
    };
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

  items(query: ItemQuery = {}): ItemWithState[] {
    const { sql, params } = whereClause(query.where ?? {});
    const limit = query.limit ?? -1;
    const offset = query.offset ?? 0;
    const rows = this.db
      .prepare(`SELECT i.*, s.* FROM items i JOIN item_state s ON s.item_id = i.id ${sql} ORDER BY i.id LIMIT ? OFFSET ?`)
      .all(...params, limit, offset) as (ItemRow & StateRow)[];
    return rows.map(toItemWithState);
  }

  /** Streams items in id order without holding them all, for exports of any size. */
  *iterateItems(where: ItemFilter = {}): IterableIterator<ItemWithState> {
    const { sql, params } = whereClause(where);
    const statement = this.db.prepare(`SELECT i.*, s.* FROM items i JOIN item_state s ON s.item_id = i.id ${sql} ORDER BY i.id`);
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
    const statement = this.db.prepare(`SELECT ${ITEM_ROW_SQL} FROM items i JOIN item_state s ON s.item_id = i.id ${sql} ORDER BY i.id`).raw(true);
    yield* statement.iterate(...params) as IterableIterator<ItemRowTuple>;
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
    return this.actMany([{ itemId, action }], options)[0]!;
  }

  /**
   * Applies several actions atomically as one batch: all are stored or none, and one undo takes them all
   * back (a grid page accepted with one key).
   */
  actMany(entries: { itemId: number; action: ItemAction }[], options: ActionOptions = {}): StoredEvent[] {
    if (entries.length === 0) return [];
    const user = checkUser(options.user ?? DEFAULT_USER);
    const source = options.source ?? 'human';
    if (!SOURCES.has(source)) throw new InvalidArgumentError(`source must be one of human, model, vlm; got ${JSON.stringify(source)}`);
    const confidence = options.confidence ?? null;
    if (confidence !== null && !(confidence >= 0 && confidence <= 1)) {
      throw new InvalidArgumentError(`confidence must be a number from 0 to 1; got ${confidence}`);
    }
    const payloads = entries.map(({ action }) => validateAction(action));
    return this.write(() => {
      const now = Date.now();
      const seqs: number[] = [];
      entries.forEach(({ itemId, action }, index) => {
        const state = this.statements.stateById.get(itemId) as StateRow | undefined;
        if (!state) throw new NotFoundError(`no item with id ${itemId} in ${this.file}`);
        if (options.ifVersion !== undefined && state.version !== options.ifVersion) {
          throw new ConflictError(
            `item ${itemId} changed since version ${options.ifVersion} (now ${state.version}` +
              `${state.labeled_by ? `, labeled ${JSON.stringify(state.label)} by ${state.labeled_by}` : ''}); reload it and try again`,
          );
        }
        if (action.kind === 'label') this.ensureClass(JSON.parse(payloads[index]!).label as string, now);
        const seq = Number(
          this.statements.insertEvent.run(itemId, action.kind, payloads[index], user, source, confidence, 0, now).lastInsertRowid,
        );
        seqs.push(seq);
      });
      this.statements.setBatch.run(seqs[0], seqs[0], seqs[seqs.length - 1]);
      for (const itemId of new Set(entries.map((entry) => entry.itemId))) this.recompute(itemId);
      return seqs.map((seq) => toEvent(this.statements.eventBySeq.get(seq) as EventRow));
    });
  }

  /** Takes back the user's latest batch of actions that is still in effect. Returns the undone events, or [] when there is nothing to undo. */
  undo(user = DEFAULT_USER): StoredEvent[] {
    return this.write(() => {
      const last = this.statements.lastActiveBatch.get(user) as { batch: number } | undefined;
      if (!last) return [];
      const targets = (this.statements.activeInBatch.all(last.batch) as EventRow[]).filter((row) => ACTION_KINDS.has(row.kind));
      this.writeMarkers('undo', targets, user, 1);
      return targets.map((row) => toEvent({ ...row, undone: 1 }));
    });
  }

  /** Re-applies what the user's latest undo took back, unless the user acted since. Returns the redone events. */
  redo(user = DEFAULT_USER): StoredEvent[] {
    return this.write(() => {
      const undoBatch = this.findRedoableUndo(user);
      if (undoBatch === undefined) return [];
      const markers = this.statements.eventsInBatch.all(undoBatch) as EventRow[];
      const targets = markers.map((marker) => this.statements.eventBySeq.get(JSON.parse(marker.payload).target) as EventRow);
      this.writeMarkers('redo', targets, user, 0);
      return targets.map((row) => toEvent({ ...row, undone: 0 }));
    });
  }

  /** Walks the user's batches newest first: each redo cancels one undo; a plain action ends the redo history. */
  private findRedoableUndo(user: string): number | undefined {
    let pendingRedos = 0;
    for (const { batch, kind } of this.statements.batchesOfUser.iterate(user) as IterableIterator<{ batch: number; kind: EventKind }>) {
      if (kind === 'redo') pendingRedos++;
      else if (kind === 'undo' && pendingRedos > 0) pendingRedos--;
      else return kind === 'undo' ? batch : undefined;
    }
    return undefined;
  }

  private writeMarkers(kind: 'undo' | 'redo', targets: EventRow[], user: string, undone: 0 | 1): void {
    if (targets.length === 0) return;
    const now = Date.now();
    const seqs = targets.map((target) => {
      this.statements.setUndone.run(undone, target.seq);
      return Number(
        this.statements.insertEvent.run(target.item_id, kind, JSON.stringify({ target: target.seq }), user, 'human', null, 0, now)
          .lastInsertRowid,
      );
    });
    this.statements.setBatch.run(seqs[0], seqs[0], seqs[seqs.length - 1]);
    for (const itemId of new Set(targets.map((target) => target.item_id))) if (itemId !== null) this.recompute(itemId);
  }

  private recompute(itemId: number): ItemState {
    const rows = this.statements.eventsOfItem.all(itemId) as EventRow[];
    const state = foldItemState(rows.map(toFoldable));
    this.statements.writeState.run({
      itemId,
      ...state,
      skipped: Number(state.skipped),
      dontKnow: Number(state.dontKnow),
      deleted: Number(state.deleted),
      tags: JSON.stringify(state.tags),
    });
    return state;
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
    this.write(() => {
      if (!this.statements.classByName.get(clean)) this.statements.insertClass.run(clean, key, Date.now());
    });
    return this.classes().find((c) => c.name === clean)!;
  }

  private ensureClass(name: string, now: number): void {
    if (!this.statements.classByName.get(name)) this.statements.insertClass.run(name, null, now);
  }

  classes(): ClassInfo[] {
    return this.db
      .prepare(`SELECT c.id, c.name, c.key, (SELECT count(*) FROM item_state s WHERE s.label = c.name AND s.deleted = 0) AS count
        FROM classes c ORDER BY c.id`)
      .all() as ClassInfo[];
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
      for (const { id } of this.db.prepare('SELECT id FROM items').all() as { id: number }[]) this.recompute(id);
    });
  }

  /** Item ids whose stored state differs from the state derived from the log (empty when all agree). */
  checkState(): number[] {
    const mismatched: number[] = [];
    for (const { id } of this.db.prepare('SELECT id FROM items').all() as { id: number }[]) {
      const derived = foldItemState((this.statements.eventsOfItem.all(id) as EventRow[]).map(toFoldable));
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

// ---- row mapping and validation ------------------------------------------------------------------------

/** One object literal, not a spread of two: exports map millions of rows, and the spread cost most of it. */
function toItemWithState(row: ItemRow & StateRow): ItemWithState {
  const hasBox = row.box_x !== null && row.box_y !== null && row.box_w !== null && row.box_h !== null;
  return {
    id: row.id,
    uri: row.uri,
    width: row.width,
    height: row.height,
    format: row.format,
    bytes: row.bytes,
    hash: row.hash,
    split: row.split,
    sourceUri: row.source_uri,
    box: hasBox ? [row.box_x!, row.box_y!, row.box_w!, row.box_h!] : null,
    cocoImageId: row.coco_image_id,
    cocoAnnotationId: row.coco_annotation_id,
    missing: row.missing === 1,
    label: row.label,
    labelSource: row.label_source,
    confidence: row.confidence,
    labeledBy: row.labeled_by,
    skipped: row.skipped === 1,
    dontKnow: row.dont_know === 1,
    caption: row.caption,
    tags: row.tags === '[]' ? [] : (JSON.parse(row.tags) as string[]),
    deleted: row.deleted === 1,
    version: row.version,
  };
}

function toState(row: StateRow): ItemState {
  return {
    label: row.label,
    labelSource: row.label_source,
    confidence: row.confidence,
    labeledBy: row.labeled_by,
    skipped: row.skipped === 1,
    dontKnow: row.dont_know === 1,
    caption: row.caption,
    tags: JSON.parse(row.tags) as string[],
    deleted: row.deleted === 1,
    version: row.version,
  };
}

function toEvent(row: EventRow): StoredEvent {
  return {
    seq: row.seq,
    itemId: row.item_id,
    kind: row.kind,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    user: row.user,
    source: row.source,
    confidence: row.confidence,
    batch: row.batch,
    time: row.time,
    undone: row.undone === 1,
  };
}

function toFoldable(row: EventRow): FoldableEvent {
  return {
    seq: row.seq,
    kind: row.kind,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    user: row.user,
    source: row.source,
    confidence: row.confidence,
    undone: row.undone === 1,
  };
}

/** What {@link LabelStore.write} waits on for a millisecond between looks at the write lock (nothing wakes it). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * SQLITE_BUSY (and its extended codes) as the retryable error a person can read; undefined for any other error.
 * Read by its code, not `instanceof SqliteError`: the native addon keeps the class of the first copy of
 * better-sqlite3 loaded in the process, and a second copy (bundlers, test runners) has another.
 */
function busyError(error: unknown, file: string, busyTimeoutMs: number): StoreBusyError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) return undefined;
  return new StoreBusyError(
    `the dataset's store ${file} is busy with another writer (its write lock stayed taken for ${busyTimeoutMs} ms); nothing was saved, retry in a moment`,
    { cause: error },
  );
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function whereClause(where: ItemFilter): { sql: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, ...values: unknown[]) => {
    conditions.push(condition);
    params.push(...values);
  };
  add('s.deleted = ?', where.deleted ? 1 : 0);
  if (where.ids) add(`i.id IN (SELECT value FROM json_each(?))`, JSON.stringify(where.ids));
  if (where.label === null) add('s.label IS NULL');
  else if (where.label !== undefined) add('s.label = ?', where.label);
  if (where.labeled !== undefined) add(where.labeled ? 's.label IS NOT NULL' : 's.label IS NULL');
  if (where.labelSource !== undefined) add('s.label_source = ?', where.labelSource);
  if (where.split === null) add('i.split IS NULL');
  else if (where.split !== undefined) add('i.split = ?', where.split);
  if (where.skipped !== undefined) add('s.skipped = ?', where.skipped ? 1 : 0);
  if (where.dontKnow !== undefined) add('s.dont_know = ?', where.dontKnow ? 1 : 0);
  if (where.hasCaption !== undefined) add(where.hasCaption ? "coalesce(s.caption, '') <> ''" : "coalesce(s.caption, '') = ''");
  if (where.tag !== undefined) add('EXISTS (SELECT 1 FROM json_each(s.tags) WHERE value = ?)', where.tag);
  if (where.uriLike !== undefined) add('i.uri LIKE ?', where.uriLike);
  if (where.missing !== undefined) add('i.missing = ?', where.missing ? 1 : 0);
  return { sql: `WHERE ${conditions.join(' AND ')}`, params };
}

/** Whether `user` can be recorded as who acted: a name, not blank, of at most 200 characters. */
export function isUserName(user: unknown): user is string {
  return typeof user === 'string' && user.trim() !== '' && user.length <= 200;
}

function checkUser(user: string): string {
  if (!isUserName(user)) {
    throw new InvalidArgumentError(`user must be a non-empty name of at most 200 characters; got ${JSON.stringify(user)}`);
  }
  return user;
}

function checkClassName(name: unknown): string {
  if (typeof name !== 'string') throw new InvalidArgumentError(`a class name must be a string; got ${JSON.stringify(name)}`);
  const clean = name.trim();
  // eslint-disable-next-line no-control-regex
  if (clean === '' || clean.length > MAX_CLASS_NAME || /[\u0000-\u001f\u007f]/.test(clean)) {
    throw new InvalidArgumentError(
      `a class name must be 1–${MAX_CLASS_NAME} characters without control characters; got ${JSON.stringify(name)}`,
    );
  }
  return clean;
}

/** Checks an action's fields and returns its payload as stored. */
function validateAction(action: ItemAction): string {
  switch (action.kind) {
    case 'label':
      return JSON.stringify({ label: checkClassName(action.label) });
    case 'caption':
      if (action.caption !== null && typeof action.caption !== 'string') {
        throw new InvalidArgumentError(`a caption must be a string or null; got ${JSON.stringify(action.caption)}`);
      }
      return JSON.stringify({ caption: action.caption });
    case 'tags': {
      if (!Array.isArray(action.tags) || action.tags.some((tag) => typeof tag !== 'string' || tag.trim() === '')) {
        throw new InvalidArgumentError(`tags must be a list of non-empty strings; got ${JSON.stringify(action.tags)}`);
      }
      return JSON.stringify({ tags: [...new Set(action.tags.map((tag) => tag.trim()))] });
    }
    case 'unlabel':
    case 'skip':
    case 'dont_know':
    case 'delete':
    case 'restore':
      return '{}';
    default:
      throw new InvalidArgumentError(
        `unknown action ${JSON.stringify((action as { kind: unknown }).kind)}; expected one of ${[...ACTION_KINDS].join(', ')}`,
      );
  }
}
