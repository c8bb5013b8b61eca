import { InvalidArgumentError } from '../errors';
import { mulberry32 } from '../random';
import { AdamOptimizer } from './adam';
import { lossAndGradients } from './gradients';
import { createTextModel, type TextModel, type TextModelOptions } from './text-model';
import type { TextFeatures } from './tokenize';

/**
 * What the text tower learns from, as plain data: frozen image embeddings and captions, each caption
 * naming the row of its image. An image may have several captions, or none (it is then never a pair).
 */
export interface TrainingPairs {
  /** images × imageDim, row-major. */
  images: Float32Array;
  imageDim: number;
  captions: readonly string[];
  /** imageOfCaption[c] is the row in `images` of caption c. */
  imageOfCaption: ArrayLike<number>;
}

export interface TrainingOptions extends TextModelOptions {
  /** Passes over every caption (default 40). */
  epochs?: number;
  /** Pairs per step, all of different images (default 128). */
  batchSize?: number;
  /** Adam's step size (default 0.002). */
  learningRate?: number;
  /** Stops between two steps; the training then throws the signal's reason (an AbortError by default). */
  signal?: AbortSignal;
}

/** Sent after every epoch. */
export interface TrainingProgress {
  epoch: number;
  epochs: number;
  steps: number;
  /** The mean loss of the epoch's batches. */
  loss: number;
}

export interface TrainingReport {
  captions: number;
  images: number;
  epochs: number;
  steps: number;
  /** Mean loss per epoch, first to last. */
  losses: number[];
  seconds: number;
}

export const DEFAULT_EPOCHS = 40;
export const DEFAULT_BATCH_SIZE = 128;
export const DEFAULT_LEARNING_RATE = 0.002;

/**
 * Trains a text model on this thread (use {@link trainTextModel} to keep a thread free): a projection of
 * the frozen image embeddings and the text encoder, with the symmetric InfoNCE loss, Adam, for a number of
 * epochs. Deterministic: the same pairs and seed give the same model, to the bit.
 *
 * Several captions of one image never share a batch: an epoch shuffles every caption, then fills each
 * batch with captions of images not in it yet (the rest wait for the next batch). Same-image pairs in one
 * batch would be false negatives for each other, and the targets of both cross-entropies stay one-hot;
 * every caption still trains once per epoch, where sampling one caption per image would drop most of them.
 *
 * @example
 * const { model, report } = trainTextModelHere({ images, imageDim: 1280, captions, imageOfCaption }, { epochs: 30 });
 */
export function trainTextModelHere(
  pairs: TrainingPairs,
  options: TrainingOptions = {},
  onProgress?: (progress: TrainingProgress) => void,
): { model: TextModel; report: TrainingReport } {
  const started = performance.now();
  const imageRows = checkPairs(pairs);
  const epochs = whole(options.epochs ?? DEFAULT_EPOCHS, 'epochs');
  const batchSize = whole(options.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize');
  if (batchSize < 2) throw new InvalidArgumentError(`batchSize must be at least 2 (a contrastive loss needs negatives); got ${batchSize}`);
  const learningRate = options.learningRate ?? DEFAULT_LEARNING_RATE;
  if (!(learningRate > 0)) throw new InvalidArgumentError(`learningRate must be a positive number; got ${String(learningRate)}`);

  const model = createTextModel(pairs.imageDim, options);
  setImageMean(model, pairs);
  const features: TextFeatures[] = pairs.captions.map((caption) => model.features(caption));
  const optimizer = new AdamOptimizer(model, { learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const random = mulberry32((options.seed ?? 1) ^ 0x5eed);
  const losses: number[] = [];
  let steps = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    let total = 0;
    let batches = 0;
    for (const batch of batchesOf(shuffled(pairs.captions.length, random), pairs.imageOfCaption, batchSize)) {
      options.signal?.throwIfAborted();
      if (batch.length < 2) continue; // one pair has no negative
      const images = new Float32Array(batch.length * pairs.imageDim);
      batch.forEach((caption, b) => {
        const row = pairs.imageOfCaption[caption]!;
        images.set(pairs.images.subarray(row * pairs.imageDim, (row + 1) * pairs.imageDim), b * pairs.imageDim);
      });
      const { loss, gradients } = lossAndGradients(model, { images, captions: batch.map((caption) => features[caption]!) });
      optimizer.apply(gradients);
      total += loss;
      batches += 1;
      steps += 1;
    }
    losses.push(total / Math.max(1, batches));
    onProgress?.({ epoch, epochs, steps, loss: losses[losses.length - 1]! });
  }
  const report: TrainingReport = {
    captions: pairs.captions.length,
    images: imageRows,
    epochs,
    steps,
    losses,
    seconds: (performance.now() - started) / 1000,
  };
  return { model, report };
}

/** Validates the pairs; returns how many distinct images they name. */
function checkPairs(pairs: TrainingPairs): number {
  whole(pairs.imageDim, 'imageDim');
  if (!(pairs.images instanceof Float32Array) || pairs.images.length % pairs.imageDim !== 0) {
    throw new InvalidArgumentError(`images must be a Float32Array of whole rows of imageDim (${pairs.imageDim}); got ${pairs.images?.length} values`);
  }
  const rows = pairs.images.length / pairs.imageDim;
  if (pairs.imageOfCaption.length !== pairs.captions.length) {
    throw new InvalidArgumentError(`imageOfCaption has ${pairs.imageOfCaption.length} entries but there are ${pairs.captions.length} captions: give the image row of every caption`);
  }
  const named = new Set<number>();
  for (let c = 0; c < pairs.captions.length; c++) {
    const row = pairs.imageOfCaption[c]!;
    if (!Number.isInteger(row) || row < 0 || row >= rows) {
      throw new InvalidArgumentError(`imageOfCaption[${c}] is ${String(row)}, but the images have rows 0 to ${rows - 1}`);
    }
    if (typeof pairs.captions[c] !== 'string') throw new InvalidArgumentError(`captions[${c}] is not a string (${typeof pairs.captions[c]})`);
    named.add(row);
  }
  if (named.size < 2) {
    throw new InvalidArgumentError(`the captions name ${named.size} image(s); contrastive training needs captions of at least 2 different images`);
  }
  return named.size;
}

/** The mean of the images that have captions: the projection then starts from centred embeddings. */
function setImageMean(model: TextModel, pairs: TrainingPairs): void {
  const dim = pairs.imageDim;
  const rows = [...new Set(Array.from(pairs.imageOfCaption))];
  const sums = new Float64Array(dim);
  for (const row of rows) for (let c = 0; c < dim; c++) sums[c]! += pairs.images[row * dim + c]!;
  for (let c = 0; c < dim; c++) model.imageMean[c] = sums[c]! / rows.length;
}

export function shuffled(count: number, random: () => number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Batches of captions of distinct images, in the shuffled order; a caption whose image is taken waits. */
export function* batchesOf(order: readonly number[], imageOfCaption: ArrayLike<number>, batchSize: number): Generator<number[]> {
  let waiting = order;
  while (waiting.length > 0) {
    const batch: number[] = [];
    const images = new Set<number>();
    const later: number[] = [];
    for (const caption of waiting) {
      const image = imageOfCaption[caption]!;
      if (batch.length < batchSize && !images.has(image)) {
        batch.push(caption);
        images.add(image);
      } else {
        later.push(caption);
      }
    }
    yield batch;
    waiting = later;
  }
}

function whole(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number; got ${String(value)}`);
  return value;
}
