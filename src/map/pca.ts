import { InvalidArgumentError } from '../errors';
import { mulberry32 } from '../random';

/**
 * Principal component analysis of a row-major Float32Array, by randomized subspace iteration (Halko,
 * Martinsson & Tropp 2011, algorithms 4.4 and 5.1): a few passes over the data, each rows × dim × (k + 10)
 * multiply-adds, instead of a dim × dim covariance and its full eigendecomposition. Written here because the
 * npm PCA (`ml-pca`) decomposes the whole covariance or data matrix as nested `number[]` arrays: at 20k ×
 * 1280 that is 200 MB of boxed doubles and a 1280² eigenproblem, for the 50 components a map needs.
 *
 * Exact (to rounding) when k + 10 ≥ min(rows, dim); otherwise the top components of the data are found to
 * high accuracy after `iterations` power steps (the map only needs their span).
 *
 * @example
 * const { projected, components } = pca(vectors, rows, 1280, 50, { seed: 1 });
 * // projected: rows × 50, row r is (x_r − mean) · components
 */
export interface PcaResult {
  /** How many components were kept: min(k, rows, dim). */
  k: number;
  /** rows × k: each row's coordinates along the components. */
  projected: Float32Array;
  /** k × dim, row-major, unit rows, by decreasing variance; the sign makes each row's largest entry positive. */
  components: Float64Array;
  mean: Float64Array;
  /** The variance (over rows − 1) along each component. */
  variance: Float64Array;
  /** Sum of the variances along every axis of the data: `variance` over this is the share each explains. */
  totalVariance: number;
}

export interface PcaOptions {
  seed?: number;
  /** Power iterations: more sharpen the subspace when the spectrum decays slowly (default 2). */
  iterations?: number;
  /** Extra directions kept during the iteration (default 10). */
  oversample?: number;
  /** Called after each pass over the data, with the number of passes done and to do. */
  onPass?: (done: number, total: number) => void;
}

export function pca(vectors: Float32Array, rows: number, dim: number, k: number, options: PcaOptions = {}): PcaResult {
  if (vectors.length !== rows * dim) throw new InvalidArgumentError(`pca: ${vectors.length} values, expected rows (${rows}) × dim (${dim})`);
  if (rows < 1 || dim < 1 || k < 1) throw new InvalidArgumentError(`pca: rows, dim and k must be at least 1; got ${rows}, ${dim}, ${k}`);
  const keep = Math.min(k, rows, dim);
  const width = Math.min(keep + (options.oversample ?? 10), rows, dim);
  const iterations = options.iterations ?? 2;
  const passes = 2 + 2 * iterations + 1;
  let pass = 0;
  const tick = () => options.onPass?.(++pass, passes);

  const mean = new Float64Array(dim);
  for (let offset = 0; offset < vectors.length; offset += dim) for (let j = 0; j < dim; j++) mean[j]! += vectors[offset + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= rows;
  let totalVariance = 0;
  for (let offset = 0; offset < vectors.length; offset += dim) {
    for (let j = 0; j < dim; j++) {
      const centred = vectors[offset + j]! - mean[j]!;
      totalVariance += centred * centred;
    }
  }
  totalVariance /= Math.max(rows - 1, 1);

  // Q spans the range of the centred data X; each power step replaces it with the span of X Xᵀ Q.
  const random = gaussian(mulberry32(options.seed ?? 1));
  const omega = new Float64Array(dim * width);
  for (let i = 0; i < omega.length; i++) omega[i] = random();
  let q = orthonormalColumns(timesRight(vectors, rows, dim, mean, omega, width), rows, width);
  tick();
  for (let step = 0; step < iterations; step++) {
    const z = orthonormalColumns(transposeTimes(vectors, rows, dim, mean, q, width), dim, width);
    tick();
    q = orthonormalColumns(timesRight(vectors, rows, dim, mean, z, width), rows, width);
    tick();
  }
  // B = Qᵀ X (width × dim, stored transposed as dim × width); the eigenvectors of B Bᵀ rotate Q onto the
  // principal directions, and Bᵀ U / s are the components.
  const bt = transposeTimes(vectors, rows, dim, mean, q, width);
  tick();
  const gram = new Float64Array(width * width);
  for (let j = 0; j < dim; j++) {
    const row = j * width;
    for (let a = 0; a < width; a++) {
      const value = bt[row + a]!;
      for (let b = a; b < width; b++) gram[a * width + b]! += value * bt[row + b]!;
    }
  }
  for (let a = 0; a < width; a++) for (let b = 0; b < a; b++) gram[a * width + b] = gram[b * width + a]!;
  const { values, vectors: eigenvectors } = symmetricEigen(gram, width);
  const order = Array.from({ length: width }, (_, i) => i).sort((a, b) => values[b]! - values[a]!);

  const components = new Float64Array(keep * dim);
  const variance = new Float64Array(keep);
  for (let c = 0; c < keep; c++) {
    const e = order[c]!;
    const singular = Math.sqrt(Math.max(values[e]!, 0));
    variance[c] = values[e]! / Math.max(rows - 1, 1);
    let largest = 0;
    for (let j = 0; j < dim; j++) {
      let sum = 0;
      for (let a = 0; a < width; a++) sum += bt[j * width + a]! * eigenvectors[a * width + e]!;
      const value = singular > 0 ? sum / singular : 0;
      components[c * dim + j] = value;
      if (Math.abs(value) > Math.abs(largest)) largest = value;
    }
    if (largest < 0) for (let j = 0; j < dim; j++) components[c * dim + j] = -components[c * dim + j]!;
  }
  const projected = new Float32Array(rows * keep);
  const product = timesRight(vectors, rows, dim, mean, transpose(components, keep, dim), keep);
  for (let i = 0; i < projected.length; i++) projected[i] = product[i]!;
  tick();
  return { k: keep, projected, components, mean, variance, totalVariance };
}

/** (X − 1 meanᵀ) · M, with M dim × width row-major; rows × width out. */
function timesRight(x: Float32Array, rows: number, dim: number, mean: Float64Array, m: Float64Array, width: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const offset = r * dim;
    const target = r * width;
    for (let j = 0; j < dim; j++) {
      const value = x[offset + j]! - mean[j]!;
      if (value === 0) continue;
      const source = j * width;
      for (let c = 0; c < width; c++) out[target + c]! += value * m[source + c]!;
    }
  }
  return out;
}

/** (X − 1 meanᵀ)ᵀ · Y, with Y rows × width row-major; dim × width out. */
function transposeTimes(x: Float32Array, rows: number, dim: number, mean: Float64Array, y: Float64Array, width: number): Float64Array {
  const out = new Float64Array(dim * width);
  for (let r = 0; r < rows; r++) {
    const offset = r * dim;
    const source = r * width;
    for (let j = 0; j < dim; j++) {
      const value = x[offset + j]! - mean[j]!;
      if (value === 0) continue;
      const target = j * width;
      for (let c = 0; c < width; c++) out[target + c]! += value * y[source + c]!;
    }
  }
  return out;
}

function transpose(m: Float64Array, rows: number, columns: number): Float64Array {
  const out = new Float64Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = m[r * columns + c]!;
  return out;
}

/**
 * Orthonormalizes the columns of a rows × width row-major matrix in place (modified Gram–Schmidt, twice, which
 * is enough for orthogonality to rounding). A column that vanishes (rank deficiency) is left at zero.
 */
function orthonormalColumns(m: Float64Array, rows: number, width: number): Float64Array {
  for (let round = 0; round < 2; round++) {
    for (let c = 0; c < width; c++) {
      for (let p = 0; p < c; p++) {
        let projection = 0;
        for (let r = 0; r < rows; r++) projection += m[r * width + c]! * m[r * width + p]!;
        for (let r = 0; r < rows; r++) m[r * width + c]! -= projection * m[r * width + p]!;
      }
      let norm = 0;
      for (let r = 0; r < rows; r++) norm += m[r * width + c]! * m[r * width + c]!;
      norm = Math.sqrt(norm);
      const scale = norm > 1e-12 ? 1 / norm : 0;
      for (let r = 0; r < rows; r++) m[r * width + c]! *= scale;
    }
  }
  return m;
}

/**
 * Eigenvalues and eigenvectors (columns of an n × n row-major matrix) of a small symmetric matrix, by cyclic
 * Jacobi rotations: n is the subspace width (≤ 60 here), so robustness beats speed.
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let scale = 0;
    for (let p = 0; p < n; p++) {
      scale += a[p * n + p]! * a[p * n + p]!;
      for (let r = p + 1; r < n; r++) off += a[p * n + r]! * a[p * n + r]!;
    }
    if (off <= 1e-30 * Math.max(scale, 1e-300)) break;
    for (let p = 0; p < n; p++) {
      for (let r = p + 1; r < n; r++) {
        const apr = a[p * n + r]!;
        if (apr === 0) continue;
        const theta = (a[r * n + r]! - a[p * n + p]!) / (2 * apr);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let i = 0; i < n; i++) {
          const aip = a[i * n + p]!;
          const air = a[i * n + r]!;
          a[i * n + p] = c * aip - s * air;
          a[i * n + r] = s * aip + c * air;
        }
        for (let i = 0; i < n; i++) {
          const api = a[p * n + i]!;
          const ari = a[r * n + i]!;
          a[p * n + i] = c * api - s * ari;
          a[r * n + i] = s * api + c * ari;
        }
        for (let i = 0; i < n; i++) {
          const vip = v[i * n + p]!;
          const vir = v[i * n + r]!;
          v[i * n + p] = c * vip - s * vir;
          v[i * n + r] = s * vip + c * vir;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}

/** Standard normal draws from a uniform generator (Box–Muller). */
function gaussian(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u = Math.max(uniform(), 1e-12);
    const angle = 2 * Math.PI * uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}
