import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as schema from './fake-qdrant-schema';

/**
 * A loopback stand-in for a Qdrant server (no Qdrant can run on CI), for exactly the REST calls the adapter
 * makes. Each request is checked against Qdrant's API shapes (method, path, query parameters, JSON body, see
 * fake-qdrant-schema.ts) and answered the way Qdrant answers ({ result, status: "ok", time } or
 * { status: { error }, time } with Qdrant's status codes and messages), including a brute-force search over
 * the stored points with filters, so results are real. Whatever does not fit is recorded in `violations`,
 * which the tests require to stay empty.
 *
 * @example
 * const qdrant = await startFakeQdrant();
 * const index = await QdrantIndex.open({ kind: 'qdrant', url: qdrant.url, collection: 'c', dim: 4, metric: 'cosine' });
 * expect(qdrant.violations).toEqual([]);
 * await qdrant.close();
 */
export interface FakeQdrant {
  url: string;
  requests: RecordedRequest[];
  violations: string[];
  collections: Map<string, FakeCollection>;
  /** Alias name → collection name. */
  aliases: Map<string, string>;
  close(): Promise<void>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
}

type PointId = number | string;
type Payload = Record<string, unknown>;
type VectorParams = { size: number; distance: string };

/** The unnamed vector's name, as Qdrant calls it internally (and in its error messages: an empty name). */
const UNNAMED = '';

export interface FakeCollection {
  vectors: VectorParams | Record<string, VectorParams>;
  /** Each point's vectors by name ('' for the unnamed one); a point may lack some named vectors. */
  points: Map<PointId, { vectors: Record<string, number[]>; payload: Payload; version: number }>;
  payloadSchema: Record<string, string>;
  version: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Route {
  method: string;
  path: RegExp;
  /** Query parameters Qdrant accepts on this endpoint, with their value checks. */
  query: Record<string, (value: string) => boolean>;
  body: schema.Check | null;
  handle(collection: string, body: any, query: Record<string, string>): unknown;
}

const isBool = (v: string) => v === 'true' || v === 'false';
const isUint = (v: string) => /^\d+$/.test(v);
const isOrdering = (v: string) => ['weak', 'medium', 'strong'].includes(v);
const WRITE_QUERY = { wait: isBool, ordering: isOrdering, timeout: isUint };
const READ_QUERY = { consistency: (v: string) => isUint(v) || ['majority', 'quorum', 'all'].includes(v), timeout: isUint };

export async function startFakeQdrant(options: { apiKey?: string } = {}): Promise<FakeQdrant> {
  const collections = new Map<string, FakeCollection>();
  const aliases = new Map<string, string>();
  const requests: RecordedRequest[] = [];
  const violations: string[] = [];

  // Every collection endpoint also answers for an alias of the collection.
  const need = (name: string): FakeCollection => {
    const collection = collections.get(name) ?? collections.get(aliases.get(name) ?? '');
    if (collection === undefined) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
    return collection;
  };
  const updated = (collection: FakeCollection, query: Record<string, string>) => ({
    operation_id: collection.version++,
    status: query.wait === 'true' ? 'completed' : 'acknowledged',
  });

  const routes: Route[] = [
    {
      method: 'GET',
      path: /^\/collections$/,
      query: {},
      body: null,
      handle: () => ({ collections: [...collections.keys()].map((name) => ({ name })) }),
    },
    {
      method: 'GET',
      path: /^\/aliases$/,
      query: {},
      body: null,
      handle: () => ({ aliases: [...aliases].map(([alias_name, collection_name]) => ({ alias_name, collection_name })) }),
    },
    {
      method: 'POST',
      path: /^\/collections\/aliases$/,
      query: { timeout: isUint },
      body: schema.changeAliases,
      handle: (_, body) => {
        // All or nothing: the actions run on a copy that replaces the aliases only when every one succeeded.
        const next = new Map(aliases);
        for (const action of body.actions) {
          if (action.create_alias) {
            const { collection_name, alias_name } = action.create_alias;
            if (!collections.has(collection_name)) throw new HttpError(404, `Not found: Collection \`${collection_name}\` doesn't exist!`);
            if (collections.has(alias_name)) throw new HttpError(409, `Wrong input: Collection \`${alias_name}\` already exists!`);
            if (next.has(alias_name)) throw new HttpError(409, `Wrong input: Alias \`${alias_name}\` already exists!`);
            next.set(alias_name, collection_name);
          } else if (action.delete_alias) {
            const { alias_name } = action.delete_alias;
            if (!next.delete(alias_name)) throw new HttpError(404, `Not found: Alias \`${alias_name}\` doesn't exist!`);
          } else {
            const { old_alias_name, new_alias_name } = action.rename_alias;
            const target = next.get(old_alias_name);
            if (target === undefined) throw new HttpError(404, `Not found: Alias \`${old_alias_name}\` doesn't exist!`);
            next.delete(old_alias_name);
            next.set(new_alias_name, target);
          }
        }
        aliases.clear();
        for (const [alias, collection] of next) aliases.set(alias, collection);
        return true;
      },
    },
    {
      method: 'GET',
      path: /^\/collections\/([^/]+)\/aliases$/,
      query: {},
      body: null,
      handle: (name) => {
        need(name);
        return { aliases: [...aliases].filter(([, target]) => target === name).map(([alias_name, collection_name]) => ({ alias_name, collection_name })) };
      },
    },
    {
      method: 'GET',
      path: /^\/collections\/([^/]+)\/exists$/,
      query: {},
      body: null,
      handle: (name) => ({ exists: collections.has(name) }),
    },
    {
      method: 'GET',
      path: /^\/collections\/([^/]+)$/,
      query: {},
      body: null,
      handle: (name) => collectionInfo(need(name)),
    },
    {
      method: 'PUT',
      path: /^\/collections\/([^/]+)$/,
      query: { timeout: isUint },
      body: schema.createCollection,
      handle: (name, body) => {
        // 409 since Qdrant 1.8 (qdrant/qdrant#3422).
        if (collections.has(name)) throw new HttpError(409, `Wrong input: Collection \`${name}\` already exists!`);
        if (body.vectors === undefined) throw new HttpError(400, 'Wrong input: the fake server needs a vectors config');
        collections.set(name, { vectors: body.vectors, points: new Map(), payloadSchema: {}, version: 0 });
        return true;
      },
    },
    {
      method: 'DELETE',
      path: /^\/collections\/([^/]+)$/,
      query: { timeout: isUint },
      body: null,
      handle: (name) => {
        // Its aliases go with it, as in Qdrant.
        for (const [alias, target] of aliases) if (target === name) aliases.delete(alias);
        return collections.delete(name);
      },
    },
    {
      method: 'PUT',
      path: /^\/collections\/([^/]+)\/index$/,
      query: WRITE_QUERY,
      body: schema.createFieldIndex,
      handle: (name, body, query) => {
        const collection = need(name);
        collection.payloadSchema[body.field_name] = body.field_schema ?? 'keyword';
        return updated(collection, query);
      },
    },
    {
      method: 'PUT',
      path: /^\/collections\/([^/]+)\/points$/,
      query: WRITE_QUERY,
      body: schema.pointsList,
      handle: (name, body, query) => {
        const collection = need(name);
        // The whole batch is checked before any point is written.
        const named: Record<string, number[]>[] = body.points.map((point: { vector: number[] | Record<string, number[]> }) => {
          const vectors: Record<string, number[]> = Array.isArray(point.vector) ? { [UNNAMED]: point.vector } : point.vector;
          for (const [vectorName, vector] of Object.entries(vectors)) {
            const { size } = vectorParams(collection, vectorName);
            if (vector.length !== size) throw new HttpError(400, `Wrong input: Vector dimension error: expected dim: ${size}, got ${vector.length}`);
          }
          return vectors;
        });
        body.points.forEach((point: { id: PointId; payload?: Payload | null }, i: number) => {
          // Cosine vectors are stored unit length (Qdrant normalises on upload), so scores are cosines. An upsert
          // replaces the whole point: named vectors it does not carry are gone.
          const vectors = Object.fromEntries(Object.entries(named[i]!).map(([vectorName, vector]) => [vectorName, vectorParams(collection, vectorName).distance === 'Cosine' ? unit(vector) : vector]));
          collection.points.set(point.id, { vectors, payload: { ...(point.payload ?? {}) }, version: collection.version });
        });
        return updated(collection, query);
      },
    },
    {
      method: 'POST',
      path: /^\/collections\/([^/]+)\/points\/payload$/,
      query: WRITE_QUERY,
      body: schema.setPayload,
      handle: (name, body, query) => {
        const collection = need(name);
        if ((body.points == null) === (body.filter == null)) throw new HttpError(400, 'Wrong input: Either list of point ids or filter must be provided');
        const targets = body.points != null ? body.points : [...collection.points.keys()].filter((id) => matches(body.filter, id, collection.points.get(id)!.payload, collection.points.get(id)!.vectors));
        let missing: PointId | undefined;
        for (const id of targets) {
          const point = collection.points.get(id);
          if (point === undefined) missing ??= id;
          else Object.assign(point.payload, body.payload);
        }
        // Qdrant applies the update to the points it finds, then reports the first missing one.
        if (missing !== undefined) throw new HttpError(404, `Not found: No point with id ${missing} found`);
        return updated(collection, query);
      },
    },
    {
      method: 'POST',
      path: /^\/collections\/([^/]+)\/points\/delete$/,
      query: WRITE_QUERY,
      body: schema.pointsSelector,
      handle: (name, body, query) => {
        const collection = need(name);
        const targets = body.points ?? [...collection.points.keys()].filter((id) => matches(body.filter, id, collection.points.get(id)!.payload, collection.points.get(id)!.vectors));
        for (const id of targets) collection.points.delete(id);
        return updated(collection, query);
      },
    },
    {
      method: 'POST',
      path: /^\/collections\/([^/]+)\/points\/count$/,
      query: READ_QUERY,
      body: schema.countRequest,
      handle: (name, body) => {
        const collection = need(name);
        let count = 0;
        for (const [id, point] of collection.points) if (matches(body.filter, id, point.payload, point.vectors)) count++;
        return { count };
      },
    },
    {
      method: 'POST',
      path: /^\/collections\/([^/]+)\/points\/query$/,
      query: READ_QUERY,
      body: schema.queryRequest,
      handle: (name, body) => {
        const collection = need(name);
        const using: string = body.using ?? UNNAMED;
        const { size, distance } = vectorParams(collection, using);
        if (body.query == null) throw new HttpError(400, 'Wrong input: the fake server only models nearest-vector queries');
        const raw: number[] = Array.isArray(body.query) ? body.query : body.query.nearest;
        if (raw.length !== size) throw new HttpError(400, `Wrong input: Vector dimension error: expected dim: ${size}, got ${raw.length}`);
        if (distance !== 'Cosine' && distance !== 'Dot') throw new HttpError(400, `Wrong input: the fake server only models Cosine and Dot, not ${distance}`);
        const query = distance === 'Cosine' ? unit(raw) : raw;
        const scored: { id: PointId; version: number; score: number; payload?: Payload; vector?: number[] | Record<string, number[]> }[] = [];
        for (const [id, point] of collection.points) {
          const stored = point.vectors[using];
          // A point without this named vector is not a candidate.
          if (stored === undefined || !matches(body.filter, id, point.payload, point.vectors)) continue;
          let score = 0;
          for (let j = 0; j < size; j++) score += query[j]! * stored[j]!;
          if (body.score_threshold != null && score < body.score_threshold) continue;
          scored.push({ id, version: point.version, score, ...(body.with_payload ? { payload: point.payload } : {}), ...(body.with_vector ? { vector: using === UNNAMED ? stored : point.vectors } : {}) });
        }
        scored.sort((a, b) => b.score - a.score || compareIds(a.id, b.id));
        const offset = body.offset ?? 0;
        return { points: scored.slice(offset, offset + (body.limit ?? 10)) };
      },
    },
  ];

  const server = createServer((request, response) => {
    void serve(request, response);
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const text = await readBody(request);
    const arrived = performance.now();
    const record: RecordedRequest = { method: request.method ?? '', path: url.pathname, query, body: undefined, status: 200 };
    requests.push(record);
    const reply = (status: number, payload: object) => {
      record.status = status;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...payload, time: (performance.now() - arrived) / 1000 }));
    };
    const refuse = (status: number, message: string, violation: boolean) => {
      if (violation) violations.push(`${record.method} ${record.path}: ${message}`);
      reply(status, { status: { error: message } });
    };

    if (options.apiKey !== undefined && request.headers['api-key'] !== options.apiKey) {
      return refuse(401, 'Must provide an API key or an Authorization bearer token', false);
    }
    const route = routes.find((candidate) => candidate.method === record.method && candidate.path.test(url.pathname));
    if (route === undefined) return refuse(404, `no Qdrant endpoint ${record.method} ${url.pathname} is modelled by the fake server`, true);
    for (const [key, value] of Object.entries(query)) {
      const check = route.query[key];
      if (check === undefined) return refuse(400, `unknown query parameter ${key}`, true);
      if (!check(value)) return refuse(400, `bad value for query parameter ${key}: ${value}`, true);
    }
    let body: unknown;
    if (route.body === null) {
      if (text.length > 0) return refuse(400, 'this endpoint takes no body', true);
    } else {
      if (!String(request.headers['content-type'] ?? '').includes('application/json')) return refuse(400, 'Content-Type must be application/json', true);
      try {
        body = JSON.parse(text);
      } catch (error) {
        return refuse(400, `Format error in JSON body: ${(error as Error).message}`, true);
      }
      record.body = body;
      const errors: string[] = [];
      route.body(body, 'body', errors);
      if (errors.length > 0) return refuse(400, `Format error in JSON body: ${errors.join('; ')}`, true);
    }
    const name = decodeURIComponent(route.path.exec(url.pathname)![1] ?? '');
    try {
      reply(200, { result: route.handle(name, body, query), status: 'ok' });
    } catch (error) {
      if (error instanceof HttpError) return refuse(error.status, error.message, false);
      return refuse(500, `Service internal error: ${(error as Error).stack}`, true);
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    violations,
    collections,
    aliases,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** The params of a vector by name ('' = the unnamed one); Qdrant's error for a name the collection lacks. */
function vectorParams(collection: FakeCollection, name: string): VectorParams {
  const single = collection.vectors as Partial<VectorParams>;
  const params = typeof single.size === 'number' ? (name === UNNAMED ? (single as VectorParams) : undefined) : (collection.vectors as Record<string, VectorParams>)[name];
  if (params === undefined) throw new HttpError(400, `Wrong input: Not existing vector name error: ${name}`);
  return params;
}

function unit(vector: number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  return norm === 0 ? vector.slice() : vector.map((value) => value / norm);
}

function compareIds(a: PointId, b: PointId): number {
  return typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
}

function collectionInfo(collection: FakeCollection): object {
  return {
    status: 'green',
    optimizer_status: 'ok',
    indexed_vectors_count: 0,
    points_count: collection.points.size,
    segments_count: 1,
    config: {
      params: { vectors: collection.vectors, shard_number: 1, replication_factor: 1, write_consistency_factor: 1, on_disk_payload: true },
      hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
      optimizer_config: { deleted_threshold: 0.2, vacuum_min_vector_number: 1000, default_segment_number: 0, flush_interval_sec: 5 },
      wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
      quantization_config: null,
    },
    payload_schema: Object.fromEntries(
      Object.entries(collection.payloadSchema).map(([field, type]) => [
        field,
        { data_type: type, points: [...collection.points.values()].filter((point) => point.payload[field] !== undefined).length },
      ]),
    ),
  };
}

// Filter semantics, after https://qdrant.tech/documentation/concepts/filtering/.

function matches(filter: any, id: PointId, payload: Payload, vectors: Record<string, number[]> = {}): boolean {
  if (filter == null) return true;
  const list = (conditions: unknown): any[] => (conditions == null ? [] : Array.isArray(conditions) ? conditions : [conditions]);
  const must = list(filter.must);
  const should = list(filter.should);
  const mustNot = list(filter.must_not);
  if (!must.every((condition) => holds(condition, id, payload, vectors))) return false;
  if (should.length > 0 && !should.some((condition) => holds(condition, id, payload, vectors))) return false;
  if (mustNot.some((condition) => holds(condition, id, payload, vectors))) return false;
  if (filter.min_should != null) {
    const passed = filter.min_should.conditions.filter((condition: unknown) => holds(condition, id, payload, vectors)).length;
    if (passed < filter.min_should.min_count) return false;
  }
  return true;
}

function holds(condition: any, id: PointId, payload: Payload, vectors: Record<string, number[]>): boolean {
  if ('has_id' in condition) return condition.has_id.some((other: PointId) => other === id);
  if ('has_vector' in condition) return vectors[condition.has_vector] !== undefined;
  if ('is_empty' in condition && typeof condition.is_empty === 'object' && condition.is_empty !== null) {
    return isEmpty(payload[condition.is_empty.key]);
  }
  if ('is_null' in condition && typeof condition.is_null === 'object' && condition.is_null !== null) {
    return condition.is_null.key in payload && payload[condition.is_null.key] === null;
  }
  if ('key' in condition) {
    const value = payload[condition.key];
    if (condition.is_empty === true) return isEmpty(value);
    if (condition.is_null === true) return value === null;
    const values = Array.isArray(value) ? value : [value];
    const match = condition.match;
    if (match == null) return false;
    if ('value' in match) return values.some((v) => v === match.value);
    if ('any' in match) return values.some((v) => match.any.includes(v));
    if ('except' in match) return value !== undefined && values.every((v) => !match.except.includes(v));
    return false;
  }
  return matches(condition, id, payload, vectors);
}

/** Qdrant: "the field doesn't exist, or is null, or is []". */
function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (Array.isArray(value) && value.length === 0);
}
