import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '../../src/dataset';
import { loadEmbeddings } from '../../src/embed';
import { mulberry32 } from '../../src/random';
import { LabelingSession, SessionHost, type Envelope, type ServerMessage } from '../../src/session';
import { adapterLossAndGradients, ADAPTED_CACHE_FILE, ADAPTERS_FILE, createAdapters, decodeAdapters, encodeAdapters, textModelDir, trainAdaptersHere, type Adapters } from '../../src/text';
import { writeTinyExport } from '../embed/fixtures/tiny-models';
import { tempDir } from '../helpers/fixtures';
import { datasetWith, expectedRanking, quicksort, WORDS } from './clip-fixtures';

/*
 * With a CLIP/SigLIP export, a training on the captions trains light adapters on both frozen towers
 * (LiT-style residual linear maps, the symmetric InfoNCE loss and its temperature) instead of QuickSort's
 * own text model. The gradients are checked by finite differences; on the tiny generated CLIP (real ONNX),
 * captions that swap the words of the images teach the search to follow the captions, through ds.trainText,
 * the CLI and a labeling session's training by itself.
 */

const temp = tempDir('quicksort-clip-adapters-');
process.env.QUICKSORT_MODEL_CACHE = path.join(temp.dir, 'model-cache');
afterAll(() => temp.cleanup());

/** Each image captioned with another word: cat.png "dog", dog.png "cat", photo.png "the", the.png "photo". */
const SWAPPED: Record<string, string> = { cat: 'dog', dog: 'cat', photo: 'the', the: 'photo' };
const TRAINING = { epochs: 150, learningRate: 0.05 };

function unitRandom(rows: number, dim: number, random: () => number): Float32Array {
  const out = Float32Array.from({ length: rows * dim }, () => random() * 2 - 1);
  for (let r = 0; r < rows; r++) {
    const norm = Math.hypot(...out.subarray(r * dim, (r + 1) * dim));
    for (let d = 0; d < dim; d++) out[r * dim + d]! /= norm;
  }
  return out;
}

describe('the adapters’ InfoNCE gradients', () => {
  const dim = 4;
  const random = mulberry32(5);
  const adapters = createAdapters(dim);
  for (const array of [adapters.imageWeights, adapters.imageBias, adapters.textWeights, adapters.textBias]) for (let i = 0; i < array.length; i++) array[i] = random() * 0.4 - 0.2;
  adapters.logScale = Math.log(4);
  const images = unitRandom(5, dim, random);
  const texts = unitRandom(5, dim, random);
  const { loss, gradients } = adapterLossAndGradients(adapters, images, texts);

  function numeric(get: () => number, set: (value: number) => void): number {
    const step = 1e-3;
    const value = get();
    set(value + step);
    const up = adapterLossAndGradients(adapters, images, texts).loss;
    set(value - step);
    const down = adapterLossAndGradients(adapters, images, texts).loss;
    set(value);
    return (up - down) / (2 * step);
  }

  it('match central differences for every parameter and the temperature', () => {
    expect(loss).toBeGreaterThan(0);
    for (const name of ['imageWeights', 'imageBias', 'textWeights', 'textBias'] as const) {
      const array = adapters[name];
      for (let i = 0; i < array.length; i++) {
        const finite = numeric(() => array[i]!, (v) => (array[i] = v));
        expect(Math.abs(gradients[name][i]! - finite)).toBeLessThanOrEqual(2e-4 + 0.02 * Math.abs(finite));
      }
    }
    const finite = numeric(() => adapters.logScale, (v) => (adapters.logScale = v));
    expect(Math.abs(gradients.logScale - finite)).toBeLessThanOrEqual(2e-4 + 0.02 * Math.abs(finite));
  });

  it('start as the identity, and survive a round trip through their file format', () => {
    const fresh = createAdapters(dim);
    const adapted = fresh.adaptImages(images);
    expect(Array.from(adapted)).toEqual(Array.from(images).map((v) => expect.closeTo(v, 6)));
    const back: Adapters = decodeAdapters(encodeAdapters(adapters), 'memory');
    expect(Array.from(back.textWeights)).toEqual(Array.from(adapters.textWeights));
    expect(back.logScale).toBe(adapters.logScale);
    const bytes = encodeAdapters(adapters);
    expect(() => decodeAdapters(bytes.subarray(0, bytes.length - 4), 'cut.qsad')).toThrow(/cut\.qsad is truncated/);
    expect(() => decodeAdapters(bytes.subarray(0, 12), 'cut.qsad')).toThrow(/cut\.qsad has a damaged header/);
  });

  it('lower the loss when trained, the same for the same seed', () => {
    const imageOfCaption = [0, 1, 2, 3, 4];
    const first = trainAdaptersHere({ dim, images, texts, imageOfCaption }, { epochs: 30, learningRate: 0.02 });
    const again = trainAdaptersHere({ dim, images, texts, imageOfCaption }, { epochs: 30, learningRate: 0.02 });
    expect(first.report.losses.at(-1)).toBeLessThan(first.report.losses[0]! * 0.8);
    expect(Array.from(again.adapters.imageWeights)).toEqual(Array.from(first.adapters.imageWeights));
    expect(() => trainAdaptersHere({ dim, images, texts: texts.subarray(0, 4 * dim), imageOfCaption })).toThrow(/adapter pairs do not fit/);
  });
});

describe('adapters trained on a dataset embedded with the tiny CLIP export', () => {
  jest.setTimeout(120_000);
  const clip = writeTinyExport(path.join(temp.dir, 'tiny-clip'));
  let ds: Dataset;

  beforeAll(async () => {
    ds = await datasetWith(temp.dir, 'swapped', clip);
    for (const item of ds.items()) ds.caption(item.id, SWAPPED[item.uri.replace('.png', '')]!);
  });
  afterAll(() => ds?.close());

  it('follow the captions after ds.trainText, where the zero-shot tower followed the colours', async () => {
    expect((await ds.search('dog', { k: 1 }))[0]).toMatchObject({ uri: 'dog.png', tower: 'embedding-model' });
    const report = await ds.trainText(TRAINING);
    expect(report).toMatchObject({ tower: 'adapted', captions: 4, images: 4, imageModel: loadEmbeddings(ds.root).modelId });
    expect(report.files.model).toBe(path.join(textModelDir(ds.root), ADAPTERS_FILE));
    expect(report.losses.at(-1)).toBeLessThan(report.losses[0]!);
    for (const word of WORDS) {
      const hits = await ds.search(word, { k: 4 });
      expect(hits[0]).toMatchObject({ uri: `${SWAPPED[word]}.png`, tower: 'adapted' });
    }
    // The items through the image adapter are cached beside the adapters.
    expect(existsSync(path.join(textModelDir(ds.root), ADAPTED_CACHE_FILE))).toBe(true);
  });

  it('are what `quicksort text train` makes and `quicksort search --json` answers with', () => {
    const train = quicksort('text', 'train', '--dataset', ds.root, '--epochs', '3', '--json');
    expect(train.code).toBe(0);
    expect(JSON.parse(train.stdout)).toMatchObject({ tower: 'adapted', epochs: 3, captions: 4 });
    const search = quicksort('search', '--dataset', ds.root, '--text', 'cat', '--json');
    expect(search.code).toBe(0);
    expect((JSON.parse(search.stdout) as { tower: string }[]).map((hit) => hit.tower)).toEqual(['adapted', 'adapted', 'adapted', 'adapted']);
  });

  it('share the dataset with a text model trained on the same embeddings: the later training answers', async () => {
    expect((await ds.trainText({ epochs: 2, adapters: false })).tower).toBe('trained');
    expect((await ds.search('cat', { k: 1 }))[0]!.tower).toBe('trained');
    expect((await ds.trainText({ epochs: 2 })).tower).toBe('adapted');
    expect((await ds.search('cat', { k: 1 }))[0]!.tower).toBe('adapted');
  });
});

describe('a labeling session on a dataset embedded with the tiny CLIP export', () => {
  jest.setTimeout(120_000);

  it('answers zero-shot, trains adapters by itself as captions arrive, then answers with them', async () => {
    const clip = writeTinyExport(path.join(temp.dir, 'session-clip'));
    const ds = await datasetWith(temp.dir, 'session-set', clip);
    const host = new SessionHost(ds, {
      embeddings: loadEmbeddings(ds.root, { store: ds.store }),
      followIntervalMs: 20,
      textTraining: { everyCaptions: 4, idleMs: Infinity, training: TRAINING },
      thumbnailCache: false,
    });
    const inbox: ServerMessage[] = [];
    const ready = new Promise<void>((resolve) => {
      host.onBroadcast((envelope) => {
        if (envelope.message.type === 'text_model' && envelope.message.state.status === 'ready') resolve();
      });
    });
    const session = new LabelingSession(host, (envelope: Envelope<ServerMessage>) => inbox.push(envelope.message), { user: 'ann' });
    const search = async (requestId: number, text: string) => {
      await session.handle({ requestId, type: 'search', text, k: 4 });
      return inbox.find((m) => m.type === 'search' && m.requestId === requestId) as Extract<ServerMessage, { type: 'search' }>;
    };
    try {
      expect(host.text.tower).toMatchObject({ kind: 'embedding-model' });
      expect((await search(1, 'dog')).items.map((item) => item.uri)).toEqual(expectedRanking('dog').map((hit) => hit.uri));
      // Another writer's captions (a notebook's, an import): the host follows them and trains.
      for (const item of ds.items()) ds.caption(item.id, SWAPPED[item.uri.replace('.png', '')]!);
      await ready;
      await host.text.settled();
      expect(host.text.state).toMatchObject({ status: 'ready', captions: 4, images: 4, tower: 'adapted' });
      expect(host.text.tower).toMatchObject({ kind: 'adapted' });
      expect((await search(2, 'dog')).items[0]!.uri).toBe('cat.png');
      // Image → captions in the adapted space: cat.png's own caption ("dog") is left out, the nearest other follows.
      const cat = ds.items().find((item) => item.uri === 'cat.png')!;
      await session.handle({ requestId: 3, type: 'caption_suggestions', itemId: cat.id, k: 3 });
      const suggestions = inbox.find((m) => m.type === 'caption_suggestions') as Extract<ServerMessage, { type: 'caption_suggestions' }>;
      expect(suggestions.captions.map((c) => c.text)).not.toContain('dog');
      expect(suggestions.captions).toHaveLength(3);
    } finally {
      session.close();
      await host.close();
      ds.close();
    }
  });
});
