import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../../src/errors';
import { ingestFolder } from '../../src/images';
import { LabelStore } from '../../src/store';
import { DEFAULT_MODEL, EmbeddingCache, OnnxEmbedder, cachedEmbeddings, embedDataset, embeddingCachePath, loadEmbeddings, type EmbedProgress } from '../../src/embed';
import { cosine, sampleFiles, tempFolder } from './fixtures/images';

const temp = tempFolder();
const root = path.join(temp.dir, 'dataset');
const modelCacheDir = path.join(temp.dir, 'model-cache');
let store: LabelStore;
let embedder: OnnxEmbedder;
const files = sampleFiles().slice(0, 10);

beforeAll(async () => {
  mkdirSync(path.join(root, '.quicksort'), { recursive: true });
  for (const file of files) copyFileSync(file, path.join(root, path.basename(file)));
  store = LabelStore.open(path.join(root, '.quicksort', 'quicksort.db'));
  const ingest = await ingestFolder(store, root, { threads: 1 });
  expect(ingest.added).toBe(files.length);
  // Damaged after ingest (the store still believes in it): embedding must mark it failed and go on.
  writeFileSync(path.join(root, path.basename(files[4]!)), Buffer.concat([readFileSync(files[4]!).subarray(0, 400), Buffer.alloc(2000, 7)]));
  embedder = await OnnxEmbedder.load(DEFAULT_MODEL, { providers: 'cpu', modelCacheDir, batchSize: 4, threads: 2 });
});

afterAll(async () => {
  await embedder?.close();
  store?.close();
  temp.cleanup();
});

describe('embedding a dataset into the cache beside the store', () => {
  const damagedUri = () => path.basename(files[4]!);

  it('embeds every item, reports the corrupt one as failed, and keeps going', async () => {
    const progress: EmbedProgress[] = [];
    const report = await embedDataset(store, root, { embedder, onProgress: (p) => progress.push(p) });
    expect(report).toMatchObject({ modelId: embedder.modelId, dim: 1280, provider: 'cpu', total: 10, embedded: 9, cached: 0, failed: 1, failedBefore: 0 });
    expect(report.failures).toEqual([{ itemId: expect.any(Number), uri: damagedUri(), reason: expect.stringContaining('cannot decode') }]);
    expect(report.cacheFile).toBe(embeddingCachePath(root));
    expect(existsSync(embeddingCachePath(root))).toBe(true);
    // Progress only grows and ends complete.
    expect(progress[0]).toEqual({ total: 10, done: 0, embedded: 0, cached: 0, failed: 0 });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done);
    expect(progress.at(-1)).toEqual({ total: 10, done: 10, embedded: 9, cached: 0, failed: 1 });
  });

  it('loads all vectors as one matrix with item ids, equal to direct embedding within half precision', async () => {
    const matrix = loadEmbeddings(root);
    expect(matrix.modelId).toBe(embedder.modelId);
    expect(matrix.dim).toBe(1280);
    expect(matrix.ids).toHaveLength(9);
    expect(matrix.vectors).toHaveLength(9 * 1280);
    expect([...matrix.ids].sort((a, b) => a - b)).toEqual(matrix.ids);
    const item = store.item(matrix.ids[0]!);
    const [direct] = await embedder.embedImages([{ file: path.join(root, item.uri) }]);
    const cached = matrix.vectors.subarray(0, 1280);
    if (!direct?.ok) throw new Error(`expected a vector for ${item.uri}`);
    expect(cosine(direct.vector, cached)).toBeGreaterThan(0.99999);
    for (let d = 0; d < 1280; d++) expect(Math.abs(cached[d]! - direct.vector[d]!)).toBeLessThan(1e-3);
  });

  it('embeds only what is new on a second run; a fixed or changed file is embedded again', async () => {
    const again = await embedDataset(store, root, { embedder });
    expect(again).toMatchObject({ total: 10, embedded: 0, cached: 9, failed: 0, failedBefore: 1, invalidated: 0 });

    // The damaged file is restored and one image is replaced by another one's content: re-ingest, re-embed those two.
    copyFileSync(files[4]!, path.join(root, damagedUri()));
    copyFileSync(files[0]!, path.join(root, path.basename(files[1]!)));
    await ingestFolder(store, root, { threads: 1 });
    const third = await embedDataset(store, root, { embedder });
    expect(third).toMatchObject({ total: 10, embedded: 2, cached: 8, failed: 0, failedBefore: 0 });
    const matrix = loadEmbeddings(root, { store });
    expect(matrix.ids).toHaveLength(10);
    const row = (uri: string) => {
      const id = store.items({ where: { uriLike: uri } })[0]!.id;
      return matrix.vectors.subarray(matrix.ids.indexOf(id) * 1280, (matrix.ids.indexOf(id) + 1) * 1280);
    };
    expect(cosine(row(path.basename(files[0]!)), row(path.basename(files[1]!)))).toBeGreaterThan(0.9999);
  });

  it('drops vectors of an earlier version of the model when its id changes', async () => {
    const manifest = JSON.parse(readFileSync(DEFAULT_MODEL, 'utf8')) as { vision: Record<string, unknown> };
    copyFileSync(path.join(path.dirname(DEFAULT_MODEL), 'mobilenetv2-12-int8.onnx'), path.join(temp.dir, 'mobilenetv2-12-int8.onnx'));
    const changed = path.join(temp.dir, 'changed.json');
    writeFileSync(changed, JSON.stringify({ ...manifest, vision: { ...manifest.vision, shortestSide: 240 } }));
    const report = await embedDataset(store, root, { model: changed, providers: 'cpu', modelCacheDir, threads: 2, dtype: 'float32' });
    expect(report.modelId).not.toBe(embedder.modelId);
    expect(report.modelId.split('@')[0]).toBe('mobilenetv2-12-int8');
    expect(report).toMatchObject({ total: 10, embedded: 10, cached: 0, invalidated: 10 });
    const cache = EmbeddingCache.open(embeddingCachePath(root), { readonly: true });
    try {
      expect(cache.models()).toEqual([expect.objectContaining({ modelId: report.modelId, dim: 1280, dtype: 'float32', vectors: 10, failures: 0 })]);
    } finally {
      cache.close();
    }
    expect(loadEmbeddings(root, { model: 'mobilenetv2-12-int8' }).modelId).toBe(report.modelId);
    expect(() => loadEmbeddings(root, { model: embedder.modelId })).toThrow(NotFoundError);
  });

  it('says how to create embeddings when there are none', () => {
    expect(() => loadEmbeddings(path.join(temp.dir, 'nowhere'))).toThrow(/no embeddings at .*embeddings\.db: run `npx quicksort embed --dataset DIR`/);
  });

  it('gives a labeling queue the cached vectors, none without a cache, and reports a damaged cache', () => {
    const errors: unknown[] = [];
    expect(cachedEmbeddings({ root, store }, (error) => errors.push(error))?.ids).toEqual(loadEmbeddings(root, { store }).ids);
    expect(cachedEmbeddings({ root: path.join(temp.dir, 'nowhere'), store }, (error) => errors.push(error))).toBeUndefined();
    expect(errors).toEqual([]);
    const damaged = path.join(temp.dir, 'damaged');
    mkdirSync(path.join(damaged, '.quicksort'), { recursive: true });
    writeFileSync(embeddingCachePath(damaged), 'not a database, '.repeat(100));
    expect(cachedEmbeddings({ root: damaged, store }, (error) => errors.push(error))).toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
