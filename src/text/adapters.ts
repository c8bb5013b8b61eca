import { InvalidArgumentError } from '../errors';
import { multiplyTransposed } from '../learn';
import { columnSums, outerSum, symmetricInfoNce, throughNormalization } from './gradients';
import { INITIAL_LOG_SCALE } from './text-model';

/**
 * Light adapters on a frozen two-tower model (CLIP, SigLIP), one per side, LiT-style: v ↦ unit(v + W·v + b)
 * on the model's unit image vectors and unit text vectors. W and b start at zero, so an untrained adapter
 * is the identity and search starts exactly where the zero-shot model is; training on the user's captions
 * moves both sides with the symmetric InfoNCE loss (and its learned temperature).
 *
 * @example
 * const adapters = createAdapters(512);
 * const images = adapters.adaptImages(unitImageVectors); // n × 512, unit rows
 * const texts = adapters.adaptTexts(unitTextVectors);
 */
export class Adapters {
  constructor(
    readonly dim: number,
    /** dim × dim and dim, the image side's residual. */
    readonly imageWeights: Float32Array,
    readonly imageBias: Float32Array,
    /** dim × dim and dim, the text side's residual. */
    readonly textWeights: Float32Array,
    readonly textBias: Float32Array,
    public logScale: number,
  ) {}

  adaptImages(vectors: Float32Array): Float32Array {
    return adapt(vectors, this.rowsOf(vectors), this.imageWeights, this.imageBias, this.dim).unit;
  }

  adaptTexts(vectors: Float32Array): Float32Array {
    return adapt(vectors, this.rowsOf(vectors), this.textWeights, this.textBias, this.dim).unit;
  }

  private rowsOf(vectors: Float32Array): number {
    if (vectors.length % this.dim !== 0) throw new InvalidArgumentError(`vectors of ${vectors.length} values are not whole rows of ${this.dim}, the adapters' dimension`);
    return vectors.length / this.dim;
  }
}

/** Identity adapters (zero residuals) for vectors of `dim`. */
export function createAdapters(dim: number): Adapters {
  if (!Number.isInteger(dim) || dim <= 0) throw new InvalidArgumentError(`dim must be a positive whole number; got ${String(dim)}`);
  return new Adapters(dim, new Float32Array(dim * dim), new Float32Array(dim), new Float32Array(dim * dim), new Float32Array(dim), INITIAL_LOG_SCALE);
}

/** The gradient of the loss for every adapter parameter. */
export interface AdapterGradients {
  imageWeights: Float32Array;
  imageBias: Float32Array;
  textWeights: Float32Array;
  textBias: Float32Array;
  logScale: number;
}

/**
 * The symmetric InfoNCE loss of a batch of pairs (row b of `images` and of `texts`, unit vectors of the
 * frozen model) through the adapters, and its exact gradients (checked by finite differences in tests).
 */
export function adapterLossAndGradients(adapters: Adapters, images: Float32Array, texts: Float32Array): { loss: number; gradients: AdapterGradients } {
  const d = adapters.dim;
  const n = images.length / d;
  const image = adapt(images, n, adapters.imageWeights, adapters.imageBias, d);
  const text = adapt(texts, n, adapters.textWeights, adapters.textBias, d);
  const { loss, gradImage, gradText, logScale } = symmetricInfoNce(image.unit, text.unit, n, d, adapters.logScale);
  throughNormalization(gradImage, image.unit, image.norms, n, d);
  throughNormalization(gradText, text.unit, text.norms, n, d);
  // raw = v + W·v + b: the residual's own v adds nothing to the gradient of W or b.
  return {
    loss,
    gradients: {
      imageWeights: outerSum(gradImage, images, n, d, d),
      imageBias: columnSums(gradImage, n, d),
      textWeights: outerSum(gradText, texts, n, d, d),
      textBias: columnSums(gradText, n, d),
      logScale,
    },
  };
}

function adapt(vectors: Float32Array, rows: number, weights: Float32Array, bias: Float32Array, d: number): { unit: Float32Array; norms: Float32Array } {
  const unit = multiplyTransposed(vectors, rows, weights, d, d, new Float32Array(rows * d));
  const norms = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    let squares = 0;
    for (let k = 0, at = row * d; k < d; k++, at++) {
      unit[at]! += vectors[at]! + bias[k]!;
      squares += unit[at]! ** 2;
    }
    const norm = Math.sqrt(squares) || 1;
    norms[row] = norm;
    for (let k = 0, at = row * d; k < d; k++, at++) unit[at]! /= norm;
  }
  return { unit, norms };
}
