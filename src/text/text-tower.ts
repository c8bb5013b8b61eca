import { InvalidArgumentError } from '../errors';
import type { Embedder } from '../embed';
import type { Adapters } from './adapters';
import type { TextModel } from './text-model';

/**
 * Which tower answers a search: `trained`, QuickSort's text model learned from the dataset's captions (with a
 * projection of the image embeddings into its joint space); `embedding-model`, the text tower of the
 * two-tower model (CLIP, SigLIP) that embedded the images, zero-shot: no captions, no training; `adapted`,
 * that same tower with light adapters on both sides trained on the captions.
 */
export type TextTowerKind = 'trained' | 'adapted' | 'embedding-model';

/**
 * A search space in which texts and the items' images meet: queries and captions are encoded into it, the
 * items' stored image embeddings are brought into it, and the score of a pair is the dot product of unit rows.
 * One interface for both kinds of tower, so search, "image → captions" and the session do not care which.
 */
export interface TextTower {
  readonly kind: TextTowerKind;
  /** The embedding model (`name@hash`) whose image vectors this space takes. */
  readonly imageModel: string;
  /** The dimension of the space. */
  readonly dim: number;
  /** Texts into the space: texts.length × dim, unit rows. Asynchronous: a model's tower runs in a worker. */
  encodeTexts(texts: readonly string[]): Promise<Float32Array>;
  /** Image embeddings of {@link imageModel} (rows × their dim) into the space: rows × dim, unit rows, a buffer of their own. */
  projectImages(vectors: Float32Array): Float32Array;
  /** Frees what the tower holds (a model's worker thread); searching afterwards fails. */
  close(): Promise<void>;
}

/** QuickSort's own text model, trained on the captions: its encoder, and its projection of the image embeddings. */
export class TrainedTower implements TextTower {
  readonly kind = 'trained';

  constructor(
    readonly model: TextModel,
    readonly imageModel: string,
  ) {}

  get dim(): number {
    return this.model.jointDim;
  }

  encodeTexts(texts: readonly string[]): Promise<Float32Array> {
    return Promise.resolve(this.model.encodeText(texts));
  }

  projectImages(vectors: Float32Array): Float32Array {
    return this.model.projectImages(vectors);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The text tower of the two-tower model that embedded the images: its text vectors and the stored image
 * vectors share one space already, so the images only need unit length (the cache keeps them as float16).
 */
export class EmbeddingModelTower implements TextTower {
  readonly kind = 'embedding-model';

  constructor(private readonly embedder: Embedder) {
    if (!embedder.hasText) throw new InvalidArgumentError(`${embedder.modelId} has no text tower`);
  }

  get imageModel(): string {
    return this.embedder.modelId;
  }

  get dim(): number {
    return this.embedder.dim;
  }

  async encodeTexts(texts: readonly string[]): Promise<Float32Array> {
    const rows = await this.embedder.embedTexts(texts);
    const out = new Float32Array(rows.length * this.dim);
    rows.forEach((row, index) => out.set(row, index * this.dim));
    return unitRows(out, this.dim);
  }

  projectImages(vectors: Float32Array): Float32Array {
    if (vectors.length % this.dim !== 0) {
      throw new InvalidArgumentError(`image embeddings of ${vectors.length} values are not whole rows of ${this.dim}, the dimension of ${this.imageModel}`);
    }
    return unitRows(Float32Array.from(vectors), this.dim);
  }

  close(): Promise<void> {
    return this.embedder.close();
  }
}

/**
 * A two-tower model's text tower with adapters trained on the captions: both sides go through the frozen
 * model, then through their adapter (see adapters.ts). Closing it frees the model it wraps.
 */
export class AdaptedTower implements TextTower {
  readonly kind = 'adapted';

  constructor(
    /** The frozen model's tower, zero-shot. */
    readonly base: TextTower,
    readonly adapters: Adapters,
  ) {
    if (adapters.dim !== base.dim) throw new InvalidArgumentError(`the adapters are ${adapters.dim}-d, but ${base.imageModel} gives ${base.dim}-d vectors: train again (quicksort text train)`);
  }

  get imageModel(): string {
    return this.base.imageModel;
  }

  get dim(): number {
    return this.base.dim;
  }

  async encodeTexts(texts: readonly string[]): Promise<Float32Array> {
    return this.adapters.adaptTexts(await this.base.encodeTexts(texts));
  }

  projectImages(vectors: Float32Array): Float32Array {
    return this.adapters.adaptImages(this.base.projectImages(vectors));
  }

  close(): Promise<void> {
    return this.base.close();
  }
}

/** Scales each row to unit length, in place (a zero row stays zero: it matches nothing). */
export function unitRows(vectors: Float32Array, dim: number): Float32Array {
  for (let offset = 0; offset < vectors.length; offset += dim) {
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += vectors[offset + j]! ** 2;
    if (sum === 0) continue;
    const scale = 1 / Math.sqrt(sum);
    for (let j = 0; j < dim; j++) vectors[offset + j]! *= scale;
  }
  return vectors;
}
