import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Dataset } from '../../src/dataset';
import { loadEmbeddings, MODEL_SOURCES_FILE } from '../../src/embed';
import { ModelError } from '../../src/errors';
import { LabelingSession, SessionHost, type Envelope, type ServerMessage } from '../../src/session';
import { writeTinyExport } from '../embed/fixtures/tiny-models';
import { solidPng } from '../embed/fixtures/images';
import { tempDir } from '../helpers/fixtures';
import { COLOURS, datasetWith, EMBED, expectedRanking, quicksort, WORDS } from './clip-fixtures';

/*
 * Natural-language search with no captions and no training: a dataset embedded with a two-tower export (the
 * tiny generated CLIP, real ONNX) is searched by that model's own text tower against the stored image
 * vectors — through ds.search, the CLI (dist/) and a labeling session — until a text model trained on the
 * dataset's captions takes over. Broken exports give typed errors naming the file. The images and the
 * rankings they must get are made in clip-fixtures.ts.
 */

const temp = tempDir('quicksort-clip-search-');
// Models with exposed outputs are cached here, not in the home folder (the CLI's children get it too).
process.env.QUICKSORT_MODEL_CACHE = path.join(temp.dir, 'model-cache');

afterAll(() => temp.cleanup());

describe('zero-shot search with the embedding model’s own text tower (tiny CLIP export)', () => {
  jest.setTimeout(120_000);
  const clip = writeTinyExport(path.join(temp.dir, 'tiny-clip'));
  let ds: Dataset;

  beforeAll(async () => {
    ds = await datasetWith(temp.dir, 'words', clip);
  });
  afterAll(() => ds?.close());

  it('constructs images whose own word ranks them first (the fixture is sound)', () => {
    for (const word of WORDS) expect(expectedRanking(word)[0]!.uri).toBe(`${word}.png`);
  });

  it('records where the embedding model lives, with its text tower', () => {
    const sources = JSON.parse(readFileSync(path.join(ds.root, '.quicksort', MODEL_SOURCES_FILE), 'utf8'));
    const { modelId } = loadEmbeddings(ds.root);
    expect(sources[modelId!]).toMatchObject({ source: clip, textModel: path.join(clip, 'onnx', 'text_model.onnx') });
  });

  it('ds.search answers at once, with no captions and no training, in the expected order', async () => {
    for (const word of WORDS) {
      const hits = await ds.search(word, { k: 4 });
      const expected = expectedRanking(word);
      expect(hits.map((hit) => hit.uri)).toEqual(expected.map((hit) => hit.uri));
      // float16 storage of the image vectors: scores agree to about 3 digits.
      expect(hits.map((hit) => hit.score)).toEqual(expected.map((hit) => expect.closeTo(hit.score, 2)));
      expect(hits.every((hit) => hit.tower === 'embedding-model')).toBe(true);
    }
  });

  it('combines with filters in the same query', async () => {
    const dog = ds.items().find((item) => item.uri === 'dog.png')!;
    ds.label(dog.id, 'animal');
    const unlabeled = await ds.search('dog', { k: 4, where: { labeled: false } });
    expect(unlabeled.map((hit) => hit.uri)).toEqual(expectedRanking('dog').map((hit) => hit.uri).filter((uri) => uri !== 'dog.png'));
    expect((await ds.search('dog', { k: 4, where: { label: 'animal' } })).map((hit) => hit.uri)).toEqual(['dog.png']);
    await expect(ds.search('  ')).rejects.toThrow(/the search text is empty/);
  });

  it('answers `quicksort search --json` the same way, and says so', () => {
    const json = quicksort('search', '--dataset', ds.root, '--text', 'photo', '--k', '4', '--json');
    expect(json.code).toBe(0);
    const hits = JSON.parse(json.stdout) as { id: number; uri: string; score: number; tower: string }[];
    expect(hits.map((hit) => hit.uri)).toEqual(expectedRanking('photo').map((hit) => hit.uri));
    expect(hits.every((hit) => hit.tower === 'embedding-model')).toBe(true);
    const text = quicksort('search', '--dataset', ds.root, '--text', 'cat', '--k', '2');
    expect(text.code).toBe(0);
    expect(text.stdout.trim().split('\n')).toHaveLength(2);
    expect(text.stdout).toContain('cat.png');
    expect(text.stderr).toMatch(/Zero-shot: the embedding model's own text tower answered/);
  });

  it('answers a labeling session’s search and caption suggestions zero-shot, its state ready at once', async () => {
    const host = new SessionHost(ds, { embeddings: loadEmbeddings(ds.root, { store: ds.store }), textTraining: false, thumbnailCache: false });
    try {
      expect(host.text.state).toMatchObject({ status: 'ready', captions: 0, images: 0, tower: 'embedding-model', imageModel: loadEmbeddings(ds.root).modelId });
      expect(host.text.tower).toEqual({ kind: 'embedding-model', imageModel: loadEmbeddings(ds.root).modelId });
      const inbox: ServerMessage[] = [];
      const session = new LabelingSession(host, (envelope: Envelope<ServerMessage>) => inbox.push(envelope.message), { user: 'ann' });
      await session.handle({ requestId: 1, type: 'search', text: 'the', k: 4 });
      const answer = inbox.find((m) => m.type === 'search' || m.type === 'refused') as Extract<ServerMessage, { type: 'search' }>;
      expect(answer.type).toBe('search');
      expect(answer.items.map((item) => item.uri)).toEqual(expectedRanking('the').map((hit) => hit.uri));
      // Image → captions in the same space: the caption naming the item's own colour's word comes first.
      const cat = ds.items().find((item) => item.uri === 'cat.png')!;
      const dog = ds.items().find((item) => item.uri === 'dog.png')!;
      ds.caption(dog.id, 'cat');
      ds.caption(ds.items().find((item) => item.uri === 'the.png')!.id, 'the');
      await session.handle({ requestId: 2, type: 'caption_suggestions', itemId: cat.id, k: 2 });
      const suggestions = inbox.find((m) => m.type === 'caption_suggestions') as Extract<ServerMessage, { type: 'caption_suggestions' }>;
      expect(suggestions.captions.map((c) => c.text)).toEqual(['cat', 'the']);
      session.close();
    } finally {
      await host.close();
      for (const item of ds.items({ where: { hasCaption: true } })) ds.caption(item.id, null);
    }
  });

  it('gives way to a text model trained on the captions, once there is one', async () => {
    for (const item of ds.items()) ds.caption(item.id, `a swatch called ${item.uri.replace('.png', '')}`);
    // QuickSort's own text model (a two-tower model trains adapters by default: tests/text/clip-adapters.test.ts).
    const report = await ds.trainText({ epochs: 5, adapters: false });
    expect(report.tower).toBe('trained');
    expect(report.imageModel).toBe(loadEmbeddings(ds.root).modelId);
    const hits = await ds.search('a swatch called dog', { k: 4 });
    expect(hits).toHaveLength(4);
    expect(hits.every((hit) => hit.tower === 'trained')).toBe(true);
    const cli = quicksort('search', '--dataset', ds.root, '--text', 'dog', '--json');
    expect(cli.code).toBe(0);
    expect((JSON.parse(cli.stdout) as { tower: string }[]).every((hit) => hit.tower === 'trained')).toBe(true);
    const host = new SessionHost(ds, { embeddings: loadEmbeddings(ds.root, { store: ds.store }), textTraining: false, thumbnailCache: false });
    try {
      expect(host.text.tower).toMatchObject({ kind: 'trained' });
      expect(host.text.state).toMatchObject({ status: 'ready', captions: 4, images: 4 });
    } finally {
      await host.close();
    }
  });
});

describe('a broken two-tower export', () => {
  jest.setTimeout(120_000);

  it('without its tokenizer: a typed error naming the file', async () => {
    const folder = writeTinyExport(path.join(temp.dir, 'no-tokenizer'));
    const ds = await datasetWith(temp.dir, 'no-tokenizer-set', folder);
    try {
      rmSync(path.join(folder, 'tokenizer.json'));
      const error = await ds.search('cat').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelError);
      expect((error as Error).message).toContain(path.join(folder, 'tokenizer.json'));
      expect((error as Error).message).toMatch(/cannot search .* zero-shot with the text tower of no-tokenizer@\w+ \(recorded at .*no-tokenizer\)/);
      const cli = quicksort('search', '--dataset', ds.root, '--text', 'cat');
      expect(cli.code).toBe(7);
      expect(cli.stderr).toContain(path.join(folder, 'tokenizer.json'));
    } finally {
      ds.close();
    }
  });

  it('whose text tower is gone since the embedding: a typed error naming the file', async () => {
    const folder = writeTinyExport(path.join(temp.dir, 'text-gone'));
    const ds = await datasetWith(temp.dir, 'text-gone-set', folder);
    try {
      rmSync(path.join(folder, 'onnx', 'text_model.onnx'));
      const error = await ds.search('cat').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelError);
      expect((error as Error).message).toContain(`its text model ${path.join(folder, 'onnx', 'text_model.onnx')} is gone`);
    } finally {
      ds.close();
    }
  });

  it('with no text tower at all: today’s error, saying to add captions and train, and why the model cannot answer', async () => {
    const folder = writeTinyExport(path.join(temp.dir, 'vision-only'));
    rmSync(path.join(folder, 'onnx', 'text_model.onnx'));
    rmSync(path.join(folder, 'tokenizer.json'));
    const ds = await datasetWith(temp.dir, 'vision-only-set', folder);
    try {
      const error = await ds.search('cat').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelError);
      expect((error as Error).message).toMatch(/no text model at .*model\.qstm: train one first \(quicksort text train\); the embedding model vision-only@\w+ \(.*vision-only\) has no text tower/);
    } finally {
      ds.close();
    }
  });

  it('replaced by other weights since the embedding: a typed error saying to embed again', async () => {
    const folder = writeTinyExport(path.join(temp.dir, 'changed'));
    const ds = await datasetWith(temp.dir, 'changed-set', folder);
    try {
      // Another normalisation: the vectors would change, and so does the model's id.
      const config = path.join(folder, 'preprocessor_config.json');
      writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), image_mean: [0.4, 0.4, 0.4] }));
      const error = await ds.search('cat').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelError);
      expect((error as Error).message).toMatch(/is now the model changed@\w+, not the one that embedded the images; embed again with it/);
    } finally {
      ds.close();
    }
  });
});

describe('a zero-shot search after more images are embedded', () => {
  jest.setTimeout(120_000);

  it('scans the new ones too', async () => {
    const folder = writeTinyExport(path.join(temp.dir, 'growing'));
    const ds = await datasetWith(temp.dir, 'growing-set', folder);
    try {
      expect(await ds.search('cat', { k: 10 })).toHaveLength(4);
      writeFileSync(path.join(ds.root, 'kitten.png'), await solidPng(24, 24, COLOURS.get('cat')!));
      await ds.ingest();
      expect(await ds.embed({ model: folder, ...EMBED })).toMatchObject({ embedded: 1, cached: 4 });
      const hits = await ds.search('cat', { k: 10 });
      expect(hits).toHaveLength(5);
      expect(hits.slice(0, 2).map((hit) => hit.uri).sort()).toEqual(['cat.png', 'kitten.png']);
    } finally {
      ds.close();
    }
  });
});
