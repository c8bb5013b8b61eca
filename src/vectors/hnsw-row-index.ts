import { Index, MetricKind, ScalarKind } from 'usearch';
import type { EmbeddingMatrix } from '../embed';
import { messageOf } from '../errors';
import { VectorIndexError } from './errors';
import { dotAt } from './exact-scan';
import { overSampledRows } from './over-sample';
import { ExactRowIndex, type RowFilter, type RowHit, type RowIndex } from './row-index';
import { DEFAULT_HNSW, defaultExactThreshold, NATIVE_SPEEDUP } from './usearch-index';
import type { HnswParameters } from './usearch-files';

export interface HnswRowIndexOptions {
  /** Stops the graph's build (the index keeps answering by the exact scan). */
  signal?: AbortSignal;
  hnsw?: Partial<HnswParameters>;
  /** Threads inserting into the graph (default 0: every core; 1 gives the same graph every time). */
  insertThreads?: number;
  /**
   * A filter keeping at most a quarter of this many rows is scanned instead of searched in the graph, as in
   * {@link UsearchIndexConfig.exactThreshold} (default {@link defaultExactThreshold}: 13,107 rows at 1280-d).
   */
  exactThreshold?: number;
}

/** How long one synchronous slice of the build may hold the event loop (inserting is native, blocking work). */
const SLICE_MS = 50;
const FIRST_SLICE = 16;
const MAX_SLICE = 8192;

/**
 * An HNSW graph (usearch) over the rows of a matrix of unit vectors, keyed by row. Building costs about 2 ms of
 * CPU per 1280-d row (bench/results/vectors.md), minutes at 100k rows, so it goes on in the background in
 * slices of about {@link SLICE_MS}, with a turn of the event loop between them; until the last row is in,
 * searches are the exact scan and {@link indexed} is false. Graph hits are rescored exactly, so a row gets the
 * same score whichever path found it.
 *
 * @example
 * const index = new HnswRowIndex(unitRows, { signal });
 * await index.built;
 * index.search(query, 10, { accept: (row) => !labeled[row], matches: unlabeled });
 */
export class HnswRowIndex implements RowIndex {
  /** Settles when the graph holds every row (or the build was stopped); rejects with a {@link VectorIndexError} if usearch failed. */
  readonly built: Promise<void>;
  private readonly exact: ExactRowIndex;
  private readonly native: Index;
  private readonly exactThreshold: number;
  private added = 0;
  private stopped = false;

  constructor(
    private readonly matrix: EmbeddingMatrix,
    options: HnswRowIndexOptions = {},
  ) {
    const hnsw = { ...DEFAULT_HNSW, ...options.hnsw };
    this.exact = new ExactRowIndex(matrix);
    this.exactThreshold = options.exactThreshold ?? defaultExactThreshold(matrix.dim);
    this.native = new Index({
      dimensions: matrix.dim,
      metric: MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity: hnsw.connectivity,
      expansion_add: hnsw.expansionAdd,
      expansion_search: hnsw.expansionSearch,
      multi: false,
    });
    if (options.signal?.aborted) this.close();
    else options.signal?.addEventListener('abort', () => this.close(), { once: true });
    this.built = this.build(options.insertThreads ?? 0);
    // A failed build leaves a correct (exact) index: whoever awaits `built` hears of it, nobody else must.
    this.built.catch(() => undefined);
  }

  get indexed(): boolean {
    return this.added === this.matrix.ids.length;
  }

  search(query: Float32Array, k: number, filter?: RowFilter): RowHit[] {
    const size = this.matrix.ids.length;
    const matches = Math.max(1, Math.min(filter?.matches ?? size, size));
    // A filter that keeps few rows (the labeled ones, for the reference strip) is scanned: the scan scores only
    // those, while the graph would have to over-sample most of the set to find them (as UsearchIndex decides).
    if (!this.indexed || matches * NATIVE_SPEEDUP <= this.exactThreshold) return this.exact.search(query, k, filter);
    const compiled = { test: filter?.accept ?? null, matches, excludedRows: 0 };
    // usearch 2.25 reads typed arrays from the start of their buffer (see nativeTopK): a row view must be copied.
    const needle = query.byteOffset === 0 ? query : query.slice();
    const rows = overSampledRows((wanted) => this.native.search(needle, wanted, 1).keys, (key) => Number(key), k, size, compiled);
    return rows ? this.rescored(query, k, rows) : this.exact.search(query, k, filter);
  }

  close(): void {
    this.stopped = true;
  }

  /** The best `k` of the graph's candidates, scored and ordered as the exact scan scores and orders them. */
  private rescored(query: Float32Array, k: number, rows: Int32Array): RowHit[] {
    const { vectors, dim } = this.matrix;
    const hits = Array.from(rows, (row) => ({ row, score: dotAt(vectors, row * dim, query, dim) }));
    return hits.sort((a, b) => b.score - a.score || a.row - b.row).slice(0, k);
  }

  private async build(threads: number): Promise<void> {
    const { dim, vectors } = this.matrix;
    const rows = this.matrix.ids.length;
    let slice = FIRST_SLICE;
    while (this.added < rows) {
      // The first turn comes before any work, so the constructor returns at once.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.stopped) return;
      const began = performance.now();
      const end = Math.min(rows, this.added + slice);
      const keys = new BigUint64Array(end - this.added);
      for (let i = 0; i < keys.length; i++) keys[i] = BigInt(this.added + i);
      try {
        // A copy: the rows may live in shared memory or start past their buffer's beginning (see above).
        this.native.add(keys, vectors.slice(this.added * dim, end * dim), threads);
      } catch (error) {
        this.stopped = true;
        throw new VectorIndexError('usearch', `building the neighbour graph failed at row ${this.added} of ${rows}: ${messageOf(error)}; searches stay exact`, { cause: error });
      }
      this.added = end;
      const elapsed = Math.max(performance.now() - began, 0.1);
      slice = Math.min(MAX_SLICE, Math.max(1, Math.round((slice * SLICE_MS) / elapsed)));
    }
  }
}
