import { Dataset } from '../../src/dataset';
import { openTextSearch, qdrantSearchConfig, type QdrantSearchConfig } from '../../src/text';
import { VectorIndexError } from '../../src/vectors';
import { captionedCocoMini } from '../helpers/captioned-dataset';
import { startFakeQdrant, type FakeQdrant } from '../vectors/fake-qdrant';

/**
 * Natural-language search through Qdrant on coco-mini-train (real SQLite store, real ONNX embeddings, the
 * text model trained on its 400 captions), against the loopback fake Qdrant: the same answers as the
 * in-memory scan, a filtered search as one query, and the switch to a new space only once it is uploaded.
 */
let fake: FakeQdrant;
let dir: string;
let cleanup: () => void;
let ds: Dataset;

beforeAll(async () => {
  fake = await startFakeQdrant();
  ({ dir, cleanup } = await captionedCocoMini());
  ds = await Dataset.open(dir, { user: 'ann' });
  const ids = ds.items({ limit: 80 }).map((item) => item.id);
  ds.label(ids[0]!, 'animal');
  ds.label(ids[1]!, 'animal');
  ds.label(ids[2]!, 'vehicle');
  ds.store.act(ids[3]!, { kind: 'tags', tags: ['blurry'] });
  ds.store.act(ids[4]!, { kind: 'tags', tags: ['blurry', 'dark'] });
}, 240_000);

afterAll(async () => {
  ds?.close();
  cleanup?.();
  await fake?.close();
  expect(fake?.violations ?? []).toEqual([]);
});

const QUERIES = ['a dog on a sofa', 'a plate of food', 'a red bus in the street'];
const FILTERS = [undefined, { labeled: false }, { label: 'animal' }, { tag: 'blurry' }, { label: null }, { hasCaption: true, labeled: false }];

function config(collection: string): QdrantSearchConfig {
  return { url: fake.url, collection };
}

it('answers every query and filter exactly as the in-memory scan does (ids, order, scores to 1e-5)', async () => {
  const memory = await openTextSearch(dir, ds.store, { qdrant: null });
  const remote = await openTextSearch(dir, ds.store, { qdrant: config('coco-same') });
  expect(remote.qdrantCollection).toMatch(/^coco-same-[0-9a-f]{16}$/);
  for (const query of QUERIES) {
    for (const where of FILTERS) {
      const expected = await memory.search(query, { k: 10, ...(where ? { where } : {}) });
      const got = await remote.search(query, { k: 10, ...(where ? { where } : {}) });
      expect(got.map((hit) => hit.id)).toEqual(expected.map((hit) => hit.id));
      got.forEach((hit, i) => expect(Math.abs(hit.score - expected[i]!.score)).toBeLessThan(1e-5));
    }
  }
  await memory.close();
  await remote.close();
});

it('sends a filtered search as one Qdrant query with the filter in it, and a label change as a payload update', async () => {
  const search = await openTextSearch(dir, ds.store, { qdrant: config('coco-filter') });
  const collection = search.qdrantCollection!;
  const points = fake.collections.get(collection)!.points;
  expect(points.size).toBe(80);
  const [first] = points.values();
  expect(Object.keys(first!.vectors).sort()).toEqual(['image', 'joint']);
  expect(first!.vectors.image).toHaveLength(1280);
  expect(Object.keys(first!.payload).sort()).toEqual(['deleted', 'label', 'labeled', 'split', 'tags']);

  const target = ds.items({ where: { labeled: false }, limit: 1 })[0]!.id;
  ds.label(target, 'food');
  const start = fake.requests.length;
  const hits = await search.search('a plate of food', { k: 5, where: { label: 'food' } });
  expect(hits.map((hit) => hit.id)).toEqual([target]);
  const sent = fake.requests.slice(start).map((request) => `${request.method} ${request.path.replace(/^\/collections\/[^/]+/, '')}`);
  expect(sent).toEqual(['POST /points/payload', 'POST /points/query']);
  const query = fake.requests[fake.requests.length - 1]!.body as { using: string; filter: unknown };
  expect(query.using).toBe('joint');
  expect(query.filter).toEqual({ must: [{ key: 'deleted', match: { value: false } }, { key: 'label', match: { value: 'food' } }] });
  ds.store.act(target, { kind: 'unlabel' });
  await search.close();
});

it('a new space is uploaded into a fresh version while searches of the old one go on; the alias moves once it is complete', async () => {
  const alias = 'coco-switch';
  const old = await openTextSearch(dir, ds.store, { qdrant: config(alias) });
  const oldCollection = old.qdrantCollection!;
  expect(fake.aliases.get(alias)).toBe(oldCollection);
  const before = await old.search('a dog on a sofa', { k: 5 });

  // A newer training: the text model is saved again, so its space is new.
  await ds.trainText({ epochs: 5 });
  let searchedDuringUpload: number[] | undefined;
  let aliasDuringUpload: string | undefined;
  const uploads = fake.requests.length;
  const opening = openTextSearch(dir, ds.store, { qdrant: config(alias) });
  // Wait on the fake's own record of the new version's first upsert, then search the old space.
  while (!fake.requests.slice(uploads).some((request) => request.method === 'PUT' && request.path.endsWith('/points'))) await new Promise((resolve) => setImmediate(resolve));
  aliasDuringUpload = fake.aliases.get(alias);
  searchedDuringUpload = (await old.search('a dog on a sofa', { k: 5 })).map((hit) => hit.id);
  const next = await opening;
  expect(aliasDuringUpload).toBe(oldCollection);
  expect(searchedDuringUpload).toEqual(before.map((hit) => hit.id));
  expect(next.qdrantCollection).not.toBe(oldCollection);
  expect(fake.aliases.get(alias)).toBe(next.qdrantCollection);
  expect(fake.collections.get(next.qdrantCollection!)!.points.size).toBe(80);
  // The version replaced stays for the search still using it; at the next switch it is dropped.
  expect(fake.collections.has(oldCollection)).toBe(true);
  // (Training is deterministic: other epochs, so that this space is new too.)
  await ds.trainText({ epochs: 6 });
  const third = await openTextSearch(dir, ds.store, { qdrant: config(alias) });
  expect(fake.collections.has(oldCollection)).toBe(false);
  expect([...fake.collections.keys()].filter((name) => name.startsWith(`${alias}-`)).sort()).toEqual([next.qdrantCollection, third.qdrantCollection].sort());
  // Opening the current space again uploads nothing.
  const start = fake.requests.length;
  const again = await openTextSearch(dir, ds.store, { qdrant: config(alias) });
  expect(fake.requests.slice(start).filter((request) => request.method === 'PUT' && request.path.endsWith('/points'))).toEqual([]);
  expect(again.qdrantCollection).toBe(third.qdrantCollection);
  for (const search of [old, next, third, again]) await search.close();
}, 120_000);

it('says which server and collection failed and what to do when Qdrant is down', async () => {
  const opening = openTextSearch(dir, ds.store, { qdrant: { url: 'http://127.0.0.1:9', collection: 'down' } });
  await expect(opening).rejects.toThrow(VectorIndexError);
  await expect(opening).rejects.toThrow(/collection "down" at http:\/\/127\.0\.0\.1:9 failed.*unset QDRANT_URL to search in memory; nothing is lost/);
});

it('reads the settings from the environment, and none means in memory', () => {
  expect(qdrantSearchConfig(dir, {})).toBeUndefined();
  expect(qdrantSearchConfig(dir, { QDRANT_URL: 'http://q:6333', QDRANT_COLLECTION: 'photos', QDRANT_API_KEY: 'k' })).toEqual({ url: 'http://q:6333', collection: 'photos', apiKey: 'k' });
  expect(qdrantSearchConfig(dir, { QDRANT_URL: 'http://q:6333' })!.collection).toMatch(/^quicksort-images-[0-9a-f]{8}$/);
});
