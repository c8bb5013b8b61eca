import type { EmbeddingMatrix } from '../embed';
import { dotAt } from './exact-scan';

/** A row of the matrix an index was built over, with its similarity to the query (higher is nearer). */
export interface RowHit {
  row: number;
  score: number;
}

/** Which rows a search may return. */
export interface RowFilter {
  accept: (row: number) => boolean;
  /**
   * About how many rows `accept` lets through (an upper bound is fine; default: every row), so a graph knows
   * how far to over-sample before it scans instead.
   */
  matches?: number;
}

/**
 * Nearest-neighbour search over the fixed rows of one matrix of unit vectors, by inner product (cosine). It is
 * synchronous: the learner answers keypresses from it, so a search is one call on the thread that asked. What
 * a row is (labeled, a candidate) stays with the caller and reaches the search as a filter, so "nearest
 * unlabeled to X" is one filtered query. The store-facing {@link VectorIndex} is the asynchronous, persistent,
 * id-keyed counterpart; both share the scan and the over-sampled graph search.
 *
 * @example
 * const index = openRowIndex(unitRows); // exact, or HNSW on many rows
 * const hits = index.search(query, 10, { accept: (row) => !labeled[row], matches: unlabeledCount });
 */
export interface RowIndex {
  /** True while a search's cost does not grow with the rows (a built graph): callers need not sample rows. */
  readonly indexed: boolean;
  /** The `k` accepted rows nearest to `query`, best first. */
  search(query: Float32Array, k: number, filter?: RowFilter): RowHit[];
  /** Stops background work (a graph still building); searches go on, by the exact scan. */
  close(): void;
}

/** The exact scan, in JavaScript: it visits only accepted rows, which beats a fast scan of all when few pass. */
export class ExactRowIndex implements RowIndex {
  readonly indexed = false;

  constructor(private readonly matrix: EmbeddingMatrix) {}

  search(query: Float32Array, k: number, filter?: RowFilter): RowHit[] {
    const { matrix } = this;
    const accept = filter?.accept;
    const rows = matrix.ids.length;
    const best: RowHit[] = [];
    let worst = -Infinity;
    for (let row = 0; row < rows; row++) {
      if (accept && !accept(row)) continue;
      const score = dotAt(matrix.vectors, row * matrix.dim, query, matrix.dim);
      if (best.length < k) {
        best.push({ row, score });
        if (best.length === k) {
          best.sort((a, b) => b.score - a.score);
          worst = best[k - 1]!.score;
        }
      } else if (score > worst) {
        // Insertion into a short sorted list: k is small (≤ 100), so this beats a heap.
        let position = k - 1;
        while (position > 0 && best[position - 1]!.score < score) position--;
        best.splice(position, 0, { row, score });
        best.pop();
        worst = best[k - 1]!.score;
      }
    }
    return best.length < k ? best.sort((a, b) => b.score - a.score) : best;
  }

  close(): void {}
}
