import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { NotFoundError, StoreError, messageOf } from '../../errors';
import { writeImmediately, type WriteLock } from '../../store';
import { decodeHalf, encodeHalf } from './float16';

/** How vectors are kept on disk: half precision (default, half the size, ~3 significant digits) or full. */
export type VectorDtype = 'float16' | 'float32';

export interface CachedModel {
  modelId: string;
  name: string;
  dim: number;
  dtype: VectorDtype;
  vectors: number;
  failures: number;
  usedAt: number;
}

/**
 * Embeddings of many items as one row-major matrix: the one shape the cache loads and the vector index, the
 * learner, the map and the export read. Owned here because embed makes it and every reader sits above embed.
 */
export interface EmbeddingMatrix {
  /** The model that made the vectors: set by the cache; matrices derived in memory (unit rows, samples) may lack it. */
  modelId?: string;
  /** Item ids, ascending; row i of `vectors` is item ids[i]. */
  ids: number[];
  dim: number;
  /** ids.length × dim floats. */
  vectors: Float32Array;
}

const SCHEMA_VERSION = 1;
const BUSY_TIMEOUT_MS = 5000;

/**
 * The embedding cache: vectors keyed by (model id, item id, content hash) in their own SQLite file beside
 * the store (derived data: deleting the file costs only a re-embed). A vector is valid while the item's
 * file hash is unchanged; another model id never sees it. Images that failed are remembered with their
 * reason under the same key and the file's size and mtime, so a second run retries only files that changed.
 *
 * @example
 * const cache = EmbeddingCache.open('photos/.quicksort/embeddings.db');
 * const { key } = cache.useModel('mobilenetv2-12-int8@3f2a…', 'mobilenetv2-12-int8', 1280);
 * cache.reader(key)(42, item.hash); // 'vector' | { failedWith: '20480:1732790000000' } | undefined
 */
export class EmbeddingCache {
  private readonly lock: WriteLock;

  private constructor(
    readonly db: Database.Database,
    readonly file: string,
  ) {
    this.lock = { file, what: 'the embedding cache', busyTimeoutMs: BUSY_TIMEOUT_MS };
  }

  /**
   * One write transaction, with the store's wait for another process's write lock: past it a retryable
   * StoreBusyError naming this file, not SQLite's bare "database is locked".
   */
  private transaction<T>(fn: () => T): T {
    return writeImmediately(this.db, this.lock, fn);
  }

  static open(file: string, options: { readonly?: boolean } = {}): EmbeddingCache {
    let db: Database.Database;
    try {
      if (!options.readonly) mkdirSync(path.dirname(file), { recursive: true });
      db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (error) {
      if (options.readonly) {
        throw new NotFoundError(`no embeddings at ${file}: run \`npx quicksort embed --dataset DIR\` or ds.embed() first`, { cause: error });
      }
      throw new StoreError(`cannot open the embedding cache ${file}: ${messageOf(error)}`, { cause: error });
    }
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      if (!options.readonly) {
        db.pragma('journal_mode = WAL');
        // Derived data: losing the last batch to a power cut only means embedding it again.
        db.pragma('synchronous = NORMAL');
        migrate(db);
      }
      return new EmbeddingCache(db, file);
    } catch (error) {
      db.close();
      throw new StoreError(`cannot use the embedding cache ${file}: ${messageOf(error)}; delete it to rebuild`, { cause: error });
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Registers a model and returns its key. Entries of models with the same name and another id (the model
   * file, tensor or preprocessing changed) are deleted: they can never be valid again. Returns how many.
   */
  useModel(modelId: string, name: string, dim: number, dtype: VectorDtype = 'float16'): { key: number; invalidated: number } {
    // Takes the write lock first: it reads before it writes, and in WAL mode a read cannot wait to become a
    // write (another process embedding at the same time would make it fail at once with "database is locked").
    return this.transaction(() => {
      const now = Date.now();
      const existing = this.db.prepare('SELECT id, dim, dtype FROM models WHERE model_id = ?').get(modelId) as { id: number; dim: number; dtype: VectorDtype } | undefined;
      let invalidated = 0;
      const stale = this.db.prepare('SELECT id FROM models WHERE name = ? AND model_id <> ?').all(name, modelId) as { id: number }[];
      for (const { id } of stale) {
        invalidated += this.db.prepare('DELETE FROM vectors WHERE model = ?').run(id).changes;
        this.db.prepare('DELETE FROM failures WHERE model = ?').run(id);
        this.db.prepare('DELETE FROM models WHERE id = ?').run(id);
      }
      if (existing && (existing.dim !== dim || existing.dtype !== dtype)) {
        // Same id, other shape or precision on disk: start the model over rather than mix rows.
        this.db.prepare('DELETE FROM vectors WHERE model = ?').run(existing.id);
        this.db.prepare('DELETE FROM failures WHERE model = ?').run(existing.id);
        this.db.prepare('UPDATE models SET dim = ?, dtype = ?, used_at = ? WHERE id = ?').run(dim, dtype, now, existing.id);
        return { key: existing.id, invalidated };
      }
      if (existing) {
        this.db.prepare('UPDATE models SET used_at = ? WHERE id = ?').run(now, existing.id);
        return { key: existing.id, invalidated };
      }
      const key = Number(
        this.db.prepare('INSERT INTO models (model_id, name, dim, dtype, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?)').run(modelId, name, dim, dtype, now, now)
          .lastInsertRowid,
      );
      return { key, invalidated };
    });
  }

  /**
   * Prepared lookups for one model, for the hot loop of a run: `vector` when the item's vector is cached
   * for this content hash; for a remembered failure, the file signature (size and mtime) it failed with.
   */
  reader(key: number): (itemId: number, hash: string) => 'vector' | { failedWith: string } | undefined {
    const vector = this.db.prepare('SELECT hash FROM vectors WHERE model = ? AND item_id = ?').pluck();
    const failure = this.db.prepare('SELECT hash, signature FROM failures WHERE model = ? AND item_id = ?');
    return (itemId, hash) => {
      if (vector.get(key, itemId) === hash) return 'vector';
      const failed = failure.get(key, itemId) as { hash: string; signature: string } | undefined;
      return failed?.hash === hash ? { failedWith: failed.signature } : undefined;
    };
  }

  /** Writes a batch of results in one transaction. */
  write(
    key: number,
    dtype: VectorDtype,
    entries: ({ itemId: number; hash: string } & ({ vector: Float32Array } | { reason: string; signature: string }))[],
  ): void {
    const putVector = this.db.prepare(
      'INSERT INTO vectors (model, item_id, hash, vector) VALUES (?, ?, ?, ?) ON CONFLICT(model, item_id) DO UPDATE SET hash = excluded.hash, vector = excluded.vector',
    );
    const dropFailure = this.db.prepare('DELETE FROM failures WHERE model = ? AND item_id = ?');
    const putFailure = this.db.prepare(
      `INSERT INTO failures (model, item_id, hash, signature, reason) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(model, item_id) DO UPDATE SET hash = excluded.hash, signature = excluded.signature, reason = excluded.reason`,
    );
    const dropVector = this.db.prepare('DELETE FROM vectors WHERE model = ? AND item_id = ?');
    this.transaction(() => {
      for (const entry of entries) {
        if ('vector' in entry) {
          putVector.run(key, entry.itemId, entry.hash, toBlob(entry.vector, dtype));
          dropFailure.run(key, entry.itemId);
        } else {
          putFailure.run(key, entry.itemId, entry.hash, entry.signature, entry.reason);
          dropVector.run(key, entry.itemId);
        }
      }
    });
  }

  /** Failures remembered for a model, with their reasons. */
  failures(modelId: string): { itemId: number; hash: string; reason: string }[] {
    return this.db
      .prepare('SELECT f.item_id AS itemId, f.hash, f.reason FROM failures f JOIN models m ON m.id = f.model WHERE m.model_id = ? ORDER BY f.item_id')
      .all(modelId) as { itemId: number; hash: string; reason: string }[];
  }

  models(): CachedModel[] {
    return this.db
      .prepare(
        `SELECT model_id AS modelId, name, dim, dtype, used_at AS usedAt,
          (SELECT count(*) FROM vectors v WHERE v.model = m.id) AS vectors,
          (SELECT count(*) FROM failures f WHERE f.model = m.id) AS failures
         FROM models m ORDER BY used_at DESC, id DESC`,
      )
      .all() as CachedModel[];
  }

  /**
   * All vectors of a model (the most recently used one by default) as one matrix, in item id order. With
   * `current`, only items whose hash is still the one given (the store's view) are kept; with `ids`, only
   * those items.
   */
  load(options: { modelId?: string; current?: Map<number, string>; ids?: ReadonlySet<number> } = {}): EmbeddingMatrix {
    const model = this.modelFor(options.modelId);
    const rows = this.db
      .prepare('SELECT v.item_id AS itemId, v.hash, v.vector FROM vectors v JOIN models m ON m.id = v.model WHERE m.model_id = ? ORDER BY v.item_id')
      .iterate(model.modelId) as IterableIterator<{ itemId: number; hash: string; vector: Buffer }>;
    const ids: number[] = [];
    // With `ids`, memory is bounded by the subset, not the cache (a 20k sample of 1M vectors).
    let vectors = new Float32Array(Math.max(1, Math.min(model.vectors, options.ids?.size ?? Infinity)) * model.dim);
    for (const row of rows) {
      if (options.ids && !options.ids.has(row.itemId)) continue;
      if (options.current && options.current.get(row.itemId) !== row.hash) continue;
      const offset = ids.length * model.dim;
      if (offset + model.dim > vectors.length) {
        const grown = new Float32Array(vectors.length * 2);
        grown.set(vectors);
        vectors = grown;
      }
      fromBlob(row.vector, model.dtype, model.dim, vectors, offset);
      ids.push(row.itemId);
    }
    return { modelId: model.modelId, ids, dim: model.dim, vectors: vectors.slice(0, ids.length * model.dim) };
  }

  /**
   * The item ids (ascending) that have a vector of a model, read without the vectors: what to sample from
   * before loading only the sample. `current` filters as in {@link load}.
   */
  itemIds(options: { modelId?: string; current?: Map<number, string> } = {}): { modelId: string; dim: number; ids: number[] } {
    const model = this.modelFor(options.modelId);
    const rows = this.db
      .prepare('SELECT v.item_id AS itemId, v.hash FROM vectors v JOIN models m ON m.id = v.model WHERE m.model_id = ? ORDER BY v.item_id')
      .iterate(model.modelId) as IterableIterator<{ itemId: number; hash: string }>;
    const ids: number[] = [];
    for (const row of rows) if (!options.current || options.current.get(row.itemId) === row.hash) ids.push(row.itemId);
    return { modelId: model.modelId, dim: model.dim, ids };
  }

  private modelFor(modelId: string | undefined): CachedModel {
    const models = this.models();
    const model = modelId ? models.find((m) => m.modelId === modelId) : models[0];
    if (!model) {
      const known = models.map((m) => m.modelId).join(', ');
      throw new NotFoundError(
        modelId
          ? `no embeddings of model ${modelId} in ${this.file}${known ? `; it holds ${known}` : ''}`
          : `no embeddings in ${this.file}: run \`npx quicksort embed --dataset DIR\` or ds.embed() first`,
      );
    }
    return model;
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) throw new Error(`the file was written by a newer QuickSort (schema ${version}; this one knows ${SCHEMA_VERSION})`);
  db.exec(`
    CREATE TABLE IF NOT EXISTS models (
      id INTEGER PRIMARY KEY,
      model_id TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL,
      dim INTEGER NOT NULL,
      dtype TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      used_at INTEGER NOT NULL
    );
    -- A rowid table: vectors of a few kilobytes make poor WITHOUT ROWID rows.
    CREATE TABLE IF NOT EXISTS vectors (
      model INTEGER NOT NULL REFERENCES models(id),
      item_id INTEGER NOT NULL,
      hash TEXT NOT NULL,
      vector BLOB NOT NULL,
      UNIQUE (model, item_id)
    );
    CREATE TABLE IF NOT EXISTS failures (
      model INTEGER NOT NULL REFERENCES models(id),
      item_id INTEGER NOT NULL,
      hash TEXT NOT NULL,
      -- The file's size and mtime when it failed: a file repaired in place (same hash in the store, which
      -- may predate the damage) is tried again.
      signature TEXT NOT NULL,
      reason TEXT NOT NULL,
      PRIMARY KEY (model, item_id)
    ) WITHOUT ROWID;
  `);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

function toBlob(vector: Float32Array, dtype: VectorDtype): Buffer {
  const typed: ArrayBufferView = dtype === 'float16' ? encodeHalf(vector) : vector;
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
}

function fromBlob(blob: Buffer, dtype: VectorDtype, dim: number, out: Float32Array, offset: number): void {
  // SQLite hands back blobs at any byte offset: copy into an aligned array before viewing as numbers.
  const aligned = new Uint8Array(blob.byteLength);
  aligned.set(blob);
  if (dtype === 'float16') decodeHalf(new Uint16Array(aligned.buffer, 0, dim), out, offset);
  else out.set(new Float32Array(aligned.buffer, 0, dim), offset);
}
