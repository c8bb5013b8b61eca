import { InvalidArgumentError } from '../errors';
import { multiplyTransposed } from '../learn';
import { mulberry32 } from '../random';
import { featuresOf, type TextFeatures, type TokenizerSettings } from './tokenize';
import { loadWordVectors, type WordVectors } from './word-vectors';

/** The shape of a text model: what it reads and the joint space it writes. */
export interface TextModelSettings extends TokenizerSettings {
  /** Dimensions of the frozen image embeddings it projects (1280 for the default MobileNetV2). */
  imageDim: number;
  /** Dimensions of the joint space. */
  jointDim: number;
  /** Dimensions of a word row (the word vectors'). */
  wordDim: number;
  /** The word-vectors folder its vocabulary rows started from, and that file's checksum. */
  wordVectorsFolder: string;
  wordVectorsChecksum: string;
}

/** Options of a new, untrained model; every one has a default. */
export interface TextModelOptions {
  jointDim?: number;
  buckets?: number;
  minGram?: number;
  maxGram?: number;
  bigrams?: boolean;
  /** Seeds the random projections: the same seed, the same model. */
  seed?: number;
  /** Another word-vectors folder (tests); the bundled one by default. */
  wordVectorsFolder?: string;
}

export const DEFAULT_JOINT_DIM = 128;
export const DEFAULT_BUCKETS = 1 << 15;
/** CLIP's initial temperature (1/0.07) and its ceiling (100), as natural logarithms. */
export const INITIAL_LOG_SCALE = Math.log(1 / 0.07);
export const MAX_LOG_SCALE = Math.log(100);

/**
 * A text tower and an image projection into one joint space, LiT-style: the image embeddings stay frozen,
 * only their linear projection learns. A text is the mean of its word rows plus the mean of its subword
 * rows (see tokenize.ts), projected linearly; both sides end at unit length, so a score is a cosine.
 *
 * @example
 * const model = createTextModel(1280);
 * const queries = model.encodeText(['a shiny red car']);     // 1 × 128, unit rows
 * const images = model.projectImages(embeddings);            // n × 128, unit rows
 */
export class TextModel {
  /** Rows the training changed (vocabulary rows moved off their word vectors, buckets off zero). */
  readonly trainedRows = new Set<number>();

  constructor(
    readonly settings: TextModelSettings,
    /** (vocabulary + buckets) × wordDim: word rows from the word vectors, bucket rows from zero. */
    readonly table: Float32Array,
    /** Subtracted from each image embedding first (the training images' mean). */
    readonly imageMean: Float32Array,
    /** jointDim × imageDim and jointDim. */
    readonly imageWeights: Float32Array,
    readonly imageBias: Float32Array,
    /** jointDim × wordDim and jointDim. */
    readonly textWeights: Float32Array,
    readonly textBias: Float32Array,
    /** log of the scale the cosines are multiplied by before the softmax (1 / temperature). */
    public logScale: number,
  ) {}

  get jointDim(): number {
    return this.settings.jointDim;
  }

  get imageDim(): number {
    return this.settings.imageDim;
  }

  /** The temperature the model learned (CLIP's τ): scores are cosine / τ before a softmax. */
  get temperature(): number {
    return Math.exp(-this.logScale);
  }

  /** The rows of the table a text reads. */
  features(text: string): TextFeatures {
    return featuresOf(text, wordVectorsOf(this.settings).rowOf, this.settings);
  }

  /** Texts into the joint space: n × jointDim, each row of unit length. */
  encodeText(texts: readonly string[]): Float32Array {
    const bags = this.bags(texts.map((text) => this.features(text)));
    return this.projectBags(bags, texts.length).joint;
  }

  /**
   * Frozen image embeddings (n × imageDim, row-major) into the joint space: n × jointDim, unit rows.
   * Rank images for a query with dot products of its row and these.
   */
  projectImages(matrix: Float32Array): Float32Array {
    if (matrix.length % this.imageDim !== 0) {
      throw new InvalidArgumentError(`image embeddings of ${matrix.length} values are not whole rows of ${this.imageDim}: this text model was trained on ${this.imageDim}-d embeddings (the dataset's model may have changed; train again)`);
    }
    return this.projectImageRows(matrix, matrix.length / this.imageDim).joint;
  }

  /** bag = mean(word rows) + mean(subword rows), n × wordDim. */
  bags(features: readonly TextFeatures[]): Float32Array {
    const dim = this.settings.wordDim;
    const bags = new Float32Array(features.length * dim);
    features.forEach((feature, index) => {
      addMean(this.table, feature.words, dim, bags, index * dim);
      addMean(this.table, feature.subwords, dim, bags, index * dim);
    });
    return bags;
  }

  /** The text projection: raw (before normalising), its row norms and the unit rows. */
  projectBags(bags: Float32Array, rows: number): Projection {
    return project(bags, rows, this.textWeights, this.textBias, this.jointDim, this.settings.wordDim);
  }

  /** The image projection of rows × imageDim embeddings (the mean is subtracted here). */
  projectImageRows(matrix: Float32Array, rows: number): Projection & { centred: Float32Array } {
    const dim = this.imageDim;
    const centred = new Float32Array(rows * dim);
    for (let row = 0; row < rows; row++) {
      for (let column = 0, at = row * dim; column < dim; column++, at++) centred[at] = matrix[at]! - this.imageMean[column]!;
    }
    return { ...project(centred, rows, this.imageWeights, this.imageBias, this.jointDim, dim), centred };
  }
}

export interface Projection {
  raw: Float32Array;
  norms: Float32Array;
  joint: Float32Array;
}

function project(input: Float32Array, rows: number, weights: Float32Array, bias: Float32Array, out: number, dim: number): Projection {
  const raw = multiplyTransposed(input, rows, weights, out, dim, new Float32Array(rows * out));
  const norms = new Float32Array(rows);
  const joint = new Float32Array(rows * out);
  for (let row = 0; row < rows; row++) {
    let squares = 0;
    for (let d = 0, at = row * out; d < out; d++, at++) {
      raw[at]! += bias[d]!;
      squares += raw[at]! * raw[at]!;
    }
    // A text with no row at all (empty) projects to the bias alone; a zero vector stays zero, not NaN.
    const norm = Math.sqrt(squares) || 1;
    norms[row] = norm;
    for (let d = 0, at = row * out; d < out; d++, at++) joint[at] = raw[at]! / norm;
  }
  return { raw, norms, joint };
}

function addMean(table: Float32Array, rows: Int32Array, dim: number, out: Float32Array, offset: number): void {
  if (rows.length === 0) return;
  const weight = 1 / rows.length;
  for (const row of rows) {
    for (let column = 0, at = row * dim; column < dim; column++, at++) out[offset + column]! += table[at]! * weight;
  }
}

function wordVectorsOf(settings: TextModelSettings): WordVectors {
  return loadWordVectors(settings.wordVectorsFolder);
}

/**
 * A new, untrained model: the vocabulary rows are the word vectors, the bucket rows zero (a bucket's
 * gradient does not depend on its value, so zero learns as well as noise, adds nothing to texts whose
 * n-grams training never saw, and need not be saved), both projections random (Gaussian, variance 1/fan-in).
 * Untrained, it is the baseline "mean of word vectors through a random projection".
 *
 * @example
 * const baseline = createTextModel(1280, { seed: 7 });
 */
export function createTextModel(imageDim: number, options: TextModelOptions = {}): TextModel {
  const words = loadWordVectors(options.wordVectorsFolder);
  const settings: TextModelSettings = {
    imageDim: positiveInteger(imageDim, 'imageDim'),
    jointDim: positiveInteger(options.jointDim ?? DEFAULT_JOINT_DIM, 'jointDim'),
    wordDim: words.dim,
    vocabularySize: words.words.length,
    buckets: positiveInteger(options.buckets ?? DEFAULT_BUCKETS, 'buckets'),
    minGram: positiveInteger(options.minGram ?? 3, 'minGram'),
    maxGram: positiveInteger(options.maxGram ?? 5, 'maxGram'),
    bigrams: options.bigrams ?? true,
    wordVectorsFolder: words.folder,
    wordVectorsChecksum: words.checksum,
  };
  if (settings.maxGram < settings.minGram) throw new InvalidArgumentError(`maxGram (${settings.maxGram}) must be at least minGram (${settings.minGram})`);
  const random = gaussian(options.seed ?? 1);
  const randomMatrix = (rows: number, columns: number) => {
    const matrix = new Float32Array(rows * columns);
    const spread = 1 / Math.sqrt(columns);
    for (let i = 0; i < matrix.length; i++) matrix[i] = random() * spread;
    return matrix;
  };
  return new TextModel(
    settings,
    initialTable(settings, words),
    new Float32Array(settings.imageDim),
    randomMatrix(settings.jointDim, settings.imageDim),
    new Float32Array(settings.jointDim),
    randomMatrix(settings.jointDim, settings.wordDim),
    new Float32Array(settings.jointDim),
    INITIAL_LOG_SCALE,
  );
}

/** The table before training: word vectors, then zero buckets. */
export function initialTable(settings: TextModelSettings, words: WordVectors): Float32Array {
  const table = new Float32Array((settings.vocabularySize + settings.buckets) * settings.wordDim);
  table.set(words.vectors);
  return table;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number; got ${String(value)}`);
  return value;
}

/** Standard normal numbers from a seed (Box–Muller over mulberry32). */
function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => {
    const u = 1 - uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}
