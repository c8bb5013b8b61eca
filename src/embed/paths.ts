import { homedir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package';
import { EMBEDDING_CACHE_FILE_NAME, STATE_FOLDER } from '../store';

/** The bundled offline model: MobileNetV2-12 int8 from the ONNX Model Zoo, read at its 1280-d pooled layer. */
export const DEFAULT_MODEL = path.join(PACKAGE_ROOT, 'models', 'mobilenetv2-12-int8.json');

/** The embedding cache of a dataset: its own SQLite file beside the store, never inside it. */
export function embeddingCachePath(root: string): string {
  return path.join(root, STATE_FOLDER, EMBEDDING_CACHE_FILE_NAME);
}

/**
 * Where models with exposed outputs are cached: `$QUICKSORT_MODEL_CACHE`, else
 * `$XDG_CACHE_HOME/quicksort/models`, else `~/.cache/quicksort/models`.
 */
export function defaultModelCacheDir(): string {
  if (process.env.QUICKSORT_MODEL_CACHE) return path.resolve(process.env.QUICKSORT_MODEL_CACHE);
  const base = process.env.XDG_CACHE_HOME ? path.resolve(process.env.XDG_CACHE_HOME) : path.join(homedir(), '.cache');
  return path.join(base, 'quicksort', 'models');
}
