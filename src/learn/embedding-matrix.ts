import { InvalidArgumentError } from '../errors';

/** Embeddings of many items as one row-major matrix: row r holds the vector of item `ids[r]`. */
export interface EmbeddingMatrix {
  ids: number[];
  dim: number;
  vectors: Float32Array;
}

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
  const { dim } = matrix;
  const rows = matrix.ids.length;
  const mean = new Float64Array(dim);
  for (let offset = 0; offset < matrix.vectors.length; offset += dim) {
    for (let j = 0; j < dim; j++) mean[j]! += matrix.vectors[offset + j]!;
  }
  for (let j = 0; j < dim; j++) mean[j]! /= Math.max(rows, 1);
  // Shared memory: the scorer's worker thread reads the same bytes instead of a copy.
  const vectors = new Float32Array(new SharedArrayBuffer(matrix.vectors.length * 4));
  for (let offset = 0; offset < vectors.length; offset += dim) {
    for (let j = 0; j < dim; j++) vectors[offset + j] = matrix.vectors[offset + j]! - mean[j]!;
  }
  normalizeInPlace(vectors, dim);
  return { ids: matrix.ids, dim, vectors };
}

/** The row `row` of the matrix, without copying. */
export function rowOf(matrix: EmbeddingMatrix, row: number): Float32Array {
  return matrix.vectors.subarray(row * matrix.dim, (row + 1) * matrix.dim);
}

/** Dot product of two equal-length vectors, unrolled by four (V8 keeps it in registers). */
export function dot(a: Float32Array, b: Float32Array, bOffset = 0): number {
  const n = a.length;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 3 < n; j += 4) {
    s0 += a[j]! * b[bOffset + j]!;
    s1 += a[j + 1]! * b[bOffset + j + 1]!;
    s2 += a[j + 2]! * b[bOffset + j + 2]!;
    s3 += a[j + 3]! * b[bOffset + j + 3]!;
  }
  for (; j < n; j++) s0 += a[j]! * b[bOffset + j]!;
  return s0 + s1 + s2 + s3;
}

/**
 * The `k` rows most similar (by dot product) to `query` among those `accept` lets through, best first:
 * an exact scan, for small sets and for checking approximate indexes.
 */
export function exactNeighbors(
  matrix: EmbeddingMatrix,
  query: Float32Array,
  k: number,
  accept: (row: number) => boolean = () => true,
): { row: number; score: number }[] {
  const rows = matrix.ids.length;
  const best: { row: number; score: number }[] = [];
  let worst = -Infinity;
  for (let row = 0; row < rows; row++) {
    if (!accept(row)) continue;
    const score = dot(query, matrix.vectors, row * matrix.dim);
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
