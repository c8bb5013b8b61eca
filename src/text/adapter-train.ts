import { InvalidArgumentError } from '../errors';
import { mulberry32 } from '../random';
import { adamUpdate, type AdamSettings } from './adam';
import { adapterLossAndGradients, createAdapters, type AdapterGradients, type Adapters } from './adapters';
import { MAX_LOG_SCALE } from './text-model';
import { batchesOf, DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, shuffled, type TrainingProgress, type TrainingReport } from './train';

/** What adapters learn from: the frozen model's unit image vectors and its unit text vectors of the captions. */
export interface AdapterPairs {
  dim: number;
  /** images × dim, unit rows. */
  images: Float32Array;
  /** captions × dim, unit rows: the model's text tower on each caption. */
  texts: Float32Array;
  /** imageOfCaption[c] is the row in `images` of caption c. */
  imageOfCaption: ArrayLike<number>;
}

export interface AdapterTrainingOptions {
  /** Passes over every caption (default 40). */
  epochs?: number;
  /** Pairs per step, all of different images (default 128). */
  batchSize?: number;
  /** Adam's step size (default 0.001: the residuals start at zero and stay small, near the pretrained space). */
  learningRate?: number;
  /** Seeds the order of the captions. */
  seed?: number;
  signal?: AbortSignal;
}

export const DEFAULT_ADAPTER_LEARNING_RATE = 0.001;

/**
 * Trains adapters on this thread (see train-in-worker.ts for a worker): Adam on both residuals and the
 * temperature, with the symmetric InfoNCE loss, batches of captions of distinct images (as the text model
 * trains). Deterministic for the same pairs and seed.
 */
export function trainAdaptersHere(pairs: AdapterPairs, options: AdapterTrainingOptions = {}, onProgress?: (progress: TrainingProgress) => void): { adapters: Adapters; report: TrainingReport } {
  const started = performance.now();
  const { dim } = pairs;
  const captions = pairs.texts.length / dim;
  if (!Number.isInteger(captions) || pairs.images.length % dim !== 0 || pairs.imageOfCaption.length !== captions) {
    throw new InvalidArgumentError(`adapter pairs do not fit: ${pairs.images.length} image values, ${pairs.texts.length} text values, ${pairs.imageOfCaption.length} caption images, dimension ${dim}`);
  }
  const imagesNamed = new Set(Array.from(pairs.imageOfCaption)).size;
  if (imagesNamed < 2) throw new InvalidArgumentError(`the captions name ${imagesNamed} image(s); contrastive training needs captions of at least 2 different images`);
  const epochs = options.epochs ?? DEFAULT_EPOCHS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const learningRate = options.learningRate ?? DEFAULT_ADAPTER_LEARNING_RATE;
  if (!Number.isInteger(epochs) || epochs <= 0) throw new InvalidArgumentError(`epochs must be a positive whole number; got ${String(epochs)}`);
  if (!Number.isInteger(batchSize) || batchSize < 2) throw new InvalidArgumentError(`batchSize must be a whole number of at least 2; got ${String(batchSize)}`);
  if (!(learningRate > 0)) throw new InvalidArgumentError(`learningRate must be a positive number; got ${String(learningRate)}`);

  const adapters = createAdapters(dim);
  const step = denseAdam(adapters, { learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const random = mulberry32((options.seed ?? 1) ^ 0x5eed);
  const losses: number[] = [];
  let steps = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    let total = 0;
    let batches = 0;
    for (const batch of batchesOf(shuffled(captions, random), pairs.imageOfCaption, batchSize)) {
      options.signal?.throwIfAborted();
      if (batch.length < 2) continue; // one pair has no negative
      const images = new Float32Array(batch.length * dim);
      const texts = new Float32Array(batch.length * dim);
      batch.forEach((caption, b) => {
        const row = pairs.imageOfCaption[caption]!;
        images.set(pairs.images.subarray(row * dim, (row + 1) * dim), b * dim);
        texts.set(pairs.texts.subarray(caption * dim, (caption + 1) * dim), b * dim);
      });
      const { loss, gradients } = adapterLossAndGradients(adapters, images, texts);
      step(gradients);
      total += loss;
      batches += 1;
      steps += 1;
    }
    losses.push(total / Math.max(1, batches));
    onProgress?.({ epoch, epochs, steps, loss: losses[losses.length - 1]! });
  }
  return { adapters, report: { captions, images: imagesNamed, epochs, steps, losses, seconds: (performance.now() - started) / 1000 } };
}

/** Adam over the adapters' four arrays and the temperature (clamped as the text model's: 1 to 100). */
function denseAdam(adapters: Adapters, settings: AdamSettings): (gradients: AdapterGradients) => void {
  const names = ['imageWeights', 'imageBias', 'textWeights', 'textBias'] as const;
  const moments = names.map((name) => ({ name, first: new Float32Array(adapters[name].length), second: new Float32Array(adapters[name].length) }));
  let count = 0;
  let scaleFirst = 0;
  let scaleSecond = 0;
  return (gradients) => {
    count += 1;
    const rate = (settings.learningRate * Math.sqrt(1 - settings.beta2 ** count)) / (1 - settings.beta1 ** count);
    for (const { name, first, second } of moments) adamUpdate(adapters[name], 0, first, 0, second, 0, gradients[name], rate, settings);
    scaleFirst = settings.beta1 * scaleFirst + (1 - settings.beta1) * gradients.logScale;
    scaleSecond = settings.beta2 * scaleSecond + (1 - settings.beta2) * gradients.logScale ** 2;
    const logScale = adapters.logScale - (rate * scaleFirst) / (Math.sqrt(scaleSecond) + settings.epsilon);
    adapters.logScale = Math.min(MAX_LOG_SCALE, Math.max(0, logScale));
  };
}
