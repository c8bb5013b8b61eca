import { mkdirSync } from 'node:fs';
import { Index, MetricKind, ScalarKind } from 'usearch';
import { InvalidArgumentError, messageOf } from '../errors';
import { VectorIndexError } from './errors';
import { exactTopK, nativeTopK, unitCopy, type TopK } from './exact-scan';
import { overSampledRows } from './over-sample';
import { PointTable, type CompiledFilter } from './point-table';
import { checkManifestShape, loadGeneration, readManifest, saveGeneration, type HnswParameters } from './usearch-files';
import { checkFilter, checkIds, checkK, checkPartialPayload, checkPoints, checkShape, checkVector, type IndexShape } from './validate';
import { EMPTY_PAYLOAD, type PointFilter, type PointPayload, type SearchHit, type VectorIndex, type VectorMetric, type VectorPoint } from './vector-index';

export interface UsearchIndexConfig {
  kind: 'usearch';
  /** The folder the index lives in, beside the store; created when missing. */
  dir: string;
  dim: number;
  metric: VectorMetric;
  /**
   * Up to this many points a search scans them exactly instead of walking the graph: exact results for a few
   * ms. A filter that keeps few points is scanned exactly too, when its matches are under a quarter of this
   * (they are scanned in JavaScript, about 4× slower per point than usearch's native scan of the whole set).
   * Default {@link defaultExactThreshold}: 13,107 points at 1280-d, 65,536 at 256-d.
   */
  exactThreshold?: number;
  /** HNSW edges per node (usearch's connectivity, M). Baked into the graph: only used when the index is new. */
  connectivity?: number;
  /** Beam width while inserting (ef_construction). */
  expansionAdd?: number;
  /** Beam width while searching (ef); raise it for recall, lower it for speed. */
  expansionSearch?: number;
  /**
   * Threads inserting into the graph (default 0: every core). Concurrent insertion is nondeterministic and
   * now and then links a node worse than one thread does: 1 gives the same graph every time, at the cost of
   * build speed.
   */
  insertThreads?: number;
}

/**
 * Multiply-adds an exact search may spend by default: about 3 ms of usearch's native scan on the 2-core CI
 * machine, the cost of a graph search at 10k × 1280-d (bench/results/vectors.md). The scan's cost is points ×
 * dim, so the point threshold follows the dim.
 */
export const EXACT_SCAN_BUDGET = 1 << 24;

/** The default {@link UsearchIndexConfig.exactThreshold} for a dim: the points the scan budget covers. */
export function defaultExactThreshold(dim: number): number {
  return Math.floor(EXACT_SCAN_BUDGET / dim);
}
export const DEFAULT_HNSW: HnswParameters = { connectivity: 16, expansionAdd: 128, expansionSearch: 128 };

/**
 * How much faster usearch's native scan is than the JavaScript one per point (4-6× measured at 1280-d, on
 * both cores; bench/results/vectors.md). A filter keeping at least 1/NATIVE_SPEEDUP of the points is scanned
 * natively over all rows, rows it drops included; a more selective one is scanned in JavaScript, match by match.
 */
export const NATIVE_SPEEDUP = 4;

/** How long one synchronous graph insertion may hold the event loop; see {@link UsearchIndex.upsert}. */
const SLICE_MS = 50;
const FIRST_SLICE = 16;
const MAX_SLICE = 8192;

/**
 * The embedded default: an HNSW graph (usearch) for large sets, an exact scan for small ones and for filters
 * that leave few candidates, payload held in JavaScript columns. Saved beside the store and reloaded with
 * usearch's load(), so reopening costs a file read, not a rebuild.
 *
 * Cosine indexes store unit vectors and search by inner product, so graph and scan rank identically, and the
 * scores of graph hits are recomputed from the stored rows: every path reports the same score for a point.
 *
 * @example
 * const index = await UsearchIndex.open({ kind: 'usearch', dir: 'photos/.quicksort/vectors', dim: 1280, metric: 'cosine' });
 * await index.upsert(points);
 * const unlabeled = await index.search(query, 10, { labeled: false });
 * await index.close(); // saves
 */
export class UsearchIndex implements VectorIndex {
  readonly dim: number;
  readonly metric: VectorMetric;
  readonly dir: string;
  readonly exactThreshold: number;
  readonly hnsw: HnswParameters;
  private readonly insertThreads: number;
  private native: Index | null;
  private table: PointTable;
  private dirty: boolean;
  private broken: string | null = null;

  private constructor(config: Required<Omit<UsearchIndexConfig, 'kind'>>, native: Index, table: PointTable, dirty: boolean) {
    this.dim = config.dim;
    this.metric = config.metric;
    this.dir = config.dir;
    this.exactThreshold = config.exactThreshold;
    this.insertThreads = config.insertThreads;
    this.hnsw = { connectivity: config.connectivity, expansionAdd: config.expansionAdd, expansionSearch: config.expansionSearch };
    this.native = native;
    this.table = table;
    this.dirty = dirty;
  }

  /** Opens the index saved in `config.dir`, or starts an empty one there. */
  static async open(config: UsearchIndexConfig): Promise<UsearchIndex> {
    const { dim, metric } = checkShape(config.dim, config.metric);
    if (typeof config.dir !== 'string' || config.dir === '') throw new InvalidArgumentError(`usearch index needs a folder (dir); got ${JSON.stringify(config.dir)}`);
    const full = {
      dir: config.dir,
      dim,
      metric,
      exactThreshold: checkCount(config.exactThreshold ?? defaultExactThreshold(dim), 'exactThreshold', true),
      connectivity: checkCount(config.connectivity ?? DEFAULT_HNSW.connectivity, 'connectivity'),
      expansionAdd: checkCount(config.expansionAdd ?? DEFAULT_HNSW.expansionAdd, 'expansionAdd'),
      expansionSearch: checkCount(config.expansionSearch ?? DEFAULT_HNSW.expansionSearch, 'expansionSearch'),
      insertThreads: checkCount(config.insertThreads ?? 0, 'insertThreads', true),
    };
    try {
      mkdirSync(config.dir, { recursive: true });
    } catch (error) {
      throw new VectorIndexError('usearch', `cannot create the vector index folder ${config.dir}: ${messageOf(error)}`, { cause: error });
    }
    // Inner product on unit vectors is cosine; see the class comment.
    const native = new Index({
      dimensions: dim,
      metric: MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity: full.connectivity,
      expansion_add: full.expansionAdd,
      expansion_search: full.expansionSearch,
      multi: false,
    });
    const manifest = readManifest(config.dir);
    if (manifest === null) return new UsearchIndex(full, native, new PointTable(dim), true);
    checkManifestShape(manifest, config.dir, dim, metric);
    return new UsearchIndex(full, native, loadGeneration(config.dir, manifest, native), false);
  }

  /**
   * Inserting into the graph is synchronous native work (1-4 ms per point at 1280-d on the CI box), so a
   * large batch goes in slices sized to about {@link SLICE_MS} with a turn of the event loop between them: a
   * labeling session keeps answering while embeddings stream in. Each slice is applied whole (graph and table
   * together), so a search between slices sees a consistent, partly filled index.
   */
  async upsert(points: readonly VectorPoint[]): Promise<void> {
    this.usable();
    checkPoints(points, this.shape());
    // The last occurrence of an id in a batch wins, as repeated upserts would.
    const latest = [...new Map(points.map((point) => [point.id, point])).values()];
    let slice = FIRST_SLICE;
    for (let start = 0; start < latest.length; ) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      const began = performance.now();
      this.upsertSlice(latest.slice(start, start + slice));
      start += slice;
      const elapsed = Math.max(performance.now() - began, 0.1);
      slice = Math.min(MAX_SLICE, Math.max(1, Math.round((slice * SLICE_MS) / elapsed)));
    }
  }

  private upsertSlice(points: readonly VectorPoint[]): void {
    const native = this.usable();
    const replaced = points.filter((point) => this.table.rowOf(point.id) !== undefined).map((point) => BigInt(point.id));
    const keys = BigUint64Array.from(points, (point) => BigInt(point.id));
    const vectors = new Float32Array(points.length * this.dim);
    points.forEach((point, i) => vectors.set(this.metric === 'cosine' ? unitCopy(point.vector) : point.vector, i * this.dim));
    this.dirty = true;
    this.guard('upsert', () => {
      // usearch refuses duplicate keys, so a replaced point leaves the graph before its new vector enters.
      if (replaced.length > 0) native.remove(BigUint64Array.from(replaced));
      native.add(keys, vectors, this.insertThreads);
    });
    points.forEach((point, i) => this.table.put(point.id, vectors.subarray(i * this.dim, (i + 1) * this.dim), point.payload ?? EMPTY_PAYLOAD));
  }

  async setPayload(ids: readonly number[], payload: Partial<PointPayload>): Promise<void> {
    this.usable();
    checkIds(ids);
    checkPartialPayload(payload);
    for (const id of ids) {
      const row = this.table.rowOf(id);
      if (row === undefined) continue;
      this.table.setPayload(row, payload);
      this.dirty = true;
    }
  }

  async delete(ids: readonly number[]): Promise<void> {
    const native = this.usable();
    checkIds(ids);
    const present = ids.filter((id) => this.table.remove(id));
    if (present.length === 0) return;
    this.dirty = true;
    this.guard('delete', () => native.remove(BigUint64Array.from(present, (id) => BigInt(id))));
  }

  /** Exact for small sets and selective filters, the HNSW graph otherwise. */
  async search(vector: Float32Array, k: number, filter?: PointFilter): Promise<SearchHit[]> {
    const { query, compiled } = this.prepare(vector, k, filter);
    if (compiled.matches === 0) return [];
    if (this.table.size <= this.exactThreshold || compiled.matches * NATIVE_SPEEDUP <= this.exactThreshold) return this.exact(query, k, compiled);
    return this.approximate(query, k, compiled);
  }

  /** Always the exact scan (of the points that pass `filter`): the reference the graph is measured against. */
  async searchExact(vector: Float32Array, k: number, filter?: PointFilter): Promise<SearchHit[]> {
    const { query, compiled } = this.prepare(vector, k, filter);
    return compiled.matches === 0 ? [] : this.exact(query, k, compiled);
  }

  /** Always the HNSW graph (over-sampled under a filter, with the exact scan as the last resort). */
  async searchApproximate(vector: Float32Array, k: number, filter?: PointFilter): Promise<SearchHit[]> {
    const { query, compiled } = this.prepare(vector, k, filter);
    return compiled.matches === 0 ? [] : this.approximate(query, k, compiled);
  }

  async count(): Promise<number> {
    this.usable();
    return this.table.size;
  }

  /** The payload stored for an id, or undefined when the id is not in the index. */
  payloadOf(id: number): PointPayload | undefined {
    this.usable();
    const row = this.table.rowOf(id);
    return row === undefined ? undefined : this.table.payloadAt(row);
  }

  async save(): Promise<void> {
    const native = this.usable();
    if (!this.dirty) return;
    saveGeneration(this.dir, this.table, native, this.metric, this.hnsw);
    this.dirty = false;
  }

  async close(): Promise<void> {
    if (this.native === null) return;
    if (this.broken === null) await this.save();
    // Dropping the reference lets the native graph be freed; the binding has no explicit release.
    this.native = null;
    this.table = new PointTable(this.dim);
  }

  private prepare(vector: Float32Array, k: number, filter: PointFilter | undefined): { query: Float32Array; compiled: CompiledFilter } {
    this.usable();
    checkVector(vector, this.shape());
    checkK(k);
    const compiled = this.table.compile(checkFilter(filter));
    return { query: this.metric === 'cosine' ? unitCopy(vector) : vector, compiled };
  }

  /**
   * The exact scan. Whole matrix: usearch's native scan. Under a filter that keeps a large share, the native
   * scan over-samples (if k matches are among the global top k', they are the top k matches; exact, not
   * approximate), else the JavaScript scan visits just the matching rows.
   */
  private exact(query: Float32Array, k: number, compiled: CompiledFilter): SearchHit[] {
    const { table, dim } = this;
    const size = table.size;
    const test = compiled.test;
    if (test === null) return this.rescored(query, k, nativeTopK(table.matrix, dim, query, k, size));
    if (compiled.matches * NATIVE_SPEEDUP >= size) {
      const wanted = Math.ceil((k * size * 1.5) / compiled.matches) + compiled.excludedRows;
      const rows = nativeTopK(table.matrix, dim, query, wanted, size).filter((row) => test(row));
      if (rows.length >= Math.min(k, compiled.matches)) return this.rescored(query, k, rows);
    }
    return this.hits(exactTopK(table.matrix, dim, query, k, { rows: table.rowsWhere(test) }));
  }

  /** The best `k` of candidate rows, scored in JavaScript. */
  private rescored(query: Float32Array, k: number, rows: Int32Array): SearchHit[] {
    return this.hits(exactTopK(this.table.matrix, this.dim, query, k, { rows }));
  }

  /** The graph search, over-sampled under a filter (see {@link overSampledRows}), with the exact scan as the last resort. */
  private approximate(query: Float32Array, k: number, compiled: CompiledFilter): SearchHit[] {
    const native = this.usable();
    const { table } = this;
    const search = (wanted: number) => this.guard('search', () => native.search(query, wanted, 1)).keys;
    const rows = overSampledRows(search, (key) => table.rowOf(Number(key)), k, table.size, compiled);
    // Exact scores for the candidates: the same number for a point whichever path found it.
    return rows ? this.rescored(query, k, rows) : this.exact(query, k, compiled);
  }

  private hits(top: TopK): SearchHit[] {
    const hits = Array.from(top.rows, (row, i) => ({ id: this.table.ids[row]!, score: top.scores[i]! }));
    // Ties break by id so that every implementation orders equal scores the same way.
    return hits.sort((a, b) => b.score - a.score || a.id - b.id);
  }

  private shape(): IndexShape {
    return { dim: this.dim, metric: this.metric };
  }

  private usable(): Index {
    if (this.native === null) throw new VectorIndexError('usearch', `the vector index in ${this.dir} is closed; open it again with openVectorIndex()`);
    if (this.broken !== null) {
      throw new VectorIndexError('usearch', `the vector index in ${this.dir} is unusable after a failed ${this.broken}; open it again (the last save is intact) or rebuild it from the store`);
    }
    return this.native;
  }

  /** Runs a native call; a failure there may leave graph and table apart, so the index refuses further use. */
  private guard<T>(operation: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (operation !== 'search') this.broken = operation;
      throw new VectorIndexError('usearch', `usearch ${operation} failed in ${this.dir}: ${messageOf(error)}`, { cause: error });
    }
  }
}

function checkCount(value: unknown, name: string, allowZero = false): number {
  const ok = typeof value === 'number' && (Number.isInteger(value) || value === Infinity) && (allowZero ? value >= 0 : value >= 1);
  if (!ok) throw new InvalidArgumentError(`usearch ${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer; got ${String(value)}`);
  return value as number;
}
