import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { messageOf } from '../errors';
import type { VlmAnswer } from './types';

/** The VLM cache's file name, beside the store: `DIR/.quicksort/vlm-cache.db` for the default store. */
export const VLM_CACHE_FILE_NAME = 'vlm-cache.db';

export function vlmCachePath(storeFile: string): string {
  return path.join(path.dirname(storeFile), VLM_CACHE_FILE_NAME);
}

/** An answer as the cache keeps it: what the server said, not how long it took this time. */
export type CachedAnswer = Pick<VlmAnswer, 'text' | 'json' | 'usage' | 'confidence'>;

/** What the VLM assist cost: requests sent, images in them, tokens, time, and the requests the cache saved. */
export interface VlmCost {
  requests: number;
  images: number;
  promptTokens: number;
  completionTokens: number;
  /** Wall time of the answered requests, summed (they run concurrently: more than the run took). */
  seconds: number;
  cacheHits: number;
  /** Requests that failed after their retries. */
  failures: number;
}

/** The cost of everything the dataset asked of VLMs, in all and per model. */
export interface VlmStats extends VlmCost {
  models: Record<string, VlmCost>;
  /** The file it is kept in. */
  file: string;
}

export function emptyCost(): VlmCost {
  return { requests: 0, images: 0, promptTokens: 0, completionTokens: 0, seconds: 0, cacheHits: 0, failures: 0 };
}

const COST_KEYS = Object.keys(emptyCost()) as (keyof VlmCost)[];

export function addCost<Total extends VlmCost>(total: Total, more: VlmCost): Total {
  for (const key of COST_KEYS) total[key] += more[key];
  return total;
}

const SCHEMA_VERSION = 1;
const COST_COLUMNS = ['requests', 'images', 'prompt_tokens', 'completion_tokens', 'seconds', 'cache_hits', 'failures'] as const;

/**
 * The VLM's answers keyed by (model, prompt digest), and the running cost of asking, in their own SQLite file
 * beside the store (derived data, like the thumbnail cache: deleting it only costs asking again), so a rerun
 * asks nothing twice. It never endangers the labels or the run: a file that cannot be used is made again,
 * and if that fails too the cache is off (every prompt is asked; the cost is not kept) and {@link problem} says why.
 *
 * @example
 * const cache = VlmCache.open(vlmCachePath(store.file));
 * cache.get(model, digest) ?? cache.put(model, digest, answer);
 */
export class VlmCache {
  private db: Database.Database | undefined;
  problem: string | undefined;

  private constructor(readonly file: string) {}

  static open(file: string): VlmCache {
    const cache = new VlmCache(file);
    try {
      cache.db = connect(file);
    } catch (error) {
      cache.problem = `the VLM cache ${file} could not be used (${messageOf(error)}); made again`;
      try {
        for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
        cache.db = connect(file);
      } catch (again) {
        cache.problem = `the VLM cache ${file} is off: ${messageOf(again)}`;
      }
    }
    return cache;
  }

  get enabled(): boolean {
    return this.db !== undefined;
  }

  get(model: string, digest: string): CachedAnswer | undefined {
    const row = this.safely(() => this.db?.prepare('SELECT answer FROM answers WHERE model = ? AND digest = ?').pluck().get(model, digest) as string | undefined);
    if (row === undefined) return undefined;
    try {
      return JSON.parse(row) as CachedAnswer;
    } catch {
      return undefined; // a damaged row is a miss: asked again, and overwritten
    }
  }

  put(model: string, digest: string, answer: CachedAnswer): void {
    const kept: CachedAnswer = { text: answer.text, json: answer.json, usage: answer.usage, confidence: answer.confidence };
    this.safely(() => this.db?.prepare('INSERT OR REPLACE INTO answers (model, digest, answer, time) VALUES (?, ?, ?, ?)').run(model, digest, JSON.stringify(kept), Date.now()));
  }

  /** Adds a run's cost to the model's running total. */
  addCost(model: string, cost: VlmCost): void {
    const values = costValues(cost);
    this.safely(() =>
      this.db
        ?.prepare(
          `INSERT INTO costs (model, ${COST_COLUMNS.join(', ')}) VALUES (?, ${COST_COLUMNS.map(() => '?').join(', ')})
           ON CONFLICT (model) DO UPDATE SET ${COST_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
        )
        .run(model, ...values),
    );
  }

  stats(): VlmStats {
    const total: VlmStats = { ...emptyCost(), models: {}, file: this.file };
    const rows = (this.safely(() => this.db?.prepare(`SELECT model, ${COST_COLUMNS.join(', ')} FROM costs ORDER BY model`).all()) ?? []) as Record<string, number | string>[];
    for (const row of rows) {
      const cost: VlmCost = {
        requests: Number(row.requests),
        images: Number(row.images),
        promptTokens: Number(row.prompt_tokens),
        completionTokens: Number(row.completion_tokens),
        seconds: Number(row.seconds),
        cacheHits: Number(row.cache_hits),
        failures: Number(row.failures),
      };
      total.models[String(row.model)] = cost;
      addCost(total, cost);
    }
    return total;
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }

  private safely<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      // A busy or failing cache costs requests, never the run.
      this.problem = `the VLM cache ${this.file}: ${messageOf(error)}`;
      return undefined;
    }
  }
}

function costValues(cost: VlmCost): number[] {
  return [cost.requests, cost.images, cost.promptTokens, cost.completionTokens, cost.seconds, cost.cacheHits, cost.failures];
}

function connect(file: string): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 2000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== 0 && version !== SCHEMA_VERSION) throw new Error(`schema version ${version}, expected ${SCHEMA_VERSION}`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS answers (model TEXT NOT NULL, digest TEXT NOT NULL, answer TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (model, digest)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS costs (model TEXT PRIMARY KEY, ${COST_COLUMNS.map((c) => `${c} REAL NOT NULL DEFAULT 0`).join(', ')});
    `);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
