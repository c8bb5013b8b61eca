import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { messageOf, ModelError } from '../errors';
import { embeddingCachePath } from './paths';

/**
 * Where each embedding model of a dataset was loaded from, beside the embedding cache: the cache keeps the
 * vectors under the model's id, and this says where that model lives, so that a search can load the same
 * model's text tower (zero-shot) without being told again.
 */
export const MODEL_SOURCES_FILE = 'embedding-models.json';

export interface ModelSource {
  /** `name@hash`, as the cache names the vectors. */
  modelId: string;
  name: string;
  /** The manifest file or export folder the model was loaded from (what `--model` was given, absolute). */
  source: string;
  /** The text tower's ONNX file when the model has one, else null (an image-only model). */
  textModel: string | null;
  recordedAt: string;
}

/** Records where `model` came from, in the folder of the embedding cache `cacheFile`. */
export function recordModelSource(cacheFile: string, model: Omit<ModelSource, 'recordedAt'>): void {
  const file = path.join(path.dirname(cacheFile), MODEL_SOURCES_FILE);
  let sources: Record<string, ModelSource> = {};
  try {
    sources = readSources(file);
  } catch {
    // A damaged record is only a record: it is written anew with what is known now.
  }
  sources[model.modelId] = { ...model, recordedAt: new Date().toISOString() };
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(sources, null, 2)}\n`);
  renameSync(temporary, file);
}

/** Where the dataset's embedding model `modelId` was loaded from; undefined when embedded before this was recorded. */
export function modelSourceOf(root: string, modelId: string): ModelSource | undefined {
  const file = path.join(path.dirname(embeddingCachePath(root)), MODEL_SOURCES_FILE);
  if (!existsSync(file)) return undefined;
  const entry = readSources(file)[modelId];
  if (entry === undefined) return undefined;
  if (typeof entry !== 'object' || entry === null || typeof entry.source !== 'string' || (entry.textModel !== null && typeof entry.textModel !== 'string')) {
    throw new ModelError(`${file}: the entry of ${modelId} needs "source" (a path) and "textModel" (a path or null); embed again (quicksort embed) to write it anew`);
  }
  return entry;
}

function readSources(file: string): Record<string, ModelSource> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ModelError(`cannot read ${file} (where the embedding models were loaded from): ${messageOf(error)}; embed again (quicksort embed) to write it anew`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelError(`${file} is not a JSON object of embedding models; embed again (quicksort embed) to write it anew`);
  }
  return value as Record<string, ModelSource>;
}
