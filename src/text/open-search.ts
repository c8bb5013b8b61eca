import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { messageOf, ModelError, NotFoundError } from '../errors';
import { EmbeddingCache, embeddingCachePath, loadEmbeddings, modelSourceOf, OnnxEmbedder, type EmbedderOptions, type EmbeddingMatrix, type ModelSource } from '../embed';
import type { StoreReader } from '../store';
import { VectorIndexError } from '../vectors';
import { textModelDir, TextModelFileError, TEXT_MODEL_FILE } from './model-file';
import { TextSearch } from './text-search';
import { ADAPTERS_FILE, ADAPTERS_TRAINING_FILE } from './adapter-file';
import { adaptedIndex } from './adapted-space';
import { AdaptedTower, EmbeddingModelTower, type TextTower } from './text-tower';
import { readTrainingRecord, TEXT_TRAINING_FILE } from './training-record';
import { qdrantSearchConfig, type QdrantSearchConfig } from './qdrant-space';

export interface OpenSearchOptions {
  /** The dataset's embeddings as the caller holds them (a session does): their model is taken as the current one. */
  embeddings?: EmbeddingMatrix;
  /** An embedding-model tower already loaded (a session keeps one): used again when it is the one chosen. */
  loaded?: TextTower;
  /** How the embedding model's text tower runs (providers…); one preprocessing thread by default: only texts go through it. */
  embedder?: EmbedderOptions;
  /** The error when no tower can answer; `why` says why the embedding model cannot answer zero-shot. */
  none?: (why: string) => Error;
  /** Search in this Qdrant (null: in memory); default from the environment (QDRANT_URL…, see {@link qdrantSearchConfig}). */
  qdrant?: QdrantSearchConfig | null;
}

/**
 * Opens the search of a dataset with the tower that should answer it:
 * 1. adapters trained on the captions over the text tower of the dataset's current embedding model (a CLIP
 *    or SigLIP export), or the text model trained on the captions of the current embeddings (it learned the
 *    user's own words) — the later of the two when there are both;
 * 2. else the text tower of the embedding model that made those embeddings, found where the embedding
 *    recorded it: zero-shot, no captions needed;
 * 3. else a trained model of other embeddings the dataset still has (as before there were two kinds);
 * 4. else an error saying to add captions and train, and why the embedding model could not answer.
 *
 * @example
 * const search = await openTextSearch('photos/', ds.store);
 * const hits = await search.search('a dog asleep on a sofa', { k: 10 }); // hits[0].tower: 'trained' | 'adapted' | 'embedding-model'
 */
export async function openTextSearch(root: string, store: StoreReader, options: OpenSearchOptions = {}): Promise<TextSearch> {
  const search = await openInMemory(root, store, options);
  const qdrant = options.qdrant === undefined ? qdrantSearchConfig(root) : options.qdrant;
  if (!qdrant) return search;
  const held = options.embeddings;
  const model = search.tower.imageModel;
  try {
    await search.useQdrant(qdrant, () => (held?.modelId === model ? held : loadEmbeddings(root, { store, model })));
  } catch (error) {
    // Nothing is lost (the store is the truth); the caller's error names the server and the collection.
    await search.close().catch(() => undefined);
    if (error instanceof VectorIndexError) {
      const advice = `Search of ${root} runs in Qdrant because QDRANT_URL is set: start the server, or fix QDRANT_URL / QDRANT_COLLECTION, or unset QDRANT_URL to search in memory; nothing is lost (the store is the truth, and the collection is rebuilt from it).`;
      throw new VectorIndexError('qdrant', `${error.message} ${advice}`, { cause: error });
    }
    throw error;
  }
  return search;
}

async function openInMemory(root: string, store: StoreReader, options: OpenSearchOptions): Promise<TextSearch> {
  const choice = chooseTower(root, options.embeddings?.modelId);
  switch (choice.kind) {
    case 'trained':
      return TextSearch.openTrained(root, store, options.embeddings);
    case 'adapted': {
      const { adapters, index } = adaptedIndex(root, store, choice.source.modelId, options.embeddings);
      const base = await baseTower(root, choice.source, options);
      return TextSearch.withIndex(root, store, new AdaptedTower(base, adapters), index);
    }
    case 'embedding-model': {
      const tower = await baseTower(root, choice.source, options);
      const held = options.embeddings;
      const embeddings = held && held.modelId === tower.imageModel ? held : loadEmbeddings(root, { store, model: tower.imageModel });
      return TextSearch.withTower(root, store, tower, embeddings);
    }
    case 'none': {
      const modelFile = path.join(textModelDir(root), TEXT_MODEL_FILE);
      throw options.none?.(choice.why) ?? new TextModelFileError(`no text model at ${modelFile}: train one first (quicksort text train); ${choice.why}`, modelFile);
    }
  }
}

/**
 * After a training, in a worker: the items brought into the trained space, cached beside the model, so that
 * opening the search afterwards only reads them. Nothing to do for a zero-shot space.
 */
export function prepareTrainedSpace(root: string, store: StoreReader): void {
  const choice = chooseTower(root);
  if (choice.kind === 'adapted') adaptedIndex(root, store, choice.source.modelId);
  else if (choice.kind === 'trained') TextSearch.openTrained(root, store);
}

/** Which tower {@link openTextSearch} would use, decided from the files alone (nothing is loaded). */
export type TowerChoice =
  | { kind: 'trained'; imageModel: string }
  | { kind: 'adapted' | 'embedding-model'; source: ModelSource }
  | { kind: 'none'; why: string };

/**
 * Decides the tower (see {@link openTextSearch} for the order) for the dataset's current embedding model —
 * `current`, or the most recently used one in the embedding cache. A damaged training record is a typed
 * error naming the file.
 */
export function chooseTower(root: string, current: string | undefined = currentModel(root)): TowerChoice {
  const dir = textModelDir(root);
  const trainedOn = existsSync(path.join(dir, TEXT_MODEL_FILE)) ? readTrainingRecord(path.join(dir, TEXT_TRAINING_FILE)).imageModel : undefined;
  const adaptedOn = existsSync(path.join(dir, ADAPTERS_FILE)) ? readTrainingRecord(path.join(dir, ADAPTERS_TRAINING_FILE)).imageModel : undefined;
  const zeroShot = current === undefined ? { why: `${root} has no image embeddings yet (quicksort embed)` } : zeroShotSource(root, current);
  const adapted = adaptedOn !== undefined && adaptedOn === current && 'source' in zeroShot;
  const trained = trainedOn !== undefined && (current === undefined || trainedOn === current);
  // Both for these embeddings (`adapters: false` trained the text model after adapters): the later training.
  if (adapted && (!trained || mtime(path.join(dir, ADAPTERS_FILE)) >= mtime(path.join(dir, TEXT_MODEL_FILE)))) return { kind: 'adapted', source: zeroShot.source };
  if (trained) return { kind: 'trained', imageModel: trainedOn };
  if ('source' in zeroShot) return { kind: 'embedding-model', source: zeroShot.source };
  if (trainedOn !== undefined) return { kind: 'trained', imageModel: trainedOn };
  return { kind: 'none', why: zeroShot.why };
}

function mtime(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
}

/** The embedding model's own tower: the one the caller holds when it is this model's, else loaded. */
async function baseTower(root: string, source: ModelSource, options: OpenSearchOptions): Promise<TextTower> {
  const loaded = options.loaded;
  return loaded?.kind === 'embedding-model' && loaded.imageModel === source.modelId ? loaded : loadTower(root, source, options.embedder);
}

/** The most recently used embedding model of the dataset (what a search without a trained model would scan). */
function currentModel(root: string): string | undefined {
  let cache: EmbeddingCache;
  try {
    cache = EmbeddingCache.open(embeddingCachePath(root), { readonly: true });
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  try {
    return cache.models()[0]?.modelId;
  } finally {
    cache.close();
  }
}

/** Where the embedding model's text tower is, or why it has none that a search could use. */
function zeroShotSource(root: string, modelId: string): { source: ModelSource } | { why: string } {
  const source = modelSourceOf(root, modelId);
  if (!source) {
    return {
      why: `where the embedding model ${modelId} lives was not recorded (embedded by an older QuickSort): run quicksort embed --dataset ${root} --model DIR again (nothing is embedded twice) to search zero-shot with its text tower, if it has one`,
    };
  }
  if (source.textModel === null) return { why: `the embedding model ${modelId} (${source.source}) has no text tower, so it cannot search zero-shot` };
  return { source };
}

/** Loads the embedding model from where it was recorded, checking it is still the model that made the vectors and has its text tower. */
export async function loadTower(root: string, source: ModelSource, options: EmbedderOptions = {}, purpose = `search ${root} zero-shot`): Promise<TextTower> {
  const what = `the text tower of ${source.modelId} (recorded at ${source.source})`;
  let embedder: OnnxEmbedder;
  try {
    embedder = await OnnxEmbedder.load(source.source, { threads: 1, ...options });
  } catch (error) {
    throw new ModelError(`cannot ${purpose} with ${what}: ${messageOf(error)}`, { cause: error });
  }
  if (!embedder.hasText) {
    await embedder.close();
    throw new ModelError(`cannot ${purpose} with ${what}: its text model ${source.textModel} is gone; put it back, or add captions and train a text model (quicksort text train)`);
  }
  if (embedder.modelId !== source.modelId) {
    await embedder.close();
    throw new ModelError(
      `cannot ${purpose} with ${what}: ${source.source} is now the model ${embedder.modelId}, not the one that embedded the images; embed again with it (quicksort embed --dataset ${root} --model ${source.source})`,
    );
  }
  return new EmbeddingModelTower(embedder);
}
