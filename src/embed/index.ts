/**
 * The embedding engine: ONNX models as plugins (a JSON manifest each), sharp preprocessing in a worker pool,
 * inference in a worker thread on the first execution provider that works, and a cache of vectors beside
 * the store.
 *
 * @example
 * import { embedDataset, loadEmbeddings } from './embed';
 * await embedDataset(store, 'photos/', { batchSize: 32, onProgress: (p) => console.log(p.done, p.total) });
 * const { ids, dim, vectors } = loadEmbeddings('photos/');
 */
export type { Embedder, ImageEmbedding, ImageSource, ProviderFallback } from './types';
export { OnnxEmbedder, type EmbedderOptions } from './onnx-embedder';
export { embedDataset, loadEmbeddings, cachedEmbeddings, embeddedItemIds, type EmbedOptions, type EmbedProgress, type EmbedReport, type LoadEmbeddingsOptions } from './embed-dataset';
export { EmbeddingCache, type CachedModel, type EmbeddingMatrix, type VectorDtype } from './cache/embedding-cache';
export { encodeHalf, decodeHalf } from './cache/float16';
export { loadManifest, parseManifest } from './manifest/parse-manifest';
export { resolveModel, manifestFromExport, FOLDER_MANIFEST } from './manifest/from-export';
export { recordModelSource, modelSourceOf, MODEL_SOURCES_FILE, type ModelSource } from './model-sources';
export * from './manifest/manifest-types';
export { planPreprocess, planGeometry, planOutputSize, type PreprocessStep, type FailOn } from './preprocess/steps';
export { Preprocessor } from './preprocess/preprocessor';
export { TextTokenizer, type EncodedBatch } from './tokenizer';
export { readModelOutline, type ModelOutline, type TensorInfo } from './onnx/graph-outline';
export { exposeOutputs } from './onnx/expose-outputs';
export { onnxType, ONNX_DATA_TYPE, ONNX_ATTRIBUTE_TYPE } from './onnx/onnx-schema';
export { parseProviders, EXECUTION_PROVIDERS, DEFAULT_PROVIDERS, type ExecutionProvider } from './runtime/providers';
export { DEFAULT_MODEL, defaultModelCacheDir, embeddingCachePath } from './paths';
export type { NoticeSink } from './notices';

import { OnnxEmbedder, type EmbedderOptions } from './onnx-embedder';
import type { ModelManifest } from './manifest/manifest-types';

/**
 * Loads an embedder: the bundled MobileNetV2 by default, or a manifest file, or a CLIP/SigLIP export folder.
 *
 * @example
 * const embedder = await loadEmbedder('~/models/clip-vit-base-patch32');
 */
export function loadEmbedder(model?: string | ModelManifest, options: EmbedderOptions = {}): Promise<OnnxEmbedder> {
  return OnnxEmbedder.load(model, options);
}
