import { multiplyTransposed } from '../learn';
import type { TextFeatures } from './tokenize';
import type { TextModel } from './text-model';

/** One batch of pairs: row b of `images` (batch × imageDim) is the image of caption b; all images differ. */
export interface PairBatch {
  images: Float32Array;
  captions: readonly TextFeatures[];
}

/** The gradient of the loss for every parameter; the table's only for the rows the batch read. */
export interface Gradients {
  imageWeights: Float32Array;
  imageBias: Float32Array;
  textWeights: Float32Array;
  textBias: Float32Array;
  logScale: number;
  /** table row → its gradient (wordDim values). */
  rows: Map<number, Float32Array>;
}

/**
 * The symmetric InfoNCE loss of a batch (CLIP's): logits = exp(logScale) · cos(image_i, text_j); the mean of
 * the image→text cross-entropy over each row and the text→image one over each column, the pair on the
 * diagonal being the positive. Returns the loss and its exact gradients (checked against finite
 * differences in tests/text/gradients.test.ts).
 */
export function lossAndGradients(model: TextModel, batch: PairBatch): { loss: number; gradients: Gradients } {
  const n = batch.captions.length;
  const { jointDim: d, imageDim, wordDim } = model.settings;
  const image = model.projectImageRows(batch.images, n);
  const bags = model.bags(batch.captions);
  const text = model.projectBags(bags, n);
  const { loss, gradImage, gradText, logScale } = symmetricInfoNce(image.joint, text.joint, n, d, model.logScale);
  throughNormalization(gradImage, image.joint, image.norms, n, d);
  throughNormalization(gradText, text.joint, text.norms, n, d);

  const gradients: Gradients = {
    imageWeights: outerSum(gradImage, image.centred, n, d, imageDim),
    imageBias: columnSums(gradImage, n, d),
    textWeights: outerSum(gradText, bags, n, d, wordDim),
    textBias: columnSums(gradText, n, d),
    logScale,
    rows: new Map(),
  };
  // dBag = dV · W_t; each row of a mean gets its share.
  const gradBags = new Float32Array(n * wordDim);
  const textWeights = model.textWeights;
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < d; k++) {
      const g = gradText[b * d + k]!;
      if (g === 0) continue;
      for (let c = 0, at = k * wordDim, out = b * wordDim; c < wordDim; c++, at++, out++) gradBags[out]! += g * textWeights[at]!;
    }
    shareAmong(gradients.rows, batch.captions[b]!.words, gradBags, b * wordDim, wordDim);
    shareAmong(gradients.rows, batch.captions[b]!.subwords, gradBags, b * wordDim, wordDim);
  }
  return { loss, gradients };
}

/**
 * The symmetric InfoNCE loss of n pairs of unit rows (row i of each side is a pair; the others of the batch
 * its negatives), logits = exp(logScale) · cos, and its gradient with respect to the unit rows of each side
 * and to logScale: what any pair of towers trains with, whatever lies before their normalisation.
 */
export function symmetricInfoNce(
  imageJoint: Float32Array,
  textJoint: Float32Array,
  n: number,
  d: number,
  logScaleNow: number,
): { loss: number; gradImage: Float32Array; gradText: Float32Array; logScale: number } {
  const scale = Math.exp(logScaleNow);
  // Float32 out, as every other call of the product here: one array type keeps it monomorphic (fast).
  const cosines = multiplyTransposed(imageJoint, n, textJoint, n, d, new Float32Array(n * n));
  const logits = new Float64Array(n * n);
  for (let i = 0; i < logits.length; i++) logits[i] = cosines[i]! * scale;

  // dLoss/dlogits = (softmax over each row − I + softmax over each column − I) / 2n.
  const gradLogits = new Float64Array(n * n);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let largest = -Infinity;
    for (let j = 0; j < n; j++) largest = Math.max(largest, logits[i * n + j]!);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(logits[i * n + j]! - largest);
    const logSum = largest + Math.log(sum);
    loss -= logits[i * n + i]! - logSum;
    for (let j = 0; j < n; j++) gradLogits[i * n + j]! += Math.exp(logits[i * n + j]! - logSum);
    gradLogits[i * n + i]! -= 1;
  }
  for (let j = 0; j < n; j++) {
    let largest = -Infinity;
    for (let i = 0; i < n; i++) largest = Math.max(largest, logits[i * n + j]!);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.exp(logits[i * n + j]! - largest);
    const logSum = largest + Math.log(sum);
    loss -= logits[j * n + j]! - logSum;
    for (let i = 0; i < n; i++) gradLogits[i * n + j]! += Math.exp(logits[i * n + j]! - logSum);
    gradLogits[j * n + j]! -= 1;
  }
  loss /= 2 * n;
  let logScale = 0;
  for (let i = 0; i < gradLogits.length; i++) {
    gradLogits[i]! /= 2 * n;
    logScale += gradLogits[i]! * logits[i]!; // d logits / d logScale = logits
  }

  // Through the cosines: dU = s·G·T, dT = s·Gᵀ·U.
  const gradImage = new Float32Array(n * d);
  const gradText = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const g = scale * gradLogits[i * n + j]!;
      if (g === 0) continue;
      for (let k = 0, atI = i * d, atJ = j * d; k < d; k++, atI++, atJ++) {
        gradImage[atI]! += g * textJoint[atJ]!;
        gradText[atJ]! += g * imageJoint[atI]!;
      }
    }
  }
  return { loss, gradImage, gradText, logScale };
}

/** u = v/|v| ⇒ dv = (du − u·(u·du)) / |v|, in place. */
export function throughNormalization(grad: Float32Array, unit: Float32Array, norms: Float32Array, n: number, d: number): void {
  for (let row = 0; row < n; row++) {
    let dot = 0;
    for (let k = 0, at = row * d; k < d; k++, at++) dot += unit[at]! * grad[at]!;
    for (let k = 0, at = row * d; k < d; k++, at++) grad[at] = (grad[at]! - unit[at]! * dot) / norms[row]!;
  }
}

/** Σ_b g_b x_bᵀ: (d × dim) from g (n × d) and x (n × dim), as one tiled product of the transposes. */
export function outerSum(g: Float32Array, x: Float32Array, n: number, d: number, dim: number): Float32Array {
  return multiplyTransposed(transpose(g, n, d), d, transpose(x, n, dim), dim, n, new Float32Array(d * dim));
}

function transpose(matrix: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = matrix[r * columns + c]!;
  return out;
}

export function columnSums(matrix: Float32Array, rows: number, columns: number): Float32Array {
  const sums = new Float32Array(columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) sums[c]! += matrix[r * columns + c]!;
  return sums;
}

function shareAmong(rows: Map<number, Float32Array>, touched: Int32Array, grad: Float32Array, offset: number, dim: number): void {
  if (touched.length === 0) return;
  const share = 1 / touched.length;
  for (const row of touched) {
    let slot = rows.get(row);
    if (!slot) rows.set(row, (slot = new Float32Array(dim)));
    for (let c = 0; c < dim; c++) slot[c]! += grad[offset + c]! * share;
  }
}
