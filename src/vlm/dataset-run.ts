import { DatasetError, InvalidArgumentError, NotFoundError } from '../errors';
import { loadEmbeddings } from '../embed';
import type { Store } from '../store';
import { DemonstrationBank } from './bank';
import { PromptImages, type PromptImageCache, type ThumbnailSource } from './prompt-images';
import { VlmRun } from './run';
import type { VlmClient } from './types';
import { VlmCache, vlmCachePath, type VlmStats } from './vlm-cache';

/** What the VLM assist works on: a dataset's folder and its store (a Dataset is one). */
export interface VlmDataset {
  root: string;
  store: Store;
}

/** Options every VLM run takes. */
export interface VlmRunOptions {
  client: VlmClient;
  /** Items to ask about, at most (default 100). */
  limit?: number;
  /** Demonstrations per prompt (default 8). */
  k?: number;
  /** Stops starting new requests and cancels those in flight; the items not done are `failed` / `cancelled`. */
  signal?: AbortSignal;
  /**
   * Reuse the answers kept in DIR/.quicksort/vlm-cache.db (default true); false asks again (and keeps the new
   * answers). The cost is kept there either way.
   */
  cache?: boolean;
  /** Thumbnails made before (the session's cache), taken when one has the size the client sends. */
  thumbnails?: ThumbnailSource;
  /** Seeds the head and the random demonstrations (default 1). */
  seed?: number;
  /**
   * A bank built before ({@link openBank}), for a caller that asks often (a queue): building one learns every
   * label. It is a snapshot: labels written since are not in it.
   */
  bank?: DemonstrationBank;
  /**
   * The dataset's cache of answers, opened before and kept open by the caller (a queue that runs every few
   * labels): the run uses it and leaves it open. Opening the SQLite file and closing it (a WAL checkpoint) costs
   * the calling thread milliseconds a run, which a labeling loop beside the queue feels.
   */
  vlmCache?: VlmCache;
  /** Prompt images encoded by earlier runs (a queue's), reused by content hash; this run's are added. */
  promptImages?: PromptImageCache;
}

export const DEFAULT_LIMIT = 100;
export const DEFAULT_K = 8;

/** The bank of the dataset's labels and captions, on its current embeddings; a DatasetError until it is embedded. */
export function openBank(dataset: VlmDataset, seed = 1): DemonstrationBank {
  try {
    const embeddings = loadEmbeddings(dataset.root, { store: dataset.store });
    if (embeddings.ids.length > 0) return DemonstrationBank.build(dataset.store, embeddings, { seed });
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  throw new DatasetError(`${dataset.root} has no embeddings: the VLM's demonstrations are its nearest labelled items; run \`quicksort embed --dataset ${dataset.root}\` first`);
}

/** A run on the dataset: its images, and its cache of answers unless turned off. */
export function startRun(dataset: VlmDataset, options: VlmRunOptions): VlmRun {
  const cache = options.vlmCache ?? VlmCache.open(vlmCachePath(dataset.store.file));
  const images = new PromptImages(dataset.root, options.client.config.maxImageSide, options.thumbnails, options.promptImages);
  const run = new VlmRun(options.client, images, cache.enabled ? cache : undefined, options.signal, options.cache !== false);
  if (options.vlmCache) borrowedCaches.add(run);
  return run;
}

/** Runs whose cache is the caller's (options.vlmCache): finishing them leaves it open. */
const borrowedCaches = new WeakSet<VlmRun>();

/** Keeps the run's cost with the dataset's and lets go of the cache, unless it is the caller's. */
export function finishRun(run: VlmRun): void {
  run.keepCost();
  if (!borrowedCaches.has(run)) run.cache?.close();
}

/** The dataset's VLM cost so far, in all and per model (zero before the first run). */
export function vlmStats(dataset: { store: { file: string } }): VlmStats {
  const cache = VlmCache.open(vlmCachePath(dataset.store.file));
  try {
    return cache.stats();
  } finally {
    cache.close();
  }
}

export function checkCount(value: number | undefined, fallback: number, what: string, min = 0): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be a whole number ≥ ${min}; got ${value}`);
  return n;
}
