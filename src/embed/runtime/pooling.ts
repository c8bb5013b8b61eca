import { ModelError } from '../../errors';
import type { Normalization, Pooling } from '../manifest/manifest-types';

/**
 * Turns a model output [N, …] into N vectors of one dimension, as the manifest's `pooling` says. Pure.
 * `mask` (N × T, 1 = real token) restricts `mean-tokens` to the tokens that are not padding.
 */
export function poolOutput(data: Float32Array, dims: readonly number[], pooling: Pooling, mask?: ArrayLike<number>): { vectors: Float32Array; dim: number } {
  const count = dims[0] ?? 0;
  const rest = dims.slice(1);
  switch (pooling) {
    case 'none': {
      const nonUnit = rest.filter((d) => d !== 1);
      if (nonUnit.length > 1) {
        throw new ModelError(
          `the output has shape [${dims.join(', ')}], which is not one vector per input; set "pooling" to "mean-spatial" ` +
            `(feature maps [N, C, H, W]), "mean-tokens" or "first-token" (sequences [N, T, D])`,
        );
      }
      return { vectors: data.slice(0, count * product(rest)), dim: product(rest) };
    }
    case 'mean-spatial': {
      if (rest.length !== 3) throw new ModelError(`"mean-spatial" pooling needs a feature map [N, C, H, W]; the output has shape [${dims.join(', ')}]`);
      const [channels, h, w] = rest as [number, number, number];
      const plane = h * w;
      const vectors = new Float32Array(count * channels);
      for (let n = 0; n < count; n++) {
        for (let c = 0; c < channels; c++) {
          const start = (n * channels + c) * plane;
          let sum = 0;
          for (let p = 0; p < plane; p++) sum += data[start + p]!;
          vectors[n * channels + c] = sum / plane;
        }
      }
      return { vectors, dim: channels };
    }
    case 'mean-tokens':
    case 'first-token': {
      if (rest.length !== 2) throw new ModelError(`"${pooling}" pooling needs a sequence [N, T, D]; the output has shape [${dims.join(', ')}]`);
      const [tokens, dim] = rest as [number, number];
      const vectors = new Float32Array(count * dim);
      for (let n = 0; n < count; n++) {
        if (pooling === 'first-token') {
          vectors.set(data.subarray(n * tokens * dim, n * tokens * dim + dim), n * dim);
          continue;
        }
        let kept = 0;
        for (let t = 0; t < tokens; t++) {
          if (mask && !mask[n * tokens + t]) continue;
          kept++;
          const start = (n * tokens + t) * dim;
          for (let d = 0; d < dim; d++) vectors[n * dim + d]! += data[start + d]!;
        }
        for (let d = 0; d < dim; d++) vectors[n * dim + d]! /= Math.max(kept, 1);
      }
      return { vectors, dim };
    }
  }
}

/** Scales each of the vectors (rows of `dim`) to unit length, in place; a zero vector stays zero. */
export function normalizeVectors(vectors: Float32Array, dim: number, normalization: Normalization): Float32Array {
  if (normalization === 'none') return vectors;
  for (let start = 0; start < vectors.length; start += dim) {
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += vectors[start + d]! * vectors[start + d]!;
    const norm = Math.sqrt(sum);
    if (norm > 0) for (let d = 0; d < dim; d++) vectors[start + d]! /= norm;
  }
  return vectors;
}

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}
