import { InvalidArgumentError } from '../errors';
import { VectorIndexError } from './errors';
import { createQdrantClient, type QdrantCalls, type QdrantDistance, type QdrantFilter } from './qdrant-client';
import { checkQdrantTarget, qdrantFailure, qdrantStatusOf } from './qdrant-failure';
import { checkId, checkIds, checkK, checkShape, checkVector, type IndexShape } from './validate';
import type { SearchHit, VectorMetric } from './vector-index';

/** One named vector of a collection: its size and how nearness is measured. */
export interface NamedVectorShape {
  dim: number;
  metric: VectorMetric;
}

export interface QdrantNamedIndexConfig {
  /** e.g. http://localhost:6333 */
  url: string;
  apiKey?: string;
  collection: string;
  /**
   * The collection's named vectors, e.g. { image: { dim: 1280, metric: 'cosine' }, joint: { dim: 128, metric: 'cosine' } };
   * omitted: the collection must exist, and its named vectors are taken as they are.
   */
  vectors?: Record<string, NamedVectorShape>;
  /** Payload fields to index (filtered search on a large collection needs them; Qdrant filters without, only slower). */
  payloadIndexes?: readonly { field: string; schema: 'bool' | 'keyword' }[];
  /** Points per upsert request; default: as many as fit about 256k values (~5 MB of JSON). */
  batchSize?: number;
  /** Per-request timeout in ms (default 60 s). */
  timeoutMs?: number;
}

/** A point of a named-vector collection: every named vector, and the payload (which replaces the one stored). */
export interface NamedVectorPoint {
  id: number;
  vectors: Record<string, Float32Array>;
  payload: Record<string, unknown>;
}

/**
 * An existing collection's vectors are not the ones asked for: names the collection, the server and each
 * difference, so the user can pick another collection or delete this one (it is rebuilt from the store).
 */
export class QdrantCollectionMismatchError extends InvalidArgumentError {
  constructor(
    readonly url: string,
    readonly collection: string,
    readonly differences: readonly string[],
  ) {
    super(
      `Qdrant collection "${collection}" at ${url} does not hold the vectors this index needs: ${differences.join('; ')}. Use another collection name, or delete this collection to rebuild it from the store.`,
    );
  }
}

const DISTANCE: Record<VectorMetric, QdrantDistance> = { cosine: 'Cosine', dot: 'Dot' };
const VALUES_PER_REQUEST = 1 << 18;
const IDS_PER_REQUEST = 10_000;
const VECTOR_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A Qdrant collection whose points carry several named vectors (e.g. the image embedding as `image` and a
 * text–image joint-space vector as `joint`, each with its own size and distance) and one payload: upserts
 * send every named vector of a point (`vector: { image: [...], joint: [...] }`), searches name the vector
 * they use (`using` in the query API), counts can ask for the points that carry one (`has_vector`).
 * Writes wait for Qdrant to apply them. Needs Qdrant ≥ 1.13 for `has_vector` counts, 1.10 otherwise.
 *
 * @example
 * const index = await QdrantNamedIndex.open({ url, collection: 'photos', vectors: { image: { dim: 1280, metric: 'cosine' }, joint: { dim: 128, metric: 'cosine' } } });
 * await index.upsert([{ id: 1, vectors: { image, joint }, payload: { labeled: false, label: null, split: 'train', tags: [] } }]);
 * const hits = await index.search('joint', query, 10, { must: [{ key: 'labeled', match: { value: false } }] });
 */
export class QdrantNamedIndex {
  readonly url: string;
  readonly collection: string;
  readonly vectors: Readonly<Record<string, IndexShape>>;
  readonly batchSize: number;
  private client: QdrantCalls | null;

  private constructor(config: QdrantNamedIndexConfig, vectors: Record<string, IndexShape>, batchSize: number, client: QdrantCalls) {
    this.url = config.url;
    this.collection = config.collection;
    this.vectors = vectors;
    this.batchSize = batchSize;
    this.client = client;
  }

  /** Connects, and creates the collection (with its payload indexes) when it does not exist; an existing one must match exactly. */
  static async open(config: QdrantNamedIndexConfig): Promise<QdrantNamedIndex> {
    checkQdrantTarget(config.url, config.collection);
    const client = createQdrantClient({ url: config.url, ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}), timeoutMs: config.timeoutMs ?? 60_000 });
    const wanted = config.vectors ?? (await existingShapes(client, config));
    const names = Object.keys(wanted);
    if (names.length === 0) throw new InvalidArgumentError(`a named-vector Qdrant index needs at least one named vector; got ${JSON.stringify(config.vectors)}`);
    const vectors: Record<string, IndexShape> = {};
    for (const name of names) {
      if (!VECTOR_NAME.test(name)) throw new InvalidArgumentError(`Qdrant vector name must be 1-64 letters, digits, '_', '-' or '.'; got ${JSON.stringify(name)}`);
      vectors[name] = checkShape(wanted[name]!.dim, wanted[name]!.metric);
    }
    const valuesPerPoint = names.reduce((sum, name) => sum + vectors[name]!.dim, 0);
    const batchSize = config.batchSize ?? Math.max(1, Math.floor(VALUES_PER_REQUEST / valuesPerPoint));
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`Qdrant batchSize must be a positive integer; got ${String(config.batchSize)}`);
    const index = new QdrantNamedIndex(config, vectors, batchSize, client);
    await index.ensureCollection(config.payloadIndexes ?? []);
    return index;
  }

  /** Adds or replaces points, each with every named vector; the whole batch is checked before anything is sent. */
  async upsert(points: readonly NamedVectorPoint[]): Promise<void> {
    const client = this.usable();
    if (!Array.isArray(points as unknown)) throw new InvalidArgumentError(`upsert expects an array of points; got ${typeof points}`);
    const names = Object.keys(this.vectors);
    for (const point of points) {
      const id = checkId(point?.id);
      const given = Object.keys(point.vectors ?? {});
      const unknown = given.filter((name) => !(name in this.vectors));
      const missing = names.filter((name) => !given.includes(name));
      if (unknown.length > 0 || missing.length > 0) {
        throw new InvalidArgumentError(
          `point ${id} must carry exactly the vectors ${names.join(', ')} of collection "${this.collection}"${missing.length ? `; missing ${missing.join(', ')}` : ''}${unknown.length ? `; unknown ${unknown.join(', ')}` : ''}`,
        );
      }
      for (const name of names) checkVector(point.vectors[name], this.vectors[name]!, id);
    }
    const latest = [...new Map(points.map((point) => [point.id, point])).values()];
    for (let start = 0; start < latest.length; start += this.batchSize) {
      const batch = latest.slice(start, start + this.batchSize).map((point) => ({
        id: point.id,
        vector: Object.fromEntries(names.map((name): [string, number[]] => [name, Array.from(point.vectors[name]!)])),
        payload: { ...point.payload },
      }));
      await this.call(`upsert of ${batch.length} points`, () => client.upsert(this.collection, { wait: true, points: batch }));
    }
  }

  /** Sets payload fields of these points (others kept); ids not in the collection are ignored. */
  async setPayload(ids: readonly number[], payload: Record<string, unknown>): Promise<void> {
    const client = this.usable();
    checkIds(ids);
    for (let start = 0; start < ids.length; start += IDS_PER_REQUEST) {
      const chunk = ids.slice(start, start + IDS_PER_REQUEST);
      // A has_id filter: Qdrant answers 404 for a listed id it lacks.
      await this.call('payload update', () => client.setPayload(this.collection, { wait: true, payload: { ...payload }, filter: { must: [{ has_id: chunk }] } }));
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

  /** The `k` points nearest to `vector` in the named vector's space that pass `filter` (one query), best first, ties by id. */
  async search(name: string, vector: Float32Array, k: number, filter?: QdrantFilter): Promise<SearchHit[]> {
    const client = this.usable();
    checkVector(vector, this.shapeOf(name));
    checkK(k);
    const response = await this.call(`search of "${name}"`, () =>
      client.query(this.collection, { query: Array.from(vector), using: name, limit: k, ...(filter !== undefined ? { filter } : {}), with_payload: false, with_vector: false }),
    );
    return response.points.map((point) => ({ id: Number(point.id), score: point.score })).sort((a, b) => b.score - a.score || a.id - b.id);
  }

  /** How many points there are; with `name`, how many carry that named vector. */
  async count(name?: string): Promise<number> {
    const client = this.usable();
    if (name !== undefined) this.shapeOf(name);
    const filter: QdrantFilter | undefined = name === undefined ? undefined : { must: [{ has_vector: name }] };
    const result = await this.call('count', () => client.count(this.collection, { exact: true, ...(filter ? { filter } : {}) }));
    return result.count;
  }

  /** Releases the client; later calls fail. */
  async close(): Promise<void> {
    this.client = null;
  }

  private shapeOf(name: string): IndexShape {
    const shape = this.vectors[name];
    if (shape === undefined) throw new InvalidArgumentError(`Qdrant collection "${this.collection}" has no vector named ${JSON.stringify(name)}; it has ${Object.keys(this.vectors).join(', ')}`);
    return shape;
  }

  private async ensureCollection(payloadIndexes: NonNullable<QdrantNamedIndexConfig['payloadIndexes']>): Promise<void> {
    const client = this.usable();
    const { exists } = await this.call('collection check', () => client.collectionExists(this.collection));
    if (!exists) {
      try {
        const vectors = Object.fromEntries(Object.entries(this.vectors).map(([name, shape]) => [name, { size: shape.dim, distance: DISTANCE[shape.metric] }]));
        await client.createCollection(this.collection, { vectors });
        await this.indexPayload(client, payloadIndexes);
        return;
      } catch (error) {
        // 409: someone created it between our check and our create; check theirs like any existing collection.
        if (qdrantStatusOf(error) !== 409) throw error instanceof VectorIndexError ? error : this.failure('collection create', error);
      }
    }
    const info = await this.call('collection info', () => client.getCollection(this.collection));
    const differences = vectorDifferences(info.config.params.vectors, this.vectors);
    if (differences.length > 0) throw new QdrantCollectionMismatchError(this.url, this.collection, differences);
    const indexed = new Set(Object.keys(info.payload_schema ?? {}));
    await this.indexPayload(client, payloadIndexes.filter(({ field }) => !indexed.has(field)));
  }

  private async indexPayload(client: QdrantCalls, indexes: NonNullable<QdrantNamedIndexConfig['payloadIndexes']>): Promise<void> {
    for (const { field, schema } of indexes) {
      await this.call(`payload index on "${field}"`, () => client.createPayloadIndex(this.collection, { wait: true, field_name: field, field_schema: schema }));
    }
  }

  private usable(): QdrantCalls {
    if (this.client === null) throw new VectorIndexError('qdrant', `the Qdrant index on collection "${this.collection}" is closed; open it again`);
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

/** The named vectors of an existing collection, as it reports them. */
async function existingShapes(client: QdrantCalls, target: { url: string; collection: string }): Promise<Record<string, NamedVectorShape>> {
  let info: Awaited<ReturnType<QdrantCalls['getCollection']>>;
  try {
    info = await client.getCollection(target.collection);
  } catch (error) {
    throw qdrantFailure('collection info', target, error);
  }
  const vectors = info.config.params.vectors as Record<string, { size?: unknown; distance?: unknown }> | undefined;
  const shapes: Record<string, NamedVectorShape> = {};
  for (const [name, params] of Object.entries(vectors ?? {})) {
    const metric = params?.distance === 'Dot' ? 'dot' : params?.distance === 'Cosine' ? 'cosine' : undefined;
    if (typeof params?.size !== 'number' || metric === undefined) {
      throw new QdrantCollectionMismatchError(target.url, target.collection, [`it does not hold named Cosine or Dot vectors (found ${JSON.stringify(vectors)})`]);
    }
    shapes[name] = { dim: params.size, metric };
  }
  return shapes;
}

/** Each way the collection's vectors config (as GET /collections/{name} reports it) differs from `wanted`. */
export function vectorDifferences(found: unknown, wanted: Readonly<Record<string, IndexShape>>): string[] {
  const describe = (shape: IndexShape) => `${shape.dim}-d ${DISTANCE[shape.metric]}`;
  const params = found as Record<string, { size?: unknown; distance?: unknown }> | { size?: unknown; distance?: unknown } | undefined;
  if (params === undefined || params === null || typeof params !== 'object') return [`it has no vectors config (found ${JSON.stringify(found)})`];
  if (typeof (params as { size?: unknown }).size === 'number') {
    const single = params as { size: number; distance?: unknown };
    return [`it has one unnamed ${single.size}-d ${String(single.distance)} vector, not named vectors ${Object.entries(wanted).map(([name, shape]) => `${name} (${describe(shape)})`).join(', ')}`];
  }
  const named = params as Record<string, { size?: unknown; distance?: unknown }>;
  const differences: string[] = [];
  for (const [name, shape] of Object.entries(wanted)) {
    const have = named[name];
    if (have === undefined) differences.push(`vector "${name}" is missing (wanted ${describe(shape)})`);
    else if (have.size !== shape.dim || have.distance !== DISTANCE[shape.metric]) differences.push(`vector "${name}" is ${String(have.size)}-d ${String(have.distance)}, wanted ${describe(shape)}`);
  }
  for (const name of Object.keys(named)) if (!(name in wanted)) differences.push(`it has a vector "${name}" this index does not use`);
  return differences;
}
