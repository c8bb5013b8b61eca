import type Database from 'better-sqlite3';

/** The SQL of the store's statements that run on every write or item read, prepared once per connection. */
const SQL = {
  itemById: 'SELECT * FROM items WHERE id = ?',
  stateById: 'SELECT * FROM item_state WHERE item_id = ?',
  fileByUri: 'SELECT id, bytes, mtime_ms AS mtimeMs, hash FROM items WHERE uri = ?',
  failureByUri: 'SELECT bytes, mtime_ms AS mtimeMs, options FROM ingest_failures WHERE uri = ?',
  touchFailure: 'UPDATE ingest_failures SET seen_at = ? WHERE uri = ?',
  touchItem: 'UPDATE items SET seen_at = ?, missing = 0 WHERE id = ?',
  insertItem: `INSERT INTO items (uri, width, height, format, bytes, mtime_ms, hash, split, source_uri,
    box_x, box_y, box_w, box_h, coco_image_id, coco_annotation_id, seen_at, added_at)
    VALUES (@uri, @width, @height, @format, @bytes, @mtimeMs, @hash, @split, @sourceUri,
    @boxX, @boxY, @boxW, @boxH, @cocoImageId, @cocoAnnotationId, @now, @now)`,
  updateItem: `UPDATE items SET width=@width, height=@height, format=@format, bytes=@bytes,
    mtime_ms=@mtimeMs, hash=@hash, split=@split, source_uri=@sourceUri, box_x=@boxX, box_y=@boxY, box_w=@boxW,
    box_h=@boxH, coco_image_id=@cocoImageId, coco_annotation_id=@cocoAnnotationId, seen_at=@now, missing=0
    WHERE id=@id`,
  insertState: 'INSERT OR IGNORE INTO item_state (item_id) VALUES (?)',
  upsertFailure: `INSERT INTO ingest_failures (uri, reason, bytes, mtime_ms, options, time, seen_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT(uri) DO UPDATE SET reason=excluded.reason, bytes=excluded.bytes, mtime_ms=excluded.mtime_ms,
    options=excluded.options, time=excluded.time, seen_at=excluded.seen_at`,
  deleteFailure: 'DELETE FROM ingest_failures WHERE uri = ?',
  insertEvent: `INSERT INTO events (item_id, kind, payload, user, source, confidence, batch, time)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  setBatch: 'UPDATE events SET batch = ? WHERE seq BETWEEN ? AND ?',
  eventBySeq: 'SELECT * FROM events WHERE seq = ?',
  eventsOfItem: 'SELECT * FROM events WHERE item_id = ? ORDER BY seq',
  writeState: `INSERT INTO item_state (item_id, label, label_source, confidence, labeled_by, skipped,
    dont_know, caption, captions, tags, deleted, version) VALUES (@itemId, @label, @labelSource, @confidence, @labeledBy,
    @skipped, @dontKnow, @caption, @captions, @tags, @deleted, @version)
    ON CONFLICT(item_id) DO UPDATE SET label=excluded.label, label_source=excluded.label_source,
    confidence=excluded.confidence, labeled_by=excluded.labeled_by, skipped=excluded.skipped,
    dont_know=excluded.dont_know, caption=excluded.caption, captions=excluded.captions, tags=excluded.tags, deleted=excluded.deleted,
    version=excluded.version`,
  lastActiveBatch: `SELECT batch FROM events WHERE user = ? AND undone = 0
    AND kind IN ('label','unlabel','skip','dont_know','caption','add_caption','remove_caption','tags','delete','restore') ORDER BY seq DESC LIMIT 1`,
  activeInBatch: 'SELECT * FROM events WHERE batch = ? AND undone = 0 ORDER BY seq',
  batchesOfUser: `SELECT batch, kind FROM events WHERE user = ? GROUP BY batch ORDER BY batch DESC`,
  eventsInBatch: 'SELECT * FROM events WHERE batch = ? ORDER BY seq',
  setUndone: 'UPDATE events SET undone = ? WHERE seq = ?',
  classByName: 'SELECT id FROM classes WHERE name = ?',
  insertClass: 'INSERT INTO classes (name, key, created_at) VALUES (?, ?, ?)',
  lastSeq: 'SELECT coalesce(max(seq), 0) AS seq FROM events',
  countClass: 'UPDATE classes SET count = count + ? WHERE name = ?',
  actionKey: 'SELECT digest, first_seq AS firstSeq, last_seq AS lastSeq, time FROM action_keys WHERE user = ? AND key = ?',
  insertActionKey: 'INSERT INTO action_keys (user, key, digest, first_seq, last_seq, time) VALUES (?, ?, ?, ?, ?, ?)',
  forgetActionKeys: 'DELETE FROM action_keys WHERE time < ?',
} as const;

export type Statements = { readonly [name in keyof typeof SQL]: Database.Statement };

/**
 * The statements of one connection, each prepared on first use: a read-only connection (an export's
 * snapshot, a store of an older schema opened read-only) never prepares the writes it cannot run.
 */
export function prepareStatements(db: Database.Database): Statements {
  const statements = {} as Record<keyof typeof SQL, Database.Statement>;
  for (const name of Object.keys(SQL) as (keyof typeof SQL)[]) {
    const prepare = () => Object.defineProperty(statements, name, { value: db.prepare(SQL[name]) })[name];
    Object.defineProperty(statements, name, { get: prepare, configurable: true });
  }
  return statements;
}
