import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import Database from 'better-sqlite3';
import { messageOf } from '../errors';
import { THUMBNAIL_CACHE_FILE_NAME } from '../store';
import type { EncodedImage } from './image-cache';

/** The thumbnail cache's file, beside the store: `DIR/.quicksort/thumbnails.db` for the default store. */
export function thumbnailCachePath(storeFile: string): string {
  return path.join(path.dirname(storeFile), THUMBNAIL_CACHE_FILE_NAME);
}

/** Images up to this size (longer side, px) are kept on disk: grid cells and neighbour strips, not focus images. */
export const DISK_THUMBNAIL_MAX = 384;

/**
 * How thumbnails are made (see `encodeImage`); rows made another way are dropped when the file is opened, so a
 * change of the encoder never serves stale pixels.
 */
export const THUMBNAIL_ENCODING = 'jpeg-q85-rotate-inside-v1';

const SCHEMA_VERSION = 1;
const FLUSH_MS = 100;
const FLUSH_ROWS = 128;

interface Row {
  mime: string;
  width: number;
  height: number;
  crc: number;
  bytes: Buffer;
}

/**
 * Thumbnails on disk, keyed by the image file's content hash and the size asked for, in their own SQLite file
 * beside the store (derived data: deleting the file only costs resizing again). Shared by every session and
 * process on the dataset (the server, the notebook kernel, `quicksort thumbnails`) and kept across restarts;
 * a changed file has a new hash, so it gets a new thumbnail.
 *
 * It never endangers the labels: another file and another connection than the store's, writes batched into
 * one transaction off the request path and dropped (not waited for) when another process holds the lock, and
 * any failure only turns the cache off or rebuilds it. A file that is not a readable SQLite database, or one
 * found corrupt while in use, is deleted and made again; each row carries a CRC of its bytes, so a damaged
 * row is a miss, never a broken image.
 *
 * @example
 * const cache = ThumbnailCache.open('photos/.quicksort/thumbnails.db');
 * cache.get(item.hash, 128) ?? cache.put(item.hash, 128, await encodeImage(file, 128, what));
 */
export class ThumbnailCache {
  private db: Database.Database | undefined;
  private read: Database.Statement | undefined;
  private pending = new Map<string, { hash: string; size: number; image: EncodedImage }>();
  private timer: NodeJS.Timeout | undefined;
  private rebuilt = 0;
  /** Why the cache is off or was rebuilt (the latest reason), for logs and tests. */
  problem: string | undefined;

  private constructor(
    readonly file: string,
    private readonly log: (line: string) => void,
    private readonly busyTimeoutMs: number,
  ) {}

  /**
   * Opens (or creates) the cache; never throws: a cache that cannot be used is rebuilt, or else left off.
   * `busyTimeoutMs`: how long a write waits for another process's lock before the batch is dropped (default 0:
   * a session never waits; `quicksort thumbnails` waits).
   */
  static open(file: string, options: { log?: (line: string) => void; busyTimeoutMs?: number } = {}): ThumbnailCache {
    const cache = new ThumbnailCache(file, options.log ?? (() => undefined), options.busyTimeoutMs ?? 0);
    cache.connect();
    return cache;
  }

  /** Whether thumbnails are kept on disk (false when the file could not be used even after a rebuild). */
  get enabled(): boolean {
    return this.db !== undefined;
  }

  /** A thumbnail made before (by anyone), or undefined. */
  get(hash: string, size: number): EncodedImage | undefined {
    const waiting = this.pending.get(`${hash}:${size}`);
    if (waiting) return waiting.image;
    if (!this.read) return undefined;
    let row: Row | undefined;
    try {
      row = this.read.get(hash, size) as Row | undefined;
    } catch (error) {
      this.failed(error, 'reading');
      return undefined;
    }
    if (!row) return undefined;
    if (crc32(row.bytes) !== row.crc) return undefined; // a damaged row: made again, and overwritten
    return { bytes: new Uint8Array(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength), mime: row.mime, width: row.width, height: row.height };
  }

  /** Keeps a thumbnail; written with others in one transaction a moment later (or by {@link flush}). */
  put(hash: string, size: number, image: EncodedImage): void {
    if (!this.db) return;
    this.pending.set(`${hash}:${size}`, { hash, size, image });
    if (this.pending.size >= FLUSH_ROWS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref?.();
    }
  }

  /** Writes what is waiting now. A busy or failing file drops the batch: it is a cache. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0 || !this.db) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    const db = this.db;
    try {
      const put = db.prepare('INSERT OR REPLACE INTO thumbnails (hash, size, mime, width, height, crc, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)');
      db.transaction(() => {
        for (const { hash, size, image } of batch) {
          const bytes = Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength);
          put.run(hash, size, image.mime, image.width, image.height, crc32(bytes), bytes);
        }
      })();
    } catch (error) {
      this.failed(error, 'writing');
    }
  }

  /** Thumbnails held on disk. */
  count(): number {
    try {
      return (this.db?.prepare('SELECT count(*) FROM thumbnails').pluck().get() as number | undefined) ?? 0;
    } catch {
      return 0;
    }
  }

  /** Whether the cache holds a thumbnail of this content at this size. */
  has(hash: string, size: number): boolean {
    return this.get(hash, size) !== undefined;
  }

  close(): void {
    this.flush();
    this.disconnect();
  }

  private connect(): void {
    try {
      this.db = openDatabase(this.file, this.busyTimeoutMs);
    } catch (first) {
      const code = (first as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        // Someone else holds it for long: use no disk cache this time rather than delete their file.
        this.problem = messageOf(first);
        this.log(`thumbnail cache ${this.file} is busy (${messageOf(first)}); thumbnails are not kept on disk this time`);
        return;
      }
      // Not a database, damaged, unreadable, or made by a newer version: made again, once.
      this.log(`thumbnail cache ${this.file} cannot be used (${messageOf(first)}); making it again`);
      this.problem = messageOf(first);
      this.remove();
      try {
        this.db = openDatabase(this.file, this.busyTimeoutMs);
      } catch (second) {
        this.problem = messageOf(second);
        this.log(`thumbnail cache ${this.file} is off: ${messageOf(second)}; thumbnails are made on every start`);
        this.db = undefined;
      }
    }
    this.read = this.db?.prepare('SELECT mime, width, height, crc, bytes FROM thumbnails WHERE hash = ? AND size = ?');
  }

  private disconnect(): void {
    try {
      this.db?.close();
    } catch {
      // closing a broken file: nothing left to do
    }
    this.db = undefined;
    this.read = undefined;
  }

  private remove(): void {
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        rmSync(this.file + suffix, { force: true });
      } catch {
        // left for the second open to report
      }
    }
  }

  /** SQLite said the file is damaged: rebuild it (a few times at most); another process's lock: skip. */
  private failed(error: unknown, doing: string): void {
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return;
    this.problem = messageOf(error);
    if ((code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) && this.rebuilt < 3) {
      this.rebuilt++;
      this.log(`thumbnail cache ${this.file} is damaged (${doing}: ${messageOf(error)}); making it again`);
      this.disconnect();
      this.remove();
      this.connect();
      return;
    }
    this.log(`thumbnail cache ${this.file}: ${doing} failed (${messageOf(error)}); it is off until the next start`);
    this.disconnect();
  }
}

function openDatabase(file: string, busyTimeoutMs: number): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    // Opening may wait a little for another process (a server and a kernel on the same dataset).
    db.pragma('busy_timeout = 2000');
    db.pragma('journal_mode = WAL');
    // Derived data: a power cut may lose the last batch, which is only made again.
    db.pragma('synchronous = OFF');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`it was made by a newer QuickSort (schema ${version})`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS thumbnails (
        hash TEXT NOT NULL, size INTEGER NOT NULL, mime TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
        crc INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (hash, size)
      );
    `);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    const encoding = db.prepare("SELECT value FROM meta WHERE key = 'encoding'").pluck().get() as string | undefined;
    if (encoding !== THUMBNAIL_ENCODING) {
      db.transaction(() => {
        db.exec('DELETE FROM thumbnails');
        db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('encoding', ?)").run(THUMBNAIL_ENCODING);
      })();
    }
    // From now on, a session never waits for another process's write lock: a busy batch is dropped.
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
