import type { EmbeddingMatrix } from './embedding-matrix';
import { multiplyTransposed } from './multiply';

/** A pivot below this share of its row's squared norm is a row (numerically) in the span of the rows before it. */
const DEPENDENT = 1e-9;

/**
 * Fewer rows than dimensions span a subspace of their own: the same rows written as coordinates in an
 * orthonormal basis of it (r ≤ rows values each) have the same dot products and norms, so everything that
 * reads only those (the head, whose weights are sums of its examples; cosine neighbours; coverage) gives
 * the same results on r values instead of `dim`. Other vectors project onto the span: their dot product
 * with any combination of the rows is kept, which is all the head reads of them.
 *
 * The basis comes from the Cholesky factor of the Gram matrix, G = X·Xᵀ = L·Lᵀ: X = L·Qᵀ with Q
 * orthonormal, so row i's coordinates are row i of L, and a vector t's are L⁻¹·(X·t). Rows dependent on
 * earlier ones add no basis vector (semi-definite Cholesky).
 *
 * @example
 * const basis = SpanBasis.of(pool); // undefined when rows ≥ dim: nothing to gain
 * const learner = new ActiveLearner(basis.coordinates, { center: false });
 * const test = basis.project(testMatrix);
 */
export class SpanBasis {
  private constructor(
    private readonly rows: EmbeddingMatrix,
    /** L's rows × its kept columns, row-major, in float64. */
    private readonly factor: Float64Array,
    private readonly rank: number,
    /** The rows whose pivots were kept, in order: the triangular system that projections solve. */
    private readonly pivots: Int32Array,
    readonly coordinates: EmbeddingMatrix,
  ) {}

  /** The basis of `matrix`'s rows, or undefined when they have at least as many rows as dimensions. */
  static of(matrix: EmbeddingMatrix): SpanBasis | undefined {
    const n = matrix.ids.length;
    if (n === 0 || n >= matrix.dim) return undefined;
    const gram = multiplyTransposed(matrix.vectors, n, matrix.vectors, n, matrix.dim, new Float64Array(n * n));
    // L is n × r; column k belongs to pivot row pivots[k]. Row-major with a stride of n (r ≤ n).
    const factor = new Float64Array(n * n);
    const pivots: number[] = [];
    for (let i = 0; i < n; i++) {
      // Row i against every kept column so far: L[i][k] = (G[i][p_k] − Σ_{m<k} L[i][m]·L[p_k][m]) / L[p_k][k].
      for (let k = 0; k < pivots.length; k++) {
        const p = pivots[k]!;
        let sum = gram[i * n + p]!;
        for (let m = 0; m < k; m++) sum -= factor[i * n + m]! * factor[p * n + m]!;
        factor[i * n + k] = sum / factor[p * n + k]!;
      }
      let rest = gram[i * n + i]!;
      for (let m = 0; m < pivots.length; m++) rest -= factor[i * n + m]! ** 2;
      if (rest > DEPENDENT * gram[i * n + i]!) {
        factor[i * n + pivots.length] = Math.sqrt(rest);
        pivots.push(i);
      }
    }
    const rank = pivots.length;
    const vectors = new Float32Array(n * rank);
    for (let i = 0; i < n; i++) for (let k = 0; k < rank; k++) vectors[i * rank + k] = factor[i * n + k]!;
    return new SpanBasis(matrix, factor, rank, Int32Array.from(pivots), { ids: matrix.ids, dim: rank, vectors });
  }

  /** Each row of `matrix` (of the original dimension) as coordinates of its projection onto the span. */
  project(matrix: EmbeddingMatrix): EmbeddingMatrix {
    const { rows, factor, rank, pivots } = this;
    const n = rows.ids.length;
    const count = matrix.ids.length;
    const products = multiplyTransposed(matrix.vectors, count, rows.vectors, n, rows.dim, new Float64Array(count * n));
    const vectors = new Float32Array(count * rank);
    const q = new Float64Array(rank);
    for (let row = 0; row < count; row++) {
      // Forward substitution in the kept rows of L: L[p_k][0..k]·q = (X·t)[p_k].
      for (let k = 0; k < rank; k++) {
        const p = pivots[k]!;
        let sum = products[row * n + p]!;
        for (let m = 0; m < k; m++) sum -= factor[p * n + m]! * q[m]!;
        q[k] = sum / factor[p * n + k]!;
      }
      for (let k = 0; k < rank; k++) vectors[row * rank + k] = q[k]!;
    }
    return { ids: matrix.ids, dim: rank, vectors };
  }
}
