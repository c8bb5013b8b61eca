import type { EmbeddingMatrix } from '../embed';
import { InvalidArgumentError } from '../errors';
import { dotAt } from '../vectors';

export type { EmbeddingMatrix };

/** Checks a matrix's shape and returns a map from item id to row. */
export function rowIndex(matrix: EmbeddingMatrix): Map<number, number> {
  if (matrix.vectors.length !== matrix.ids.length * matrix.dim) {
    throw new InvalidArgumentError(
      `embedding matrix has ${matrix.vectors.length} values, expected ids (${matrix.ids.length}) × dim (${matrix.dim})`,
    );
  }
  return new Map(matrix.ids.map((id, row) => [id, row]));
}

/** A copy of the matrix with every row scaled to unit length, so dot products are cosine similarities. */
export function normalizeRows(matrix: EmbeddingMatrix): EmbeddingMatrix {
  const vectors = new Float32Array(matrix.vectors);
  normalizeInPlace(vectors, matrix.dim);
  return { ids: matrix.ids, dim: matrix.dim, vectors };
}

/** Scales every row to unit length, in place (a zero row stays zero). */
function normalizeInPlace(vectors: Float32Array, dim: number): void {
  for (let offset = 0; offset < vectors.length; offset += dim) {
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += vectors[offset + j]! * vectors[offset + j]!;
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let j = 0; j < dim; j++) vectors[offset + j]! *= scale;
  }
}

/**
 * A copy of the matrix with the mean row subtracted and every row scaled to unit length. Centring matters:
 * embeddings after a ReLU (and raw pixels) all share a large common component that drowns the differences
 * cosine similarity should see.
 */
export function centerAndNormalizeRows(matrix: EmbeddingMatrix): EmbeddingMatrix {
  // One pass for the mean and one that centres, measures and scales each row while it is in cache, over
  // local arrays. The values are the same to the bit as centring and normalising in separate passes: each
  // centred value is rounded to float32 before it is squared, as when it was read back from the array. At
  // 1M rows this is most of opening a session (BENCHMARKS.md, "Opening a labeling session at 1M items").
  const { dim } = matrix;
  const source = matrix.vectors;
  const rows = matrix.ids.length;
  const mean = new Float64Array(dim);
  for (let offset = 0; offset < source.length; offset += dim) {
    for (let j = 0; j < dim; j++) mean[j]! += source[offset + j]!;
  }
  for (let j = 0; j < dim; j++) mean[j]! /= Math.max(rows, 1);
  // Shared memory: the scorer's worker thread reads the same bytes instead of a copy.
  const vectors = new Float32Array(new SharedArrayBuffer(source.length * 4));
  for (let offset = 0; offset < vectors.length; offset += dim) {
    let sum = 0;
    for (let j = 0; j < dim; j++) {
      const value = Math.fround(source[offset + j]! - mean[j]!);
      vectors[offset + j] = value;
      sum += value * value;
    }
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let j = 0; j < dim; j++) vectors[offset + j]! *= scale;
  }
  return { ids: matrix.ids, dim, vectors };
}

/** The row `row` of the matrix, without copying. */
export function rowOf(matrix: EmbeddingMatrix, row: number): Float32Array {
  return matrix.vectors.subarray(row * matrix.dim, (row + 1) * matrix.dim);
}

/** Dot product of `a` with the `a.length` values of `b` from `bOffset`: the vector index's, so every path scores alike. */
export function dot(a: Float32Array, b: Float32Array, bOffset = 0): number {
  return dotAt(b, bOffset, a, a.length);
}
