import { createServer } from 'node:net';
import { InvalidArgumentError } from '../../src/errors';
import { openVectorIndex, QdrantIndex, toQdrantFilter, VectorIndexError, type VectorIndex, type VectorMetric } from '../../src/vectors';
import { startFakeQdrant, type FakeQdrant } from './fake-qdrant';
import { randomPoints } from './random-vectors';
import { describeVectorIndexContract } from './vector-index.contract';

/**
 * The Qdrant adapter against the loopback fake (which checks every request against Qdrant's REST shapes), or
 * against a real server when QDRANT_URL is set (QDRANT_API_KEY too, if it needs one). Collections get unique
 * names and are deleted afterwards, so a shared server is left as it was found.
 */
const REAL_URL = process.env.QDRANT_URL;
const API_KEY = process.env.QDRANT_API_KEY;
const onFakeOnly = REAL_URL ? it.skip : it;

let fake: FakeQdrant | null = null;
let url = REAL_URL ?? '';
const run = `qs-test-${process.pid}-${Date.now().toString(36)}`;
let serial = 0;
const created = new Set<string>();

beforeAll(async () => {
  if (!REAL_URL) {
    fake = await startFakeQdrant();
    url = fake.url;
  }
});

afterAll(async () => {
  // Whatever a test left behind (closed indexes included) goes, by name, over plain HTTP.
  for (const collection of created) await dropCollection(collection);
  await fake?.close();
  // Every request the adapter sent, across all tests, fitted Qdrant's API.
  expect(fake?.violations ?? []).toEqual([]);
});

function uniqueCollection(): string {
  const name = `${run}-${++serial}`;
  created.add(name);
  return name;
}

async function dropCollection(collection: string): Promise<void> {
  await fetch(`${url}/collections/${collection}`, { method: 'DELETE', headers: API_KEY ? { 'api-key': API_KEY } : {} });
}

function openQdrant(dim: number, metric: VectorMetric, collection = uniqueCollection(), extra: { batchSize?: number } = {}): Promise<QdrantIndex> {
  return QdrantIndex.open({ kind: 'qdrant', url, ...(API_KEY ? { apiKey: API_KEY } : {}), collection, dim, metric, ...extra });
}

describeVectorIndexContract(REAL_URL ? `QdrantIndex (server at ${REAL_URL})` : 'QdrantIndex (loopback fake)', {
  open: (dim, metric) => openQdrant(dim, metric),
  dispose: async (index: VectorIndex) => {
    await index.close();
    await dropCollection((index as QdrantIndex).collection);
  },
});

describe('QdrantIndex', () => {
  it('creates the collection with the right size and distance, and payload indexes for the filter keys', async () => {
    const collection = uniqueCollection();
    const index = await openQdrant(24, 'dot', collection);
    const response = await fetch(`${url}/collections/${collection}`, { headers: API_KEY ? { 'api-key': API_KEY } : {} });
    const info = (await response.json()) as { result: { config: { params: { vectors: unknown } }; payload_schema: Record<string, unknown> } };
    expect(info.result.config.params.vectors).toMatchObject({ size: 24, distance: 'Dot' });
    expect(Object.keys(info.result.payload_schema).sort()).toEqual(['label', 'labeled', 'split']);
    // Opening again finds and checks it instead of creating it.
    const again = await openQdrant(24, 'dot', collection);
    expect(await again.count()).toBe(0);
    await index.close();
    await again.close();
  });

  it('refuses an existing collection whose vectors do not match, saying what to do', async () => {
    const collection = uniqueCollection();
    await (await openQdrant(4, 'cosine', collection)).close();
    const opening = openQdrant(8, 'cosine', collection);
    await expect(opening).rejects.toThrow(InvalidArgumentError);
    await expect(openQdrant(4, 'dot', collection)).rejects.toThrow(
      `Qdrant collection "${collection}" at ${url} holds 4-d Cosine vectors; this index needs 4-d Dot. Use another collection name, or delete this collection`,
    );
  });

  it('refuses a collection with named vectors', async () => {
    const collection = uniqueCollection();
    const response = await fetch(`${url}/collections/${collection}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...(API_KEY ? { 'api-key': API_KEY } : {}) },
      body: JSON.stringify({ vectors: { image: { size: 4, distance: 'Cosine' } } }),
    });
    expect(response.status).toBe(200);
    await expect(openQdrant(4, 'cosine', collection)).rejects.toThrow(/has no single unnamed vector/);
  });

  it('reports an unreachable server as a VectorIndexError that names the url', async () => {
    const port = await closedPort();
    const opening = QdrantIndex.open({ kind: 'qdrant', url: `http://127.0.0.1:${port}`, collection: 'x', dim: 4, metric: 'cosine', timeoutMs: 5000 });
    await expect(opening).rejects.toThrow(VectorIndexError);
    await expect(QdrantIndex.open({ kind: 'qdrant', url: `http://127.0.0.1:${port}`, collection: 'x', dim: 4, metric: 'cosine' })).rejects.toThrow(
      `Qdrant collection check on collection "x" at http://127.0.0.1:${port} failed`,
    );
  });

  it('refuses bad connection settings before any request', async () => {
    await expect(QdrantIndex.open({ kind: 'qdrant', url: 'localhost:6333', collection: 'x', dim: 4, metric: 'cosine' })).rejects.toThrow(/must start with http/);
    await expect(QdrantIndex.open({ kind: 'qdrant', url, collection: 'a/b', dim: 4, metric: 'cosine' })).rejects.toThrow(/collection name/);
  });

  it('is reachable through the registry', async () => {
    const index = await openVectorIndex({ kind: 'qdrant', url, ...(API_KEY ? { apiKey: API_KEY } : {}), collection: uniqueCollection(), dim: 4, metric: 'cosine' });
    expect(index).toBeInstanceOf(QdrantIndex);
    await index.close();
  });

  onFakeOnly('batches upserts and sends the label state as payload', async () => {
    const index = await openQdrant(8, 'cosine', uniqueCollection(), { batchSize: 7 });
    const start = fake!.requests.length;
    await index.upsert(randomPoints(20, 8, 3));
    const upserts = fake!.requests.slice(start).filter((request) => request.method === 'PUT' && request.path.endsWith('/points'));
    expect(upserts.map((request) => (request.body as { points: unknown[] }).points.length)).toEqual([7, 7, 6]);
    expect(upserts.every((request) => request.query.wait === 'true')).toBe(true);
    const first = (upserts[0]!.body as { points: { id: number; vector: number[]; payload: unknown }[] }).points[0]!;
    expect(first).toEqual({ id: 1, vector: expect.any(Array), payload: { labeled: true, label: 'cat', split: 'val' } });
    await index.close();
  });

  onFakeOnly('"nearest unlabeled to X" is one filtered query; a label change is one payload update', async () => {
    const index = await openQdrant(8, 'cosine');
    const points = randomPoints(30, 8, 4);
    await index.upsert(points);
    const start = fake!.requests.length;
    await index.setPayload([2], { labeled: true, label: 'dog' });
    const hits = await index.search(points[1]!.vector, 3, { labeled: false, excludeIds: [2] });
    const sent = fake!.requests.slice(start);
    expect(sent.map((request) => `${request.method} ${request.path.replace(/^\/collections\/[^/]+/, '')}`)).toEqual(['POST /points/payload', 'POST /points/query']);
    expect(sent[0]!.body).toEqual({ payload: { labeled: true, label: 'dog' }, filter: { must: [{ has_id: [2] }] } });
    expect(sent[1]!.body).toEqual({
      query: Array.from(points[1]!.vector),
      limit: 3,
      filter: { must: [{ key: 'labeled', match: { value: false } }], must_not: [{ has_id: [2] }] },
      with_payload: false,
      with_vector: false,
    });
    expect(hits).toHaveLength(3);
    await index.close();
  });

  onFakeOnly('the fake server really checks requests (a malformed body is refused and recorded)', async () => {
    const collection = uniqueCollection();
    await (await openQdrant(4, 'cosine', collection)).close();
    const response = await fetch(`${url}/collections/${collection}/points/query?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ vector: [1, 2, 3, 4], filter: { must: [{ key: 'labeled', match: { val: false } }] } }),
    });
    expect(response.status).toBe(400);
    const violations = fake!.violations.splice(0);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(/unknown query parameter wait/);
    const bad = await fetch(`${url}/collections/${collection}/points/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ vector: [1, 2, 3, 4], filter: { must: [{ key: 'labeled', match: { val: false } }] } }),
    });
    expect(bad.status).toBe(400);
    const [violation] = fake!.violations.splice(0);
    expect(violation).toMatch(/body\.vector: unknown field/);
    expect(violation).toMatch(/match: missing field `value`/);
  });

  onFakeOnly('sends the API key, and a refused key is reported as such', async () => {
    const guarded = await startFakeQdrant({ apiKey: 'secret' });
    // The client warns about a key sent over plain http; the loopback fake has no TLS.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const index = await QdrantIndex.open({ kind: 'qdrant', url: guarded.url, apiKey: 'secret', collection: 'c', dim: 4, metric: 'dot' });
      expect(await index.count()).toBe(0);
      await index.close();
      await expect(QdrantIndex.open({ kind: 'qdrant', url: guarded.url, apiKey: 'wrong', collection: 'c', dim: 4, metric: 'dot' })).rejects.toThrow(
        /failed with HTTP 401: Must provide an API key.*Check the API key/,
      );
      expect(guarded.violations).toEqual([]);
    } finally {
      warn.mockRestore();
      await guarded.close();
    }
  });
});

describe('toQdrantFilter', () => {
  it('maps each condition to must / must_not, and nothing to no filter', () => {
    expect(toQdrantFilter(undefined)).toBeUndefined();
    expect(toQdrantFilter({})).toBeUndefined();
    expect(toQdrantFilter({ excludeIds: [] })).toBeUndefined();
    expect(toQdrantFilter({ labeled: true, label: 'cat', split: 'val', excludeIds: [3] })).toEqual({
      must: [
        { key: 'labeled', match: { value: true } },
        { key: 'label', match: { value: 'cat' } },
        { key: 'split', match: { value: 'val' } },
      ],
      must_not: [{ has_id: [3] }],
    });
    expect(toQdrantFilter({ label: null })).toEqual({ must: [{ is_empty: { key: 'label' } }] });
  });
});

/** A port nothing listens on: bind one, note it, release it. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
