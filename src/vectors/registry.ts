import { InvalidArgumentError } from '../errors';
import { QdrantIndex, type QdrantIndexConfig } from './qdrant-index';
import { UsearchIndex, type UsearchIndexConfig } from './usearch-index';
import type { VectorIndex } from './vector-index';

/** Every way to configure a vector index; `kind` picks the backend. */
export type VectorIndexConfig = UsearchIndexConfig | QdrantIndexConfig;
export type VectorIndexKind = VectorIndexConfig['kind'];

type Openers = { [K in VectorIndexKind]: (config: Extract<VectorIndexConfig, { kind: K }>) => Promise<VectorIndex> };

/** The backends by kind. A new backend is one entry here and one config type above; the compiler finds the rest. */
const OPENERS: Openers = {
  usearch: (config) => UsearchIndex.open(config),
  qdrant: (config) => QdrantIndex.open(config),
};

export const VECTOR_INDEX_KINDS = Object.keys(OPENERS) as VectorIndexKind[];

/**
 * Opens (or creates) the vector index a config describes.
 *
 * @example
 * const local = await openVectorIndex({ kind: 'usearch', dir: 'photos/.quicksort/vectors', dim: 1280, metric: 'cosine' });
 * const remote = await openVectorIndex({ kind: 'qdrant', url: 'http://localhost:6333', collection: 'photos', dim: 1280, metric: 'cosine' });
 */
export function openVectorIndex(config: VectorIndexConfig): Promise<VectorIndex> {
  const kind = (config as { kind?: unknown } | null)?.kind;
  if (!Object.prototype.hasOwnProperty.call(OPENERS, kind as PropertyKey)) {
    return Promise.reject(new InvalidArgumentError(`unknown vector index kind ${JSON.stringify(kind)}; expected one of ${VECTOR_INDEX_KINDS.join(', ')}`));
  }
  // The mapped type ties each kind to its config; indexing by a union loses that link, hence the one cast.
  const open = OPENERS[config.kind] as (config: VectorIndexConfig) => Promise<VectorIndex>;
  return open(config);
}
