import { InvalidArgumentError } from '../errors';
import { mulberry32 } from '../random';
import { multiplyTransposed } from './multiply';

export interface HeadOptions {
  /** L2 penalty on the weights. */
  l2?: number;
  /** Step size of the updates (embeddings are unit length); 3 measured best on Fashion-MNIST features. */
  learningRate?: number;
  /** Minibatch steps taken after each new label. */
  onlineSteps?: number;
  /** Examples per minibatch: the new label plus earlier ones replayed at random, so old classes are not forgotten. */
  batchSize?: number;
  /** Snapshots kept for exact undo of the latest labels. */
  undoDepth?: number;
  seed?: number;
}

interface Example {
  x: Float32Array;
  y: number;
  /** x's values from here on are zero: the step does not read them. */
  length: number;
}

interface Scratch {
  B: number;
  C: number;
  rows: Float32Array;
  columns: Float32Array;
  rowLengths: Int32Array;
  columnLengths: Int32Array;
  scores: Float32Array;
  gradients: Float32Array;
  update: Float32Array;
}

interface Snapshot {
  key: number;
  weights: Float32Array;
  bias: Float32Array;
  previous: Example | undefined;
  classCount: number;
  heldOutAdded: boolean;
}

/** The weights of a head, as the batch scorer reads them: logits = W·x + b, W row-major C × D. */
export interface HeadWeights {
  classes: readonly string[];
  dim: number;
  weights: Float32Array;
  bias: Float32Array;
  temperature: number;
}

/**
 * A softmax (multinomial logistic) classifier on embeddings that learns from every label as it arrives: a
 * few minibatch steps on the new label and replayed old ones, warm-started from the current weights.
 * Classes are added on the fly. Probabilities are calibrated with a temperature fitted to the head's own
 * predictions made *before* each label was learned (honest held-out predictions, for free). Undo of the
 * latest labels restores the exact weights from before them.
 *
 * @example
 * const head = new SoftmaxHead(1280);
 * head.learn(itemId, vector, 'cat');
 * const { label, confidence } = head.suggest(otherVector)!;
 */
export class SoftmaxHead {
  readonly dim: number;
  temperature = 1;
  private names: string[] = [];
  private weights = new Float32Array(0);
  private bias = new Float32Array(0);
  private readonly examples = new Map<number, Example>();
  private exampleKeys: number[] = [];
  private readonly snapshots: Snapshot[] = [];
  private readonly heldOut: { logits: Float32Array; y: number }[] = [];
  private readonly options: Required<HeadOptions>;
  private random: () => number;
  private scratch: Scratch | undefined;
  private batchLabels = new Int32Array(0);
  /** Labels learned since the last full fit. */
  learnedSinceFit = 0;
  /** Counts the labels forgotten: a refit in the background that saw one of them is thrown away. */
  private forgotten = 0;
  /** Labels learned while a refit runs in the background, replayed onto its weights when it is installed. */
  private learnedDuringRefit: number[] | undefined;

  constructor(dim: number, options: HeadOptions = {}) {
    if (!Number.isInteger(dim) || dim <= 0) throw new InvalidArgumentError(`the head's dimension must be a positive integer; got ${dim}`);
    this.dim = dim;
    this.options = { l2: 1e-4, learningRate: 3, onlineSteps: 3, batchSize: 32, undoDepth: 64, seed: 1, ...options };
    this.random = mulberry32(this.options.seed);
  }

  get classes(): readonly string[] {
    return this.names;
  }

  /** Number of labeled examples the head learned from. */
  get size(): number {
    return this.examples.size;
  }

  addClass(name: string): number {
    const existing = this.names.indexOf(name);
    if (existing >= 0) return existing;
    const grown = new Float32Array((this.names.length + 1) * this.dim);
    grown.set(this.weights);
    this.weights = grown;
    const grownBias = new Float32Array(this.names.length + 1);
    grownBias.set(this.bias);
    // A new class starts below the others so it does not steal every prediction before it has examples.
    grownBias[this.names.length] = this.names.length ? Math.min(...this.bias) - 1 : 0;
    this.bias = grownBias;
    this.names.push(name);
    return this.names.length - 1;
  }

  /** Raw scores, one per class, before the softmax. */
  logits(x: Float32Array, out: Float32Array = new Float32Array(this.names.length)): Float32Array {
    this.checkDim(x);
    const { dim, weights, bias } = this;
    for (let c = 0; c < this.names.length; c++) {
      let sum = bias[c]!;
      const offset = c * dim;
      for (let j = 0; j < dim; j++) sum += weights[offset + j]! * x[j]!;
      out[c] = sum;
    }
    return out;
  }

  /** Calibrated class probabilities. */
  predict(x: Float32Array): Float32Array {
    return softmaxInPlace(this.logits(x), this.temperature);
  }

  /** The most likely class with its probability and the runners-up, or undefined before any class exists. */
  suggest(x: Float32Array, alternatives = 3): Suggestion | undefined {
    if (this.names.length === 0 || this.examples.size === 0) return undefined;
    return suggestionFrom(this.predict(x), this.names, alternatives);
  }

  /** Learns one label; `key` (the item id) lets a relabel replace the earlier example and undo find it. */
  learn(key: number, x: Float32Array, label: string): void {
    this.checkDim(x);
    const known = this.names.indexOf(label);
    const heldOutAdded = known >= 0 && this.names.length > 1 && this.examples.size > 0;
    if (heldOutAdded) {
      this.heldOut.push({ logits: this.logits(x), y: known });
      if (this.heldOut.length > 2000) this.heldOut.shift();
    }
    const snapshot = { key, weights: this.weights.slice(), bias: this.bias.slice(), previous: this.examples.get(key), classCount: this.names.length, heldOutAdded };
    const y = this.addClass(label);
    this.snapshots.push(snapshot);
    if (this.snapshots.length > this.options.undoDepth) this.snapshots.shift();
    this.setExample(key, { x, y, length: supportLength(x) });
    for (let step = 0; step < this.options.onlineSteps; step++) this.step(key, this.options.learningRate);
    this.learnedSinceFit++;
    this.learnedDuringRefit?.push(key);
  }

  /**
   * Removes a label's effect. The latest label's exact prior weights are restored; an older one is dropped
   * and the head refitted on what remains.
   */
  forget(key: number): void {
    this.forgotten++;
    const last = this.snapshots.at(-1);
    if (last && last.key === key) {
      this.snapshots.pop();
      if (last.previous) this.setExample(key, last.previous);
      else this.deleteExample(key);
      if (last.heldOutAdded) this.heldOut.pop();
      // A class that only this label introduced goes too, so the suggestions are exactly those from before.
      const classCount = [...this.examples.values()].some((e) => e.y >= last.classCount) ? this.names.length : last.classCount;
      this.names.length = classCount;
      this.weights = new Float32Array(classCount * this.dim);
      this.weights.set(last.weights);
      this.bias = new Float32Array(classCount);
      this.bias.set(last.bias);
      if (classCount > last.classCount) this.bias.fill(last.bias.length ? Math.min(...last.bias) - 1 : 0, last.classCount);
      return;
    }
    if (!this.examples.has(key)) return;
    this.deleteExample(key);
    this.snapshots.length = 0;
    this.fit();
  }

  /** Retrains from scratch on every example (a full pass; call it in the background when enough labels arrived). */
  fit(epochs = 100): void {
    for (const _ of this.fitting(epochs));
  }

  /** {@link fit}, one minibatch step per iteration: a caller can yield to other work between steps. */
  *fitting(epochs = 100): Generator<void> {
    this.weights.fill(0);
    this.bias.fill(0);
    this.snapshots.length = 0;
    const n = this.examples.size;
    if (n === 0) return;
    const batches = Math.max(1, Math.ceil(n / this.options.batchSize));
    for (let epoch = 0; epoch < epochs; epoch++) {
      const rate = this.options.learningRate * (1 - epoch / (epochs + 1));
      for (let batch = 0; batch < batches; batch++) {
        this.step(undefined, rate);
        yield;
      }
    }
    this.learnedSinceFit = 0;
    this.calibrate();
  }

  /**
   * {@link fitting} for a head in use: the new weights are fitted in buffers of their own while this head
   * goes on learning and answering, over the examples as they are at each step; the labels learned meanwhile
   * then get their online steps again on them, and they replace the weights in use. Returns false,
   * installing nothing, when a label was forgotten meanwhile (undo must find the weights it expects): start
   * another. One at a time.
   */
  *refitting(epochs = 100): Generator<void, boolean> {
    const n = this.examples.size;
    if (n === 0 || this.learnedDuringRefit) return false;
    const forgotten = this.forgotten;
    const target = { weights: new Float32Array(this.names.length * this.dim), bias: new Float32Array(this.names.length) };
    this.learnedDuringRefit = [];
    try {
      const batches = Math.max(1, Math.ceil(n / this.options.batchSize));
      for (let epoch = 0; epoch < epochs; epoch++) {
        const rate = this.options.learningRate * (1 - epoch / (epochs + 1));
        for (let batch = 0; batch < batches; batch++) {
          this.growToClasses(target);
          this.step(undefined, rate, target);
          yield;
          if (this.forgotten !== forgotten) return false;
        }
      }
      // The labels learned meanwhile get their online steps again on the new weights, a step at a time too
      // (the list grows while this runs).
      const learned = this.learnedDuringRefit;
      for (let i = 0; i < learned.length; i++) {
        if (!this.examples.has(learned[i]!)) continue;
        for (let step = 0; step < this.options.onlineSteps; step++) {
          this.growToClasses(target);
          this.step(learned[i], this.options.learningRate, target);
          yield;
          if (this.forgotten !== forgotten) return false;
        }
      }
      this.growToClasses(target);
      this.weights = target.weights;
      this.bias = target.bias;
      this.snapshots.length = 0;
      this.learnedSinceFit = learned.length;
      this.calibrate();
      return true;
    } finally {
      this.learnedDuringRefit = undefined;
    }
  }

  /** Rows for the classes added since `target` was made (a new class starts below the others, as in addClass). */
  private growToClasses(target: { weights: Float32Array; bias: Float32Array }): void {
    const classes = this.names.length;
    const had = target.bias.length;
    if (had === classes) return;
    const weights = new Float32Array(classes * this.dim);
    weights.set(target.weights);
    const bias = new Float32Array(classes);
    bias.set(target.bias);
    bias.fill(had ? Math.min(...target.bias) - 1 : 0, had);
    target.weights = weights;
    target.bias = bias;
  }

  /** Fits the temperature to the held-out predictions (a 1-D search on their log-likelihood). */
  calibrate(): void {
    if (this.heldOut.length < 20) return;
    let best = { temperature: 1, loss: Infinity };
    for (let t = 0.25; t <= 8; t *= 1.1) {
      let loss = 0;
      for (const { logits, y } of this.heldOut) {
        const probabilities = softmaxInPlace(logits.slice(0, this.names.length), t);
        loss -= Math.log(Math.max(probabilities[y] ?? 0, 1e-12));
      }
      if (loss < best.loss) best = { temperature: t, loss };
    }
    this.temperature = best.temperature;
  }

  /** Share of labels the head predicted right before learning them (its honest running accuracy). */
  heldOutAccuracy(last = 200): number | undefined {
    const recent = this.heldOut.slice(-last);
    if (recent.length === 0) return undefined;
    return recent.filter(({ logits, y }) => argmax(logits) === y).length / recent.length;
  }

  exportWeights(): HeadWeights {
    return { classes: [...this.names], dim: this.dim, weights: this.weights, bias: this.bias, temperature: this.temperature };
  }

  /** One minibatch gradient step on cross-entropy + L2; `include` is always in the batch (the new label). */
  private step(include: number | undefined, rate: number, target?: { weights: Float32Array; bias: Float32Array }): void {
    const C = this.names.length;
    const n = this.exampleKeys.length;
    if (C < 2 || n === 0) return;
    const B = Math.min(this.options.batchSize, n);
    const { dim } = this;
    const weights = target ? target.weights : this.weights;
    const bias = target ? target.bias : this.bias;
    const { rows, columns, rowLengths, columnLengths, scores, gradients, update } = this.scratchFor(B, C);
    const batch: Example[] = [];
    for (let e = 0; e < B; e++) {
      const key = e === 0 && include !== undefined ? include : this.exampleKeys[Math.floor(this.random() * n)]!;
      batch.push(this.examples.get(key)!);
    }
    // Longest first, so that the zeros at the ends of examples (see span-basis.ts) are skipped by whole tiles.
    batch.sort((a, b) => b.length - a.length);
    columnLengths.fill(0);
    batch.forEach(({ x, y, length }, e) => {
      rows.set(x, e * dim);
      rowLengths[e] = length;
      // The same rows column-wise (dim × B): the gradient below is another product of the same kernel.
      // Column j holds the examples longer than j, a prefix of the batch; the rest of it is not read.
      for (let j = 0; j < length; j++) {
        columns[j * B + e] = x[j]!;
        columnLengths[j] = e + 1;
      }
      this.batchLabels[e] = y;
    });

    // Forward: scores = X·Wᵀ + b, then softmax − one-hot: ∂loss/∂logits, one row per example.
    multiplyTransposed(rows, B, weights, C, dim, scores, rowLengths);
    for (let e = 0; e < B; e++) {
      const row = scores.subarray(e * C, (e + 1) * C);
      for (let c = 0; c < C; c++) row[c]! += bias[c]!;
      softmaxInPlace(row, 1);
      row[this.batchLabels[e]!]! -= 1;
      for (let c = 0; c < C; c++) gradients[c * B + e] = row[c]!;
    }

    // Backward: ∂loss/∂W = Gᵀ·X (C × dim), with the L2 decay folded into the update.
    multiplyTransposed(gradients, C, columns, dim, B, update, undefined, columnLengths);
    const scale = rate / B;
    const decay = 1 - rate * this.options.l2;
    for (let i = 0; i < C * dim; i++) weights[i] = weights[i]! * decay - scale * update[i]!;
    for (let c = 0; c < C; c++) {
      let gradientBias = 0;
      for (let e = 0; e < B; e++) gradientBias += gradients[c * B + e]!;
      bias[c]! -= scale * gradientBias;
    }
  }

  /** Buffers for a step of `B` examples and `C` classes, reused from step to step (a step runs thousands of times). */
  private scratchFor(B: number, C: number): Scratch {
    const { dim } = this;
    let scratch = this.scratch;
    if (!scratch || scratch.B !== B || scratch.C !== C) {
      const reuse = scratch?.B === B ? scratch : undefined;
      scratch = {
        B,
        C,
        rows: reuse?.rows ?? new Float32Array(B * dim),
        columns: reuse?.columns ?? new Float32Array(dim * B),
        rowLengths: reuse?.rowLengths ?? new Int32Array(B),
        columnLengths: reuse?.columnLengths ?? new Int32Array(dim),
        scores: new Float32Array(B * C),
        gradients: new Float32Array(C * B),
        update: new Float32Array(C * dim),
      };
      this.scratch = scratch;
      if (this.batchLabels.length < B) this.batchLabels = new Int32Array(B);
    }
    return scratch;
  }

  private setExample(key: number, example: Example): void {
    if (!this.examples.has(key)) this.exampleKeys.push(key);
    this.examples.set(key, example);
  }

  private deleteExample(key: number): void {
    if (!this.examples.delete(key)) return;
    this.exampleKeys = this.exampleKeys.filter((k) => k !== key);
  }

  private checkDim(x: Float32Array): void {
    if (x.length !== this.dim) throw new InvalidArgumentError(`the head expects ${this.dim}-d vectors; got ${x.length}-d`);
  }
}

/** One past the last non-zero value of `x`. */
function supportLength(x: Float32Array): number {
  let length = x.length;
  while (length > 0 && x[length - 1] === 0) length--;
  return length;
}

export interface Suggestion {
  label: string;
  confidence: number;
  alternatives: { label: string; confidence: number }[];
}

export function suggestionFrom(probabilities: ArrayLike<number>, classes: readonly string[], alternatives = 3): Suggestion {
  const order = Array.from(classes.keys()).sort((a, b) => probabilities[b]! - probabilities[a]!);
  const [first, ...rest] = order;
  return {
    label: classes[first!]!,
    confidence: probabilities[first!]!,
    alternatives: rest.slice(0, alternatives).map((c) => ({ label: classes[c]!, confidence: probabilities[c]! })),
  };
}

/** Softmax of `values / temperature`, in place; returns `values`. */
export function softmaxInPlace(values: Float32Array, temperature: number): Float32Array {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    values[i] = Math.exp((values[i]! - max) / temperature);
    sum += values[i]!;
  }
  for (let i = 0; i < values.length; i++) values[i]! /= sum;
  return values;
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
