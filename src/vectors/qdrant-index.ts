import { createQdrantClient, type QdrantCalls, type QdrantDistance } from './qdrant-client';
import { InvalidArgumentError } from '../errors';
import { VectorIndexError } from './errors';
import { checkQdrantTarget, qdrantFailure, qdrantStatusOf } from './qdrant-failure';
import { toQdrantFilter } from './qdrant-filter';
import { checkFilter, checkIds, checkK, checkPartialPayload, checkPoints, checkShape, checkVector, type IndexShape } from './validate';
import { EMPTY_PAYLOAD, type PointFilter, type PointPayload, type SearchHit, type VectorIndex, type VectorMetric, type VectorPoint } from './vector-index';

export interface QdrantIndexConfig {
  kind: 'qdrant';
  /** e.g. http://localhost:6333 */
  url: string;
  apiKey?: string;
  collection: string;
  dim: number;
  metric: VectorMetric;
  /** Points per upsert request; default: as many as fit about 256k values (~5 MB of JSON, under Qdrant's 32 MB limit). */
  batchSize?: number;
  /** Per-request timeout in ms (default 60 s). */
  timeoutMs?: number;
}

const DISTANCE: Record<VectorMetric, QdrantDistance> = { cosine: 'Cosine', dot: 'Dot' };

/** Payload indexes make filtered search fast on large collections; Qdrant filters without them, only slower. */
const PAYLOAD_INDEXES: readonly { field: keyof PointPayload; schema: 'bool' | 'keyword' }[] = [
  { field: 'labeled', schema: 'bool' },
  { field: 'label', schema: 'keyword' },
  { field: 'split', schema: 'keyword' },
];

const VALUES_PER_REQUEST = 1 << 18;
/** Ids per setPayload/delete request: keeps request bodies small however many ids the caller passes. */
const IDS_PER_REQUEST = 10_000;

/**
 * Qdrant through its REST client: the engine that takes over when one machine is not enough. Labels travel as
 * payload ({ labeled, label, split }), updated in place when a label changes, so "nearest unlabeled to X" is
 * one filtered query. Writes wait for Qdrant to apply them (`wait=true`), so a search right after sees them.
 * Needs Qdrant ≥ 1.10 (the universal query endpoint; the collection-exists endpoint is 1.8).
 *
 * @example
 * const index = await QdrantIndex.open({ kind: 'qdrant', url: 'http://localhost:6333', collection: 'photos', dim: 1280, metric: 'cosine' });
 * await index.setPayload([42], { labeled: true, label: 'cat' });
 * const next = await index.search(query, 10, { labeled: false, excludeIds: [42] });
 */
export class QdrantIndex implements VectorIndex {
  readonly dim: number;
  readonly metric: VectorMetric;
  readonly url: string;
  readonly collection: string;
  readonly batchSize: number;
  private client: QdrantCalls | null;

  private constructor(config: QdrantIndexConfig, shape: IndexShape, batchSize: number, client: QdrantCalls) {
    this.dim = shape.dim;
    this.metric = shape.metric;
    this.url = config.url;
    this.collection = config.collection;
    this.batchSize = batchSize;
    this.client = client;
  }

  /** Connects, and creates the collection (with payload indexes) when it does not exist yet. */
  static async open(config: QdrantIndexConfig): Promise<QdrantIndex> {
    const shape = checkShape(config.dim, config.metric);
    checkQdrantTarget(config.url, config.collection);
    const batchSize = config.batchSize ?? Math.max(1, Math.floor(VALUES_PER_REQUEST / shape.dim));
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`Qdrant batchSize must be a positive integer; got ${String(config.batchSize)}`);
    const client = createQdrantClient({ url: config.url, ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}), timeoutMs: config.timeoutMs ?? 60_000 });
    const index = new QdrantIndex(config, shape, batchSize, client);
    await index.ensureCollection();
    return index;
  }

  async upsert(points: readonly VectorPoint[]): Promise<void> {
    const client = this.usable();
    checkPoints(points, this.shape());
    // The last occurrence of an id in a batch wins, as in the embedded index.
    const latest = [...new Map(points.map((point) => [point.id, point])).values()];
    for (let start = 0; start < latest.length; start += this.batchSize) {
      const batch = latest.slice(start, start + this.batchSize).map((point) => ({
        id: point.id,
        vector: Array.from(point.vector),
        payload: { ...(point.payload ?? EMPTY_PAYLOAD) },
      }));
      await this.call(`upsert of ${batch.length} points`, () => client.upsert(this.collection, { wait: true, points: batch }));
    }
  }

  async setPayload(ids: readonly number[], payload: Partial<PointPayload>): Promise<void> {
    const client = this.usable();
    checkIds(ids);
    checkPartialPayload(payload);
    if (Object.keys(payload).length === 0) return;
    for (let start = 0; start < ids.length; start += IDS_PER_REQUEST) {
      const chunk = ids.slice(start, start + IDS_PER_REQUEST);
      // A has_id filter instead of a points list: Qdrant answers 404 for listed ids it lacks, and an item whose
      // label changes before it is embedded is normal (its upsert will carry the payload).
      await this.call('payload update', () =>
        client.setPayload(this.collection, { wait: true, payload: { ...payload }, filter: { must: [{ has_id: chunk }] } }),
      );
    }
  }

  async delete(ids: readonly number[]): Promise<void> {
    const client = this.usable();
    checkIds(ids);
    for (let start = 0; start < ids.length; start += IDS_PER_REQUEST) {
      const chunk = ids.slice(start, start + IDS_PER_REQUEST);
      await this.call('delete', () => client.delete(this.collection, { wait: true, points: chunk }));
    }
  }

  async search(vector: Float32Array, k: number, filter?: PointFilter): Promise<SearchHit[]> {
    const client = this.usable();
    checkVector(vector, this.shape());
    checkK(k);
    const qdrantFilter = toQdrantFilter(checkFilter(filter));
    const response = await this.call('search', () =>
      client.query(this.collection, {
        query: Array.from(vector),
        limit: k,
        ...(qdrantFilter !== undefined ? { filter: qdrantFilter } : {}),
        with_payload: false,
        with_vector: false,
      }),
    );
    const hits = response.points.map((point) => ({ id: Number(point.id), score: point.score }));
    // Ties break by id so that every implementation orders equal scores the same way.
    return hits.sort((a, b) => b.score - a.score || a.id - b.id);
  }

  async count(): Promise<number> {
    const client = this.usable();
    const result = await this.call('count', () => client.count(this.collection, { exact: true }));
    return result.count;
  }

  /** Nothing to do: every write was acknowledged after Qdrant applied it. */
  async save(): Promise<void> {
    this.usable();
  }

  async close(): Promise<void> {
    this.client = null;
  }

  /** Deletes the whole collection on the server (tests, or a rebuild from scratch); the index is closed after. */
  async dropCollection(): Promise<void> {
    const client = this.usable();
    await this.call('collection delete', () => client.deleteCollection(this.collection));
    this.client = null;
  }

  private async ensureCollection(): Promise<void> {
    const client = this.usable();
    const { exists } = await this.call('collection check', () => client.collectionExists(this.collection));
    if (!exists) {
      const created = await this.tryCreate(client);
      if (created) return;
      // Someone created it between our check and our create: verify theirs like any existing collection.
    }
    const info = await this.call('collection info', () => client.getCollection(this.collection));
    this.checkConfig(info.config.params.vectors);
    const indexed = new Set(Object.keys(info.payload_schema ?? {}));
    await this.createPayloadIndexes(client, PAYLOAD_INDEXES.filter(({ field }) => !indexed.has(field)));
  }

  /** Creates the collection; false when it turned out to exist already (409 Conflict, Qdrant ≥ 1.8). */
  private async tryCreate(client: QdrantCalls): Promise<boolean> {
    try {
      await client.createCollection(this.collection, { vectors: { size: this.dim, distance: DISTANCE[this.metric] } });
    } catch (error) {
      if (qdrantStatusOf(error) === 409) return false;
      throw this.failure('collection create', error);
    }
    await this.createPayloadIndexes(client, PAYLOAD_INDEXES);
    return true;
  }

  private async createPayloadIndexes(client: QdrantCalls, indexes: typeof PAYLOAD_INDEXES): Promise<void> {
    for (const { field, schema } of indexes) {
      await this.call(`payload index on "${field}"`, () => client.createPayloadIndex(this.collection, { wait: true, field_name: field, field_schema: schema }));
    }
  }

  private checkConfig(config: unknown): void {
    // A single unnamed vector has { size, distance }; named vectors are a map of those.
    const vectors = config as { size?: unknown; distance?: unknown } | undefined;
    const where = `Qdrant collection "${this.collection}" at ${this.url}`;
    const wanted = `${this.dim}-d ${DISTANCE[this.metric]}`;
    const advice = `Use another collection name, or delete this collection to rebuild it from the store.`;
    if (vectors === undefined || typeof vectors.size !== 'number' || typeof vectors.distance !== 'string') {
      throw new InvalidArgumentError(`${where} has no single unnamed vector (found ${JSON.stringify(vectors)}); this index needs one ${wanted} vector per point. ${advice}`);
    }
    if (vectors.size !== this.dim || vectors.distance !== DISTANCE[this.metric]) {
      throw new InvalidArgumentError(`${where} holds ${vectors.size}-d ${String(vectors.distance)} vectors; this index needs ${wanted}. ${advice}`);
    }
  }

  private shape(): IndexShape {
    return { dim: this.dim, metric: this.metric };
  }

  private usable(): QdrantCalls {
    if (this.client === null) throw new VectorIndexError('qdrant', `the Qdrant index on collection "${this.collection}" is closed; open it again with openVectorIndex()`);
    return this.client;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.failure(what, error);
    }
  }

  private failure(what: string, error: unknown): VectorIndexError {
    return qdrantFailure(what, this, error);
  }
}

