/**
 * Vector indexes: one port ({@link VectorIndex}), an embedded HNSW default (usearch) and Qdrant, chosen from a
 * typed config; and the learner's synchronous neighbour index over its rows ({@link RowIndex}: exact scan or
 * HNSW by row count, {@link openRowIndex}).
 */
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
export { QdrantNamedIndex, QdrantCollectionMismatchError, vectorDifferences, type QdrantNamedIndexConfig, type NamedVectorPoint, type NamedVectorShape } from './qdrant-named-index';
export { QdrantVersions } from './qdrant-aliases';
export type { QdrantCondition, QdrantFilter } from './qdrant-client';
export { exactTopK, nativeTopK, dotAt, type TopK, type ScanRows } from './exact-scan';
export { VectorIndexError, type VectorBackend } from './errors';
export type { HnswParameters } from './usearch-files';
export { ExactRowIndex, type RowIndex, type RowFilter, type RowHit } from './row-index';
export { HnswRowIndex, type HnswRowIndexOptions } from './hnsw-row-index';
export { openRowIndex, EXACT_ROWS, type RowIndexOptions } from './open-row-index';
