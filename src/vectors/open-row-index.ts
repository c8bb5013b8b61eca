import type { EmbeddingMatrix } from '../embed';
import { HnswRowIndex, type HnswRowIndexOptions } from './hnsw-row-index';
import { ExactRowIndex, type RowIndex } from './row-index';

/**
 * Below this many rows the learner's index is the exact scan (and the learner samples no rows: see learner.ts,
 * VOTE_SAMPLE); from here on a graph. Measured in bench/vectors.js (`--rows`): a k-NN vote by exact scan costs
 * about 15 ms at 16k × 1280 and grows with the rows, one through the graph about 1-2 ms whatever the rows.
 */
export const EXACT_ROWS = 16384;

export interface RowIndexOptions extends HnswRowIndexOptions {
  /** Rows from which the index is an HNSW graph (default {@link EXACT_ROWS}). */
  exactBelow?: number;
}

/**
 * The neighbour index for a matrix of unit rows: the exact scan below {@link EXACT_ROWS} rows, above an HNSW
 * graph that builds in the background (answering by the exact scan until it is complete). Pass
 * `options.signal` to stop the build with its owner.
 *
 * @example
 * const learner = new ActiveLearner(embeddings, { neighborIndex: (rows) => openRowIndex(rows, { signal }) });
 */
export function openRowIndex(matrix: EmbeddingMatrix, options: RowIndexOptions = {}): RowIndex {
  return matrix.ids.length < (options.exactBelow ?? EXACT_ROWS) ? new ExactRowIndex(matrix) : new HnswRowIndex(matrix, options);
}

