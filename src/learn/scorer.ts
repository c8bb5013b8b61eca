import type { EmbeddingMatrix } from './embedding-matrix';
import { softmaxInPlace, type HeadWeights } from './softmax-head';

/**
 * Calibrated probabilities of every row (rows × classes): the full re-score after the head changed.
 * Plain JavaScript, C dot products per row.
 */
export function scoreAll(head: HeadWeights, matrix: EmbeddingMatrix): Float32Array {
  const C = head.classes.length;
  const { dim, vectors } = matrix;
  const rows = matrix.ids.length;
  const out = new Float32Array(rows * C);
  const { weights, bias } = head;
  for (let row = 0; row < rows; row++) {
    const offset = row * dim;
    for (let c = 0; c < C; c++) {
      const w = c * dim;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let j = 0;
      for (; j + 3 < dim; j += 4) {
        s0 += weights[w + j]! * vectors[offset + j]!;
        s1 += weights[w + j + 1]! * vectors[offset + j + 1]!;
        s2 += weights[w + j + 2]! * vectors[offset + j + 2]!;
        s3 += weights[w + j + 3]! * vectors[offset + j + 3]!;
      }
      for (; j < dim; j++) s0 += weights[w + j]! * vectors[offset + j]!;
      out[row * C + c] = s0 + s1 + s2 + s3 + bias[c]!;
    }
    softmaxInPlace(out.subarray(row * C, (row + 1) * C), head.temperature);
  }
  return out;
}
