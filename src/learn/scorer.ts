import type { EmbeddingMatrix } from './embedding-matrix';
import { multiplyTransposed } from './multiply';
import { softmaxInPlace, type HeadWeights } from './softmax-head';

/**
 * Calibrated probabilities of every row (rows × classes): the full re-score after the head changed.
 * Plain JavaScript: one matrix product (multiply.ts), then a softmax per row.
 */
export function scoreAll(head: HeadWeights, matrix: EmbeddingMatrix): Float32Array {
  const C = head.classes.length;
  const { dim, vectors } = matrix;
  const rows = matrix.ids.length;
  const out = multiplyTransposed(vectors, rows, head.weights, C, dim, new Float32Array(rows * C));
  const { bias } = head;
  for (let row = 0; row < rows; row++) {
    const scores = out.subarray(row * C, (row + 1) * C);
    for (let c = 0; c < C; c++) scores[c]! += bias[c]!;
    softmaxInPlace(scores, head.temperature);
  }
  return out;
}
