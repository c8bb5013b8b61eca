import { InvalidArgumentError } from '../../src/errors';
import { QdrantCollectionMismatchError, QdrantNamedIndex, QdrantVersions } from '../../src/vectors';
import { startFakeQdrant, type FakeQdrant } from './fake-qdrant';
import { randomPoints } from './random-vectors';

/**
 * Named vectors (an `image` and a `joint` vector per point, each its own size and distance) and alias
 * switches, against the loopback fake (every request checked against Qdrant's REST shapes), or a real
 * server when QDRANT_URL is set.
 */
const REAL_URL = process.env.QDRANT_URL;
const API_KEY = process.env.QDRANT_API_KEY;
const onFakeOnly = REAL_URL ? it.skip : it;
let fake: FakeQdrant | null = null;
let url = REAL_URL ?? '';
const run = `qs-named-${process.pid}-${Date.now().toString(36)}`;
let serial = 0;
const created = new Set<string>();
const key = API_KEY ? { apiKey: API_KEY } : {};

beforeAll(async () => {
  if (!REAL_URL) {
    fake = await startFakeQdrant();
    url = fake.url;
  }
});

afterAll(async () => {
  for (const collection of created) await fetch(`${url}/collections/${collection}`, { method: 'DELETE', headers: API_KEY ? { 'api-key': API_KEY } : {} });
  await fake?.close();
  expect(fake?.violations ?? []).toEqual([]);
});

function unique(): string {
  const name = `${run}-${++serial}`;
  created.add(name);
  return name;
}

const SHAPES = { image: { dim: 8, metric: 'cosine' as const }, joint: { dim: 4, metric: 'dot' as const } };

function points(count: number, seed: number) {
  const images = randomPoints(count, 8, seed);
  const joints = randomPoints(count, 4, seed + 100);
  return images.map((point, i) => ({ id: point.id, vectors: { image: point.vector, joint: joints[i]!.vector }, payload: { labeled: i % 2 === 0, label: i % 2 === 0 ? 'cat' : null, split: null, tags: i % 3 === 0 ? ['blurry'] : [] } }));
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

describe('QdrantNamedIndex', () => {
  it('creates the collection with both named vectors, each its own size and distance', async () => {
    const collection = unique();
    const index = await QdrantNamedIndex.open({ url, ...key, collection, vectors: SHAPES, payloadIndexes: [{ field: 'tags', schema: 'keyword' }] });
    const info = (await (await fetch(`${url}/collections/${collection}`, { headers: API_KEY ? { 'api-key': API_KEY } : {} })).json()) as { result: { config: { params: { vectors: unknown } }; payload_schema: object } };
    expect(info.result.config.params.vectors).toMatchObject({ image: { size: 8, distance: 'Cosine' }, joint: { size: 4, distance: 'Dot' } });
    expect(Object.keys(info.result.payload_schema)).toEqual(['tags']);
    // Opened without a vectors config, the collection's own named vectors are taken.
    const attached = await QdrantNamedIndex.open({ url, ...key, collection });
    expect(attached.vectors).toEqual(SHAPES);
    await index.close();
    await attached.close();
  });

  it('upserts every named vector of a point, and searches and counts per named vector', async () => {
    const index = await QdrantNamedIndex.open({ url, ...key, collection: unique(), vectors: SHAPES, batchSize: 7 });
    const all = points(20, 1);
    await index.upsert(all);
    expect(await index.count()).toBe(20);
    expect(await index.count('joint')).toBe(20);
    const query = all[3]!.vectors.joint;
    const hits = await index.search('joint', query, 5);
    // The joint vector is searched by inner product, exactly.
    const expected = all.map((point) => ({ id: point.id, score: dot(point.vectors.joint, query) })).sort((a, b) => b.score - a.score || a.id - b.id).slice(0, 5);
    expect(hits.map((hit) => hit.id)).toEqual(expected.map((hit) => hit.id));
    hits.forEach((hit, i) => expect(hit.score).toBeCloseTo(expected[i]!.score, 5));
    // The image vector is its own space: the point itself is nearest there.
    expect((await index.search('image', all[5]!.vectors.image, 1))[0]!.id).toBe(all[5]!.id);
    // A filtered search is one query on the payload, tags included.
    const tagged = await index.search('joint', query, 20, { must: [{ key: 'tags', match: { value: 'blurry' } }] });
    expect(tagged.map((hit) => hit.id).sort((a, b) => a - b)).toEqual(all.filter((_, i) => i % 3 === 0).map((point) => point.id));
    await index.close();
  });

  onFakeOnly('sends named vectors and `using` as Qdrant expects them', async () => {
    const collection = unique();
    const index = await QdrantNamedIndex.open({ url, collection, vectors: SHAPES });
    const start = fake!.requests.length;
    const [point] = points(1, 2);
    await index.upsert([point!]);
    await index.search('image', point!.vectors.image, 1);
    await index.count('image');
    const sent = fake!.requests.slice(start);
    expect((sent[0]!.body as { points: { vector: object }[] }).points[0]!.vector).toEqual({ image: Array.from(point!.vectors.image), joint: Array.from(point!.vectors.joint) });
    expect(sent[1]!.body).toMatchObject({ using: 'image', limit: 1 });
    expect(sent[2]!.body).toEqual({ exact: true, filter: { must: [{ has_vector: 'image' }] } });
    await index.close();
  });

  onFakeOnly('the fake answers a request for a vector name the collection lacks as Qdrant does', async () => {
    const collection = unique();
    await (await QdrantNamedIndex.open({ url, collection, vectors: SHAPES })).close();
    const post = (path: string, body: object, method = 'POST') => fetch(`${url}/collections/${collection}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const unnamed = await post('/points/query', { query: [1, 0, 0, 0] });
    expect(unnamed.status).toBe(400);
    expect(((await unnamed.json()) as { status: { error: string } }).status.error).toBe('Wrong input: Not existing vector name error: ');
    const wrongName = await post('/points?wait=true', { points: [{ id: 1, vector: { text: [1, 2, 3, 4] } }] }, 'PUT');
    expect(((await wrongName.json()) as { status: { error: string } }).status.error).toBe('Wrong input: Not existing vector name error: text');
    const wrongSize = await post('/points?wait=true', { points: [{ id: 1, vector: { joint: [1, 2, 3] } }] }, 'PUT');
    expect(((await wrongSize.json()) as { status: { error: string } }).status.error).toBe('Wrong input: Vector dimension error: expected dim: 4, got 3');
    // A point may lack a named vector: it is then no candidate for that vector.
    await post('/points?wait=true', { points: [{ id: 2, vector: { image: [1, 0, 0, 0, 0, 0, 0, 0] } }] }, 'PUT');
    const none = (await (await post('/points/query', { query: [1, 0, 0, 0], using: 'joint' })).json()) as { result: { points: unknown[] } };
    expect(none.result.points).toEqual([]);
    expect(fake!.violations).toEqual([]);
  });

  it('refuses an existing collection whose vectors differ, naming the collection and each difference', async () => {
    const collection = unique();
    await (await QdrantNamedIndex.open({ url, ...key, collection, vectors: SHAPES })).close();
    const opening = QdrantNamedIndex.open({ url, ...key, collection, vectors: { image: { dim: 8, metric: 'cosine' }, joint: { dim: 16, metric: 'cosine' }, caption: { dim: 4, metric: 'dot' } } });
    await expect(opening).rejects.toThrow(QdrantCollectionMismatchError);
    await expect(opening).rejects.toThrow(
      `Qdrant collection "${collection}" at ${url} does not hold the vectors this index needs: vector "joint" is 4-d Dot, wanted 16-d Cosine; vector "caption" is missing (wanted 4-d Dot). Use another collection name, or delete this collection`,
    );
    const single = unique();
    await fetch(`${url}/collections/${single}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...(API_KEY ? { 'api-key': API_KEY } : {}) }, body: JSON.stringify({ vectors: { size: 8, distance: 'Cosine' } }) });
    await expect(QdrantNamedIndex.open({ url, ...key, collection: single, vectors: SHAPES })).rejects.toThrow(/has one unnamed 8-d Cosine vector, not named vectors image \(8-d Cosine\), joint \(4-d Dot\)/);
  });

  it('refuses a point that lacks one of the named vectors, before sending anything', async () => {
    const index = await QdrantNamedIndex.open({ url, ...key, collection: unique(), vectors: SHAPES });
    const [point] = points(1, 3);
    await expect(index.upsert([{ ...point!, vectors: { image: point!.vectors.image } }])).rejects.toThrow(/missing joint/);
    await expect(index.search('text', point!.vectors.joint, 1)).rejects.toThrow(InvalidArgumentError);
    expect(await index.count()).toBe(0);
    await index.close();
  });
});

describe('QdrantVersions', () => {
  it('moves an alias from one version to the next in one request, and lists and drops versions', async () => {
    const alias = unique();
    const versions = new QdrantVersions({ url, ...key, alias });
    const first = versions.collectionOf('a');
    const second = versions.collectionOf('b');
    created.add(first);
    created.add(second);
    await (await QdrantNamedIndex.open({ url, ...key, collection: first, vectors: SHAPES })).close();
    await (await QdrantNamedIndex.open({ url, ...key, collection: second, vectors: SHAPES })).close();
    expect(await versions.current()).toBeUndefined();
    expect(await versions.switchTo(first)).toBeUndefined();
    expect(await versions.current()).toBe(first);
    expect(await versions.switchTo(second)).toBe(first);
    expect(await versions.current()).toBe(second);
    expect((await versions.versions()).sort()).toEqual([first, second]);
    await versions.drop(first);
    await versions.drop(first); // gone already: fine
    expect(await versions.versions()).toEqual([second]);
  });
});
