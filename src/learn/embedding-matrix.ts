import type { EmbeddingMatrix } from '../embed';
import { InvalidArgumentError } from '../errors';
import { dotAt } from '../vectors';

export type { EmbeddingMatrix };

/** Checks a matrix's shape and returns a map from item id to row. */
export function rowIndex(matrix: EmbeddingMatrix): Map<number, number> {
  checkShape(matrix);
  return new Map(matrix.ids.map((id, row) => [id, row]));
}

/** Throws when the matrix does not hold one row of `dim` values per id. */
export function checkShape(matrix: EmbeddingMatrix): void {
  if (matrix.vectors.length !== matrix.ids.length * matrix.dim) {
    throw new InvalidArgumentError(
      `embedding matrix has ${matrix.vectors.length} values, expected ids (${matrix.ids.length}) × dim (${matrix.dim})`,
    );
  }
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
  const steps = centeringAndNormalizing(matrix);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Values read or written per step of {@link centeringAndNormalizing}: about a millisecond here. */
const VALUES_PER_STEP = 1 << 16;

/**
 * {@link centerAndNormalizeRows} in steps of about a millisecond, so a caller can do it between the requests it
 * answers: at 1M × 512 the whole of it is seconds (BENCHMARKS.md, "Opening a labeling session at 1M items").
 * The generator's value is the centred, normalised copy, the same to the bit as the function's.
 */
export function* centeringAndNormalizing(matrix: EmbeddingMatrix): Generator<void, EmbeddingMatrix> {
  const { dim } = matrix;
  const source = matrix.vectors;
  const rows = matrix.ids.length;
  const stride = Math.max(1, Math.floor(VALUES_PER_STEP / Math.max(dim, 1))) * dim;
  const mean = new Float64Array(dim);
  for (let start = 0; start < source.length; start += stride) {
    addRows(source, dim, start, Math.min(start + stride, source.length), mean);
    yield;
  }
  for (let j = 0; j < dim; j++) mean[j]! /= Math.max(rows, 1);
  // Shared memory: the scorer's worker thread reads the same bytes instead of a copy.
  const vectors = new Float32Array(new SharedArrayBuffer(source.length * 4));
  for (let start = 0; start < vectors.length; start += stride) {
    centerAndNormalize(source, dim, start, Math.min(start + stride, source.length), mean, vectors);
    yield;
  }
  return { ids: matrix.ids, dim, vectors };
}

// The loops live in plain functions that V8 optimises as usual; the generator only cuts the work into steps.

/** Adds the rows in [start, end) (value offsets) to `sum`. */
function addRows(source: Float32Array, dim: number, start: number, end: number, sum: Float64Array): void {
  for (let offset = start; offset < end; offset += dim) {
    for (let j = 0; j < dim; j++) sum[j]! += source[offset + j]!;
  }
}

/**
 * Writes the rows in [start, end) centred on `mean` and scaled to unit length into `out`, each row while it is
 * in cache. The same values to the bit as centring and normalising in separate passes: each centred value is
 * rounded to float32 before it is squared, as when it was read back from the array.
 */
function centerAndNormalize(source: Float32Array, dim: number, start: number, end: number, mean: Float64Array, out: Float32Array): void {
  for (let offset = start; offset < end; offset += dim) {
    let sum = 0;
    for (let j = 0; j < dim; j++) {
      const value = Math.fround(source[offset + j]! - mean[j]!);
      out[offset + j] = value;
      sum += value * value;
    }
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let j = 0; j < dim; j++) out[offset + j]! *= scale;
  }
}

/** The row `row` of the matrix, without copying. */
export function rowOf(matrix: EmbeddingMatrix, row: number): Float32Array {
  return matrix.vectors.subarray(row * matrix.dim, (row + 1) * matrix.dim);
}

/** Dot product of `a` with the `a.length` values of `b` from `bOffset`: the vector index's, so every path scores alike. */
export function dot(a: Float32Array, b: Float32Array, bOffset = 0): number {
  return dotAt(b, bOffset, a, a.length);
}
