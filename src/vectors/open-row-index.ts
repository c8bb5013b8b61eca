import type { EmbeddingMatrix } from '../embed';
import { HnswRowIndex, type HnswRowIndexOptions } from './hnsw-row-index';
import { ExactRowIndex, type RowIndex } from './row-index';

/**
 * Below this many rows the learner's index is the exact scan, from here on an HNSW graph. Measured with
 * `node bench/vectors.js --learner` (1280-d, clustered, 2 shared cores): a k-NN vote by the scan costs 16 ms at
 * 4k rows and 47 ms at 16k, through the graph about 3 ms at any size; but the graph costs 5 CPU-s to build at 4k
 * and 46 at 16k, so below 16k it would pay only after about a thousand labels. From 16k on the learner's scan
 * samples rows (learner.ts, VOTE_SAMPLE): at 100k its votes found 16% of the true neighbours, in 67 ms, where
 * the graph finds all of them in 3 ms (273 CPU-s to build, in the background).
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

