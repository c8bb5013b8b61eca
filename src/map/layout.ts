import { UMAP } from 'umap-js';
import { mulberry32 } from '../random';
import { pca } from './pca';

/** How the 2-D layout is made: UMAP after PCA (neighbourhoods kept), or the first two principal components (fast, linear). */
export type MapMethod = 'umap' | 'pca';
export const MAP_METHODS: readonly MapMethod[] = ['umap', 'pca'];

export interface LayoutOptions {
  method?: MapMethod;
  seed?: number;
  /** Dimensions PCA keeps before UMAP (default 50, the usual choice: it denoises and makes neighbours cheap). */
  pcaDimensions?: number;
  /** UMAP's neighbourhood size (default 15): larger keeps more global structure. */
  neighbors?: number;
  /** UMAP's optimisation epochs (default: umap-js's, 500 up to 10k points and 200 above). */
  epochs?: number;
}

export type LayoutPhase = 'pca' | 'neighbors' | 'layout';

export interface LayoutProgress {
  phase: LayoutPhase;
  done: number;
  total: number;
}

/**
 * Lays out rows × dim vectors in 2-D: rows × 2 coordinates, row-major. Deterministic for a seed. Heavy (seconds
 * for tens of thousands of rows): run it off the main thread — {@link projectEmbeddings} does.
 *
 * UMAP is umap-js (the PAIR-code port of McInnes et al.) on the PCA output; PCA is {@link pca}.
 *
 * @example
 * const xy = layout2d(vectors, 5000, 1280, { seed: 1 }); // xy[2 * r], xy[2 * r + 1]: row r
 */
export function layout2d(vectors: Float32Array, rows: number, dim: number, options: LayoutOptions = {}, onProgress?: (p: LayoutProgress) => void): Float32Array {
  const seed = options.seed ?? 1;
  const method = options.method ?? 'umap';
  const reduced = pca(vectors, rows, dim, method === 'pca' ? 2 : options.pcaDimensions ?? 50, {
    seed,
    onPass: (done, total) => onProgress?.({ phase: 'pca', done, total }),
  });
  if (method === 'pca') {
    const xy = new Float32Array(rows * 2);
    // With one component (rank-1 data, or dim 1) the second coordinate stays 0.
    for (let r = 0; r < rows; r++) for (let c = 0; c < reduced.k; c++) xy[r * 2 + c] = reduced.projected[r * reduced.k + c]!;
    return xy;
  }
  const k = reduced.k;
  const neighbors = Math.max(2, Math.min(options.neighbors ?? 15, rows - 1));
  const points: number[][] = [];
  for (let r = 0; r < rows; r++) points.push(Array.from(reduced.projected.subarray(r * k, (r + 1) * k)));
  const umap = new UMAP({ nComponents: 2, nNeighbors: neighbors, random: mulberry32(seed ^ 0x9e3779b9), ...(options.epochs ? { nEpochs: options.epochs } : {}) });
  onProgress?.({ phase: 'neighbors', done: 0, total: 1 });
  // umap-js's own neighbours (random-projection trees + NN-descent, seeded). An exact native scan (usearch's
  // exactSearch) was tried first: no faster at 10k, rows² at 20k (121 s), and 6.9 GB peak RSS there, as it
  // holds every query's distances at once (bench/results/map.md).
  const epochs = umap.initializeFit(points);
  onProgress?.({ phase: 'neighbors', done: 1, total: 1 });
  const every = Math.max(1, Math.floor(epochs / 50));
  for (let epoch = 0; epoch < epochs; epoch++) {
    umap.step();
    if ((epoch + 1) % every === 0 || epoch + 1 === epochs) onProgress?.({ phase: 'layout', done: epoch + 1, total: epochs });
  }
  const embedding = umap.getEmbedding();
  const xy = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    xy[r * 2] = embedding[r]![0]!;
    xy[r * 2 + 1] = embedding[r]![1]!;
  }
  return xy;
}
