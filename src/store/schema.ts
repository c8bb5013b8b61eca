import type Database from 'better-sqlite3';
import { foldItemState } from './item-state';
import { toEvent, type EventRow } from './rows';

/**
 * Migrations, applied in order and recorded in `PRAGMA user_version`. Append new steps; never edit one that
 * shipped, since stores in the wild already ran it.
 */
const MIGRATIONS: (string | ((db: Database.Database) => void))[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    format TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    hash TEXT NOT NULL,
    split TEXT,
    source_uri TEXT,
    box_x REAL, box_y REAL, box_w REAL, box_h REAL,
    coco_image_id INTEGER,
    coco_annotation_id INTEGER,
    missing INTEGER NOT NULL DEFAULT 0,
    seen_at INTEGER NOT NULL,          -- the last ingest that found the file
    added_at INTEGER NOT NULL
  );
  CREATE INDEX items_hash ON items(hash);

  CREATE TABLE classes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key TEXT,
    created_at INTEGER NOT NULL
  );

  -- The log: the single source of truth for everything a person or model did.
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER REFERENCES items(id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    user TEXT NOT NULL,
    source TEXT NOT NULL,
    confidence REAL,
    batch INTEGER NOT NULL,
    time INTEGER NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0   -- derived from undo/redo events
  );
  CREATE INDEX events_item ON events(item_id, seq);
  CREATE INDEX events_user ON events(user, seq);

  -- Derived from the log, updated in the same transaction as each event; rebuildable.
  CREATE TABLE item_state (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    label TEXT,
    label_source TEXT,
    confidence REAL,
    labeled_by TEXT,
    skipped INTEGER NOT NULL DEFAULT 0,
    dont_know INTEGER NOT NULL DEFAULT 0,
    caption TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    deleted INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX item_state_label ON item_state(label);

  CREATE TABLE ingest_failures (
    uri TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    time INTEGER NOT NULL
  );
  `,
  // A failure remembers the ingest options it happened under, so that a run with other options (a higher
  // --max-pixels) tries the file again, and the last run that saw the file, so that failures of files gone
  // from disk can leave.
  `
  ALTER TABLE ingest_failures ADD COLUMN options TEXT NOT NULL DEFAULT '';
  ALTER TABLE ingest_failures ADD COLUMN seen_at INTEGER NOT NULL DEFAULT 0;
  `,
  // Each class's count of (not deleted) items, kept by every write of an item's state: the app shows the
  // counts after every label, and counting them was a scan of every labeled item (1M on a COCO import).
  `
  ALTER TABLE classes ADD COLUMN count INTEGER NOT NULL DEFAULT 0;
  UPDATE classes SET count = (SELECT count(*) FROM item_state s WHERE s.label = classes.name AND s.deleted = 0);
  `,
  // Several captions per item (issue 15), each with its source and author, as a JSON list in the item's state.
  // The log already holds every caption event: each captioned item's state is folded from it again, so the
  // list (and the caption shown, which is now the latest one still set rather than the latest event's, when two
  // people captioned the item) is what the new fold makes of the old log.
  (db) => {
    db.exec(`ALTER TABLE item_state ADD COLUMN captions TEXT NOT NULL DEFAULT '[]'`);
    const events = db.prepare('SELECT * FROM events WHERE item_id = ? ORDER BY seq');
    const write = db.prepare('UPDATE item_state SET caption = ?, captions = ? WHERE item_id = ?');
    for (const { item_id: itemId } of db.prepare(`SELECT DISTINCT item_id FROM events WHERE kind = 'caption'`).all() as { item_id: number }[]) {
      const state = foldItemState((events.all(itemId) as EventRow[]).map(toEvent));
      write.run(state.caption, JSON.stringify(state.captions), itemId);
    }
  },
  // Idempotency keys of actions (issue 17): a page that lost its connection sends its unacknowledged actions
  // again with the same keys. A key here was applied, with the events first_seq..last_seq (none for an undo
  // with nothing to undo, or a new class), written in the same transaction as those events, so a crash between
  // the commit and the ack cannot make the resend apply it twice. `digest` is the action's content: the same
  // key on another action is refused. Kept for a bounded time (see ACTION_KEY_RETENTION_MS).
  `
  CREATE TABLE action_keys (
    user TEXT NOT NULL,
    key TEXT NOT NULL,
    digest TEXT NOT NULL,
    first_seq INTEGER,
    last_seq INTEGER,
    time INTEGER NOT NULL,
    PRIMARY KEY (user, key)
  );
  CREATE INDEX action_keys_time ON action_keys(time);
  `,
];

/** The first schema version whose classes carry their counts. */
export const CLASS_COUNTS_VERSION = 3;

/** The first schema version whose item states carry their list of captions. */
export const CAPTIONS_VERSION = 4;

/** The first schema version that records actions' idempotency keys. */
export const ACTION_KEYS_VERSION = 5;

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the store to {@link SCHEMA_VERSION}. The version is read again under the write lock (BEGIN
 * IMMEDIATE): two processes opening an old store at once would otherwise both run the same step, and the
 * second would fail on tables the first just made.
 */
export function migrate(db: Database.Database): void {
  if (schemaVersion(db) === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (let version = schemaVersion(db); version < SCHEMA_VERSION; version++) {
      const step = MIGRATIONS[version]!;
      if (typeof step === 'string') db.exec(step);
      else step(db);
      db.pragma(`user_version = ${version + 1}`);
    }
  }).immediate();
}

export function schemaVersion(db: Database.Database): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `the store has schema version ${version}, newer than this QuickSort understands (${SCHEMA_VERSION}); upgrade QuickSort`,
    );
  }
  return version;
}
