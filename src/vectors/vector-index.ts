/**
 * The port every vector index implements (usearch embedded, Qdrant remote): nearest-neighbour search over item
 * embeddings, with the item's label state carried as a small payload so that "nearest unlabeled to X" is one
 * filtered call. The store stays the source of truth; an index is derived data that can always be rebuilt.
 *
 * @example
 * const index = await openVectorIndex({ kind: 'usearch', dir: '.quicksort/vectors', dim: 1280, metric: 'cosine' });
 * await index.upsert([{ id: 1, vector, payload: { labeled: false, label: null, split: 'train' } }]);
 * const next = await index.search(query, 10, { labeled: false, excludeIds: [1] });
 */

/** How nearness is measured. Scores are similarities: higher is nearer. */
export type VectorMetric = 'cosine' | 'dot';

export const VECTOR_METRICS: readonly VectorMetric[] = ['cosine', 'dot'];

/** What an index knows about an item besides its vector: enough to filter on, nothing more. */
export interface PointPayload {
  labeled: boolean;
  /** The class name, or null when the item has none. */
  label: string | null;
  split: string | null;
}

/** The payload of a point upserted without one. */
export const EMPTY_PAYLOAD: Readonly<PointPayload> = Object.freeze({ labeled: false, label: null, split: null });

export const PAYLOAD_KEYS: readonly (keyof PointPayload)[] = ['labeled', 'label', 'split'];

export interface VectorPoint {
  /** The item id: a non-negative safe integer (both usearch keys and Qdrant ids are unsigned). */
  id: number;
  vector: Float32Array;
  /** Defaults to {@link EMPTY_PAYLOAD}; an upsert replaces the whole payload. */
  payload?: PointPayload;
}

/** A conjunction: a point matches when every given condition holds. */
export interface PointFilter {
  labeled?: boolean;
  /** A class name, or null for points without a label. */
  label?: string | null;
  split?: string;
  /** Points never to return (e.g. the query item itself, or items on screen). */
  excludeIds?: readonly number[];
}

export const FILTER_KEYS: readonly (keyof PointFilter)[] = ['labeled', 'label', 'split', 'excludeIds'];

export interface SearchHit {
  id: number;
  /** Cosine similarity for 'cosine', the inner product for 'dot'. */
  score: number;
}

export interface VectorIndex {
  readonly dim: number;
  readonly metric: VectorMetric;
  /** Adds points, or replaces the vector and payload of ids already present. Refuses the whole batch if one point is invalid. */
  upsert(points: readonly VectorPoint[]): Promise<void>;
  /** Changes some payload fields (a label changed); ids not in the index are ignored (their upsert brings the payload). */
  setPayload(ids: readonly number[], payload: Partial<PointPayload>): Promise<void>;
  /** Removes points; ids not in the index are ignored. */
  delete(ids: readonly number[]): Promise<void>;
  /** The `k` points nearest to `vector` that pass `filter`, best first. */
  search(vector: Float32Array, k: number, filter?: PointFilter): Promise<SearchHit[]>;
  count(): Promise<number>;
  /** Makes the current state durable (a no-op where the backend persists by itself). */
  save(): Promise<void>;
  /** Saves unsaved changes and releases the index; later calls fail. */
  close(): Promise<void>;
}
