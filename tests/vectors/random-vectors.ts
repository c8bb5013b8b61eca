import { mulberry32 } from '../../src/random';
import type { PointFilter, PointPayload, SearchHit, VectorMetric, VectorPoint } from '../../src/vectors';

/** Seeded uniform [0, 1): tests must see the same vectors on every run (the engine's own generator). */
export const seeded = mulberry32;

/** A vector of independent standard normals (Box–Muller). */
export function gaussianVector(random: () => number, dim: number): Float32Array {
  const vector = new Float32Array(dim);
  for (let j = 0; j < dim; j++) vector[j] = Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  return vector;
}

export const CLASSES = ['cat', 'dog', 'bird'];
export const SPLITS = ['train', 'val'];

/** `count` points with ids from `firstId`, every other one labeled with a class, splits alternating train/val. */
export function randomPoints(count: number, dim: number, seed: number, firstId = 1): VectorPoint[] {
  const random = seeded(seed);
  return Array.from({ length: count }, (_, i) => {
    const labeled = i % 2 === 0;
    const payload: PointPayload = { labeled, label: labeled ? CLASSES[i % 3]! : null, split: SPLITS[i % 2]! === 'train' && i % 5 === 0 ? 'val' : SPLITS[i % 2]! };
    return { id: firstId + i, vector: gaussianVector(random, dim), payload };
  });
}

/** What a correct index must answer: a float64 brute force over the points, with the filter applied. */
export function bruteForce(points: readonly VectorPoint[], query: Float32Array, k: number, metric: VectorMetric, filter: PointFilter = {}): SearchHit[] {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
  const queryNorm = metric === 'cosine' ? norm(query) : 1;
  const excluded = new Set(filter.excludeIds ?? []);
  return points
    .filter((point) => passes(point, filter) && !excluded.has(point.id))
    .map((point) => {
      let dot = 0;
      for (let j = 0; j < query.length; j++) dot += query[j]! * point.vector[j]!;
      return { id: point.id, score: metric === 'cosine' ? dot / (queryNorm * norm(point.vector)) : dot };
    })
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, k);
}

function passes(point: VectorPoint, filter: PointFilter): boolean {
  const payload = point.payload ?? { labeled: false, label: null, split: null };
  if (filter.labeled !== undefined && payload.labeled !== filter.labeled) return false;
  if (filter.label !== undefined && payload.label !== filter.label) return false;
  if (filter.split !== undefined && payload.split !== filter.split) return false;
  return true;
}
