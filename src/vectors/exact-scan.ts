import { exactSearch, MetricKind, type Matches } from 'usearch';

/**
 * Exact top-k by inner product over a row-major Float32Array: the answer for small sets, for filters that leave
 * few candidates, and the yardstick the approximate index is measured against. Cosine callers store unit rows
 * and pass a unit query, so the inner product is the cosine similarity.
 *
 * Two scans: {@link exactTopK} in JavaScript, over all leading rows or any subset of rows (no copy), and
 * {@link nativeTopK}, usearch's SIMD scan on both cores, over all leading rows only. bench/results/vectors.md
 * has the native one 4-6× faster at 1280-d, so the index uses it for whole-matrix scans and keeps the
 * JavaScript one for subsets, where skipping rows beats scanning them fast.
 *
 * @example
 * const best = exactTopK(matrix, 1280, query, 10, { rowCount: 5000 });   // rows 0..4999
 * const some = exactTopK(matrix, 1280, query, 10, { rows: candidateRows }); // only these rows
 */

export interface TopK {
  /** Row numbers, best first. */
  rows: Int32Array;
  scores: Float32Array;
}

/** Which rows to scan: the first `rowCount`, or exactly `rows`. */
export type ScanRows = { rowCount: number } | { rows: Int32Array };

export function exactTopK(matrix: Float32Array, dim: number, query: Float32Array, k: number, scan: ScanRows): TopK {
  const heap = new MinHeap(k);
  if ('rows' in scan) {
    const { rows } = scan;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      heap.offer(dotAt(matrix, row * dim, query, dim), row);
    }
  } else {
    for (let row = 0; row < scan.rowCount; row++) heap.offer(dotAt(matrix, row * dim, query, dim), row);
  }
  return heap.sorted();
}

/**
 * Inner product of `query` with the `dim` values of `matrix` at `offset`. Four accumulators let V8 keep the
 * loop in registers and break the add dependency chain; measured about twice as fast as one accumulator at 1280-d.
 * They are summed left to right, as the learner always summed them: its pinned results depend on the last bit.
 */
export function dotAt(matrix: Float32Array, offset: number, query: Float32Array, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  let o = offset;
  for (; j + 3 < dim; j += 4, o += 4) {
    s0 += matrix[o]! * query[j]!;
    s1 += matrix[o + 1]! * query[j + 1]!;
    s2 += matrix[o + 2]! * query[j + 2]!;
    s3 += matrix[o + 3]! * query[j + 3]!;
  }
  for (; j < dim; j++, o++) s0 += matrix[o]! * query[j]!;
  return s0 + s1 + s2 + s3;
}

/** Below this many multiply-adds a second thread costs more to start than it saves (~0.2 ms per call). */
const NATIVE_THREADS_FROM = 1 << 21;

/**
 * The `k` best of the first `rowCount` rows, best first, by usearch's exactSearch. Returns row numbers only:
 * callers recompute scores with {@link dotAt}, so every path reports identical numbers.
 */
export function nativeTopK(matrix: Float32Array, dim: number, query: Float32Array, k: number, rowCount: number): Int32Array {
  const count = Math.min(k, rowCount);
  if (count === 0) return new Int32Array(0);
  // usearch 2.25's exactSearch reads typed arrays from the start of their buffer, ignoring byteOffset (a view
  // of row 2 is searched as row 0), so both arguments must start their buffers; a prefix view is fine.
  const dataset = matrix.byteOffset === 0 ? matrix.subarray(0, rowCount * dim) : matrix.slice(0, rowCount * dim);
  const needle = query.byteOffset === 0 ? query : query.slice();
  const threads = rowCount * dim >= NATIVE_THREADS_FROM ? 0 : 1;
  const matches = exactSearch(dataset, needle, dim, count, MetricKind.IP, threads) as Matches;
  return Int32Array.from(matches.keys, (key) => Number(key));
}

/** A copy of `vector` scaled to unit length (the caller has refused zero vectors). */
export function unitCopy(vector: Float32Array): Float32Array {
  let sum = 0;
  for (let j = 0; j < vector.length; j++) sum += vector[j]! * vector[j]!;
  const scale = 1 / Math.sqrt(sum);
  const out = new Float32Array(vector.length);
  for (let j = 0; j < vector.length; j++) out[j] = vector[j]! * scale;
  return out;
}

/**
 * A bounded min-heap of (score, row): the root is the worst kept score, so most rows of a scan are rejected
 * by one comparison. Ties keep the lower row, which makes results independent of scan order.
 */
class MinHeap {
  private readonly scores: Float64Array;
  private readonly rows: Int32Array;
  private size = 0;

  constructor(private readonly capacity: number) {
    this.scores = new Float64Array(capacity);
    this.rows = new Int32Array(capacity);
  }

  offer(score: number, row: number): void {
    if (this.size < this.capacity) {
      let i = this.size++;
      // Sift up.
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(score, row, this.scores[parent]!, this.rows[parent]!)) break;
        this.scores[i] = this.scores[parent]!;
        this.rows[i] = this.rows[parent]!;
        i = parent;
      }
      this.scores[i] = score;
      this.rows[i] = row;
      return;
    }
    if (!this.worse(this.scores[0]!, this.rows[0]!, score, row)) return;
    // Replace the root and sift down.
    let i = 0;
    const n = this.size;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.worse(this.scores[right]!, this.rows[right]!, this.scores[left]!, this.rows[left]!)) child = right;
      if (!this.worse(this.scores[child]!, this.rows[child]!, score, row)) break;
      this.scores[i] = this.scores[child]!;
      this.rows[i] = this.rows[child]!;
      i = child;
    }
    this.scores[i] = score;
    this.rows[i] = row;
  }

  /** (a) ranks below (b): a lower score, or an equal score on a higher row. */
  private worse(scoreA: number, rowA: number, scoreB: number, rowB: number): boolean {
    return scoreA < scoreB || (scoreA === scoreB && rowA > rowB);
  }

  sorted(): TopK {
    const order = Array.from({ length: this.size }, (_, i) => i);
    order.sort((a, b) => this.scores[b]! - this.scores[a]! || this.rows[a]! - this.rows[b]!);
    return {
      rows: Int32Array.from(order, (i) => this.rows[i]!),
      scores: Float32Array.from(order, (i) => this.scores[i]!),
    };
  }
}
