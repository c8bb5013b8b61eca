/** Vector indexes: one port ({@link VectorIndex}), an embedded HNSW default (usearch) and Qdrant, chosen from a typed config. */
export {
  EMPTY_PAYLOAD,
  VECTOR_METRICS,
  type PointFilter,
  type PointPayload,
  type SearchHit,
  type VectorIndex,
  type VectorMetric,
  type VectorPoint,
} from './vector-index';
export { openVectorIndex, VECTOR_INDEX_KINDS, type VectorIndexConfig, type VectorIndexKind } from './registry';
export { UsearchIndex, defaultExactThreshold, EXACT_SCAN_BUDGET, DEFAULT_HNSW, type UsearchIndexConfig } from './usearch-index';
export { QdrantIndex, type QdrantIndexConfig } from './qdrant-index';
export { toQdrantFilter } from './qdrant-filter';
export { exactTopK, nativeTopK, type TopK, type ScanRows } from './exact-scan';
export { VectorIndexError, type VectorBackend } from './errors';
export type { HnswParameters } from './usearch-files';
