import { statSync } from 'node:fs';
import path from 'node:path';
import { loadEmbeddings, type EmbeddingMatrix } from '../embed';
import type { StoreReader } from '../store';
import { ADAPTERS_FILE, loadAdapters } from './adapter-file';
import type { Adapters } from './adapters';
import { JointIndex } from './joint-index';
import { textModelDir } from './model-file';
import { unitRows } from './text-tower';

/** The items' image vectors through the trained image adapter, cached beside the adapters (as joint.bin is beside the text model). */
export const ADAPTED_CACHE_FILE = 'adapted.bin';

/**
 * The trained adapters in `root` and the items' embeddings of `imageModel` brought through the image adapter:
 * read from the cache when it was made from these adapters and these items, else computed (items × dim²
 * multiply-adds: seconds at 100k items of a 512-d model) and cached. Needs no text tower, so a worker thread
 * can prepare it after a training.
 */
export function adaptedIndex(root: string, store: StoreReader, imageModel: string, held?: EmbeddingMatrix): { adapters: Adapters; index: JointIndex } {
  const dir = textModelDir(root);
  // Stat first: adapters saved between the two are then seen as newer than these at the next search.
  const file = statSync(path.join(dir, ADAPTERS_FILE), { throwIfNoEntry: false }) ?? { mtimeMs: -1, size: -1 };
  const adapters = loadAdapters(dir);
  const embeddings = held?.modelId === imageModel ? held : loadEmbeddings(root, { store, model: imageModel });
  const key = { modelMtimeMs: file.mtimeMs, modelBytes: file.size, imageModel };
  const cacheFile = path.join(dir, ADAPTED_CACHE_FILE);
  let index = JointIndex.read(cacheFile, key, embeddings.ids);
  if (!index) {
    index = new JointIndex(embeddings.ids, adapters.dim, adapters.adaptImages(unitRows(Float32Array.from(embeddings.vectors), adapters.dim)));
    try {
      index.write(cacheFile, key);
    } catch {
      // Only a cache (a read-only folder, a full disk): the next open computes it again.
    }
  }
  return { adapters, index };
}
