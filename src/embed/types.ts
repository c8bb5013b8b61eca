import type { Box } from '../store';

/** An image to embed: a file, or encoded bytes (JPEG, PNG, …); `box` cuts a region first ([x, y, w, h], oriented pixels). */
export type ImageSource = { file: string; box?: Box | null } | { bytes: Uint8Array; box?: Box | null };

/** One image's result: its vector, or why it could not be embedded. */
export type ImageEmbedding = { ok: true; vector: Float32Array } | { ok: false; reason: string };

/** An execution provider that was tried and not used, and why. */
export interface ProviderFallback {
  provider: string;
  reason: string;
}

/**
 * The port every embedding model implements: images (and, for two-tower models, texts) to vectors of one
 * dimension, under a stable id that changes whenever the vectors would.
 *
 * @example
 * const embedder = await loadEmbedder();               // the bundled MobileNetV2
 * const [result] = await embedder.embedImages([{ file: 'cat.jpg' }]);
 * if (result.ok) console.log(result.vector.length);     // 1280
 * await embedder.close();
 */
export interface Embedder {
  /** `name@hash`: changes when the model files, the tensor read or the preprocessing change. */
  readonly modelId: string;
  readonly dim: number;
  /** The execution provider that runs the image model (`cpu`, `cuda`, `webgpu`, …). */
  readonly provider: string;
  /** Providers tried before it, with the reason each was passed over. */
  readonly fallbacks: readonly ProviderFallback[];
  /** The model has a text tower: {@link Embedder.embedTexts} works. */
  readonly hasText: boolean;
  /** Vectors for images, in order; a bad image gets `{ ok: false, reason }` and the rest go on. */
  embedImages(images: readonly ImageSource[], options?: { signal?: AbortSignal }): Promise<ImageEmbedding[]>;
  /** Vectors for texts, in order, in the same space as the images (two-tower models only). */
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}
