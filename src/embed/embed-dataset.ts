import { statSync } from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../errors';
import type { ItemFilter, LabelStore, StoreReader } from '../store';
import { EmbeddingCache, type EmbeddingMatrix, type VectorDtype } from './cache/embedding-cache';
import type { ModelManifest } from './manifest/manifest-types';
import { recordModelSource } from './model-sources';
import { OnnxEmbedder, type EmbedderOptions } from './onnx-embedder';
import { embeddingCachePath } from './paths';
import type { ProviderFallback } from './types';

export interface EmbedProgress {
  /** Items to account for in this run (cached ones included). */
  total: number;
  /** Items accounted for so far: embedded, found in the cache, or failed. */
  done: number;
  embedded: number;
  cached: number;
  failed: number;
}

export interface EmbedOptions extends EmbedderOptions {
  /** A manifest file, an export folder or a parsed manifest; the bundled MobileNetV2 by default. */
  model?: string | ModelManifest;
  /** An embedder already loaded (left open); `model` and the embedder options are then ignored. */
  embedder?: OnnxEmbedder;
  /** The cache file; by default `ROOT/.quicksort/embeddings.db`. */
  cacheFile?: string;
  /** Vectors on disk in half (default) or full precision. */
  dtype?: VectorDtype;
  /** Which items: by default all that are not deleted and whose files were found at the last ingest. */
  where?: ItemFilter;
  /** Try again images that failed in an earlier run (by default they are skipped until their file changes). */
  retryFailed?: boolean;
  onProgress?: (progress: EmbedProgress) => void;
  signal?: AbortSignal;
}

export interface EmbedReport {
  modelId: string;
  dim: number;
  provider: string;
  fallbacks: ProviderFallback[];
  cacheFile: string;
  total: number;
  /** Embedded in this run. */
  embedded: number;
  /** Already in the cache with the same content hash. */
  cached: number;
  /** Failed in this run. */
  failed: number;
  /** Failed in an earlier run and skipped (same file); see `retryFailed`. */
  failedBefore: number;
  /** Cached vectors of earlier versions of this model that were dropped. */
  invalidated: number;
  /** The first 1,000 failures of this run. */
  failures: { itemId: number; uri: string; reason: string }[];
  seconds: number;
  /** Images embedded per second in this run (decode to vector). */
  imagesPerSecond: number;
}

const PAGE = 256;
const MAX_REPORTED_FAILURES = 1000;

interface Job {
  itemId: number;
  hash: string;
  uri: string;
  file: string;
}

/**
 * Embeds the items of a dataset that the cache does not hold yet (new items, changed files, or a changed
 * model) and stores their vectors beside the store. A corrupt image is recorded as failed with its reason
 * and the run goes on. Memory stays bounded: only item ids are listed up front; details are read a page at
 * a time as the pipeline asks for more.
 *
 * @example
 * const report = await embedDataset(store, 'photos/', { onProgress: (p) => console.log(p.done, '/', p.total) });
 * const { ids, dim, vectors } = loadEmbeddings('photos/');
 */
export async function embedDataset(store: LabelStore, root: string, options: EmbedOptions = {}): Promise<EmbedReport> {
  const started = performance.now();
  const embedder = options.embedder ?? (await OnnxEmbedder.load(options.model, options));
  const cacheFile = options.cacheFile ?? embeddingCachePath(root);
  let cache: EmbeddingCache | undefined;
  try {
    cache = EmbeddingCache.open(cacheFile);
    const dtype = options.dtype ?? 'float16';
    const { key, invalidated } = cache.useModel(embedder.modelId, embedder.manifest.name, embedder.dim, dtype);
    // Where the model lives, so a search can load its text tower later without being told (zero-shot).
    recordModelSource(cacheFile, {
      modelId: embedder.modelId,
      name: embedder.manifest.name,
      source: embedder.manifest.source,
      textModel: embedder.hasText ? (embedder.manifest.text?.file ?? null) : null,
    });
    const report: EmbedReport = {
      modelId: embedder.modelId,
      dim: embedder.dim,
      provider: embedder.provider,
      fallbacks: [...embedder.fallbacks],
      cacheFile,
      total: 0,
      embedded: 0,
      cached: 0,
      failed: 0,
      failedBefore: 0,
      invalidated,
      failures: [],
      seconds: 0,
      imagesPerSecond: 0,
    };
    const progress = () => {
      const done = report.embedded + report.cached + report.failed + report.failedBefore;
      options.onProgress?.({ total: report.total, done, embedded: report.embedded, cached: report.cached, failed: report.failed + report.failedBefore });
    };

    // Pass 1, synchronous (the store's connection is never held across an await): what needs embedding.
    const lookup = cache.reader(key);
    const todo: number[] = [];
    for (const item of store.iterateItems({ missing: false, ...options.where })) {
      report.total++;
      const status = lookup(item.id, item.hash);
      if (status === 'vector') report.cached++;
      else if (status && !options.retryFailed && status.failedWith === fileSignature(fileOf(root, item.uri))) report.failedBefore++;
      else todo.push(item.id);
    }
    progress();

    const embedStarted = performance.now();
    const writer = cache;
    await embedder.embedStream(
      jobs(store, root, todo),
      (job) => ({ file: job.file }),
      (results) => {
        writer.write(
          key,
          dtype,
          results.map(({ input, result }) =>
            result.ok
              ? { itemId: input.itemId, hash: input.hash, vector: result.vector }
              : { itemId: input.itemId, hash: input.hash, reason: result.reason, signature: fileSignature(input.file) },
          ),
        );
        for (const { input, result } of results) {
          if (result.ok) {
            report.embedded++;
          } else {
            report.failed++;
            if (report.failures.length < MAX_REPORTED_FAILURES) report.failures.push({ itemId: input.itemId, uri: input.uri, reason: result.reason });
          }
        }
        progress();
      },
      { signal: options.signal },
    );
    const embedSeconds = (performance.now() - embedStarted) / 1000;
    report.seconds = (performance.now() - started) / 1000;
    report.imagesPerSecond = embedSeconds > 0 ? (report.embedded + report.failed) / embedSeconds : 0;
    return report;
  } finally {
    cache?.close();
    if (!options.embedder) await embedder.close();
  }
}

/** Item details for the ids to embed, read from the store a page at a time as the pipeline pulls. */
async function* jobs(store: LabelStore, root: string, ids: number[]): AsyncGenerator<Job> {
  for (let start = 0; start < ids.length; start += PAGE) {
    const page = store.items({ where: { ids: ids.slice(start, start + PAGE) } });
    for (const item of page) yield { itemId: item.id, hash: item.hash, uri: item.uri, file: fileOf(root, item.uri) };
  }
}

function fileOf(root: string, uri: string): string {
  return path.join(root, ...uri.split('/'));
}

/** Size and mtime of a file ('missing' when it is gone): whether it changed since it failed. */
function fileSignature(file: string): string {
  try {
    const info = statSync(file);
    return `${info.size}:${info.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

export interface LoadEmbeddingsOptions {
  /** A model id (`name@hash`) or a model name (its latest id); by default the most recently used model. */
  model?: string;
  /** Keep only vectors of items the store still has (not deleted, file found) with the same content hash. */
  store?: StoreReader;
  /** The cache file; by default `ROOT/.quicksort/embeddings.db`. */
  cacheFile?: string;
  /** Load only these items' vectors (a sample; see {@link embeddedItemIds}): memory bounded by the subset. */
  ids?: ReadonlySet<number>;
}

/**
 * Every cached vector of a model as one Float32Array matrix with the item ids of its rows, ready for a
 * vector index or a classifier head.
 *
 * @example
 * const { ids, dim, vectors } = loadEmbeddings('photos/', { store: ds.store });
 * const first = vectors.subarray(0, dim); // the vector of item ids[0]
 */
export function loadEmbeddings(root: string, options: LoadEmbeddingsOptions = {}): EmbeddingMatrix {
  return withCache(root, options, (cache, modelId, current) => cache.load({ modelId, current, ids: options.ids }));
}

/**
 * The vectors `embed` cached for a dataset's current items, for a labeling queue's learner; undefined when
 * there are none (no cache yet: the queue is then in id order). Any other failure (a damaged cache) also
 * leaves the queue without them, and is given to `onError` to say so.
 *
 * @example
 * const embeddings = cachedEmbeddings(ds, (error) => console.warn(`embeddings not used: ${messageOf(error)}`));
 */
export function cachedEmbeddings(dataset: { root: string; store: StoreReader }, onError?: (error: unknown) => void): EmbeddingMatrix | undefined {
  try {
    const matrix = loadEmbeddings(dataset.root, { store: dataset.store });
    return matrix.ids.length > 0 ? matrix : undefined;
  } catch (error) {
    if (!(error instanceof NotFoundError)) onError?.(error);
    return undefined;
  }
}

/**
 * The ids of the items {@link loadEmbeddings} would load, with the model's id and dimension, without reading
 * a vector: what to draw a sample from before loading only the sample.
 *
 * @example
 * const { ids } = embeddedItemIds('photos/', { store: ds.store });
 * const sample = loadEmbeddings('photos/', { store: ds.store, ids: new Set(ids.slice(0, 1000)) });
 */
export function embeddedItemIds(root: string, options: Omit<LoadEmbeddingsOptions, 'ids'> = {}): { modelId: string; dim: number; ids: number[] } {
  return withCache(root, options, (cache, modelId, current) => cache.itemIds({ modelId, current }));
}

function withCache<T>(root: string, options: LoadEmbeddingsOptions, read: (cache: EmbeddingCache, modelId: string | undefined, current: Map<number, string> | undefined) => T): T {
  const cache = EmbeddingCache.open(options.cacheFile ?? embeddingCachePath(root), { readonly: true });
  try {
    let modelId = options.model;
    if (modelId !== undefined && !modelId.includes('@')) modelId = cache.models().find((model) => model.name === modelId)?.modelId ?? modelId;
    let current: Map<number, string> | undefined;
    if (options.store) {
      current = new Map();
      for (const item of options.store.iterateItems({ missing: false })) {
        if (!options.ids || options.ids.has(item.id)) current.set(item.id, item.hash);
      }
    }
    return read(cache, modelId, current);
  } finally {
    cache.close();
  }
}
