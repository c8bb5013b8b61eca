import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelError } from '../../src/errors';
import { OnnxEmbedder, TextTokenizer, resolveModel, type EmbedderOptions } from '../../src/embed';
import { cosine, solidPng, tempFolder } from './fixtures/images';
import { TEXT_EMBEDDINGS, TINY_DIM, TINY_SIZE, VISION_WEIGHTS, VOCAB, tinyVisionModel, writeTinyExport } from './fixtures/tiny-models';

const temp = tempFolder();
const options: EmbedderOptions = { providers: ['cpu'], threads: 1, modelCacheDir: path.join(temp.dir, 'model-cache') };
let clip: OnnxEmbedder;

beforeAll(async () => {
  clip = await OnnxEmbedder.load(writeTinyExport(path.join(temp.dir, 'tiny-clip')), options);
});

afterAll(async () => {
  await clip?.close();
  temp.cleanup();
});

/** What the tiny text tower computes for a list of token ids: the mean of their embedding rows, unit length. */
function expectedText(ids: number[]): Float32Array {
  const out = new Float32Array(TINY_DIM);
  for (const id of ids) for (let d = 0; d < TINY_DIM; d++) out[d]! += TEXT_EMBEDDINGS[id * TINY_DIM + d]! / ids.length;
  const norm = Math.hypot(...out);
  return out.map((v) => v / norm);
}

describe('a two-tower export folder (tiny generated CLIP)', () => {
  it('is read in the public export layout: towers, tokenizer, preprocessor config', () => {
    const manifest = resolveModel(path.join(temp.dir, 'tiny-clip'));
    expect(manifest.vision).toMatchObject({ input: 'pixel_values', width: TINY_SIZE, height: TINY_SIZE, resize: 'shortest-side-crop', interpolation: 'cubic' });
    expect(manifest.vision.mean).toEqual([0.5, 0.5, 0.5]);
    expect(manifest.text).toMatchObject({ inputIds: 'input_ids', maxLength: 12 });
    expect(clip.hasText).toBe(true);
    expect(clip.dim).toBe(TINY_DIM);
    expect(clip.provider).toBe('cpu');
    expect(clip.modelId).toMatch(/^tiny-clip@[0-9a-f]{12}$/);
  });

  it('tokenizes with the tokenizer file into the expected ids', () => {
    const tokenizer = TextTokenizer.load(path.join(temp.dir, 'tiny-clip', 'tokenizer.json'), path.join(temp.dir, 'tiny-clip', 'tokenizer_config.json'));
    const { '[CLS]': cls, '[SEP]': sep, '[UNK]': unk, a, photo, of, cat, dog } = VOCAB as Record<string, number>;
    expect(tokenizer.encode('A photo of a cat.', 77)).toEqual([cls, a, photo, of, a, cat, VOCAB['.'], sep]);
    expect(tokenizer.encode('dogs', 77)).toEqual([cls, dog, VOCAB['##s'], sep]);
    expect(tokenizer.encode('zebra', 77)).toEqual([cls, unk, sep]);
    // Cut to the length, keeping the closing special token.
    expect(tokenizer.encode('a photo of a cat', 4)).toEqual([cls, a, photo, sep]);
    const batch = tokenizer.encodeBatch(['cat', 'a dog'], 77, 'longest');
    expect(batch).toEqual({ ids: [cls, cat, sep, 0, cls, a, dog, sep], mask: [1, 1, 1, 0, 1, 1, 1, 1], count: 2, length: 4 });
    expect(tokenizer.padId).toBe(VOCAB['[PAD]']);
  });

  it('embeds texts into the shared space, padding masked out', async () => {
    const [alone] = await clip.embedTexts(['a cat']);
    const [withLonger, longer] = await clip.embedTexts(['a cat', 'the photo of a dog.']);
    expect(alone).toHaveLength(TINY_DIM);
    expect(Math.hypot(...alone!)).toBeCloseTo(1, 5);
    // The padding of "a cat" in a batch with a longer text must not change its vector.
    expect(Array.from(withLonger!)).toEqual(Array.from(alone!).map((v) => expect.closeTo(v, 6)));
    const expected = expectedText([VOCAB['[CLS]']!, VOCAB.a!, VOCAB.cat!, VOCAB['[SEP]']!]);
    expect(Array.from(alone!)).toEqual(Array.from(expected).map((v) => expect.closeTo(v, 5)));
    expect(cosine(alone!, longer!)).toBeLessThan(0.9999);
    expect(await clip.embedTexts([])).toEqual([]);
  });

  it('embeds images into the same dimension, preprocessing exactly as the config says', async () => {
    const results = await clip.embedImages([{ bytes: await solidPng(40, 24, [255, 0, 0]) }, { bytes: await solidPng(20, 20, [0, 0, 255]) }]);
    expect(results.every((r) => r.ok)).toBe(true);
    // Pure red, normalised with mean 0.5 and std 0.5, pools to (1, -1, -1); times the projection, unit length.
    const expected = new Float32Array(TINY_DIM);
    const pooled = [1, -1, -1];
    for (let d = 0; d < TINY_DIM; d++) for (let c = 0; c < 3; c++) expected[d]! += pooled[c]! * VISION_WEIGHTS[c * TINY_DIM + d]!;
    const norm = Math.hypot(...expected);
    const red = results[0]!.ok ? results[0]!.vector : new Float32Array();
    expect(Array.from(red)).toEqual(Array.from(expected).map((v) => expect.closeTo(v / norm, 4)));
  });

  it('pads to the full length for a text tower without an attention mask (SigLIP-style)', async () => {
    const folder = writeTinyExport(path.join(temp.dir, 'tiny-siglip'), { attentionMask: false, maxLength: 6 });
    const siglip = await OnnxEmbedder.load(folder, options);
    try {
      const [alone] = await siglip.embedTexts(['a cat']);
      const [inBatch] = await siglip.embedTexts(['a cat', 'a photo of the dog']);
      // Always padded to 6, so a batch neighbour changes nothing; the mean includes the 2 pad tokens.
      expect(Array.from(inBatch!)).toEqual(Array.from(alone!).map((v) => expect.closeTo(v, 6)));
      const ids = [VOCAB['[CLS]']!, VOCAB.a!, VOCAB.cat!, VOCAB['[SEP]']!, VOCAB['[PAD]']!, VOCAB['[PAD]']!];
      expect(Array.from(alone!)).toEqual(Array.from(expectedText(ids)).map((v) => expect.closeTo(v, 5)));
    } finally {
      await siglip.close();
    }
  });

  it('exposes an intermediate tensor named by a manifest, and reads it as the embedding', async () => {
    writeFileSync(path.join(temp.dir, 'tiny-vision.onnx'), tinyVisionModel());
    const manifest = path.join(temp.dir, 'pooled.json');
    const base = { file: 'tiny-vision.onnx', input: 'pixel_values', width: TINY_SIZE, height: TINY_SIZE, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
    writeFileSync(manifest, JSON.stringify({ name: 'tiny-pooled', vision: { ...base, output: 'pooled' }, normalize: 'none' }));
    const pooled = await OnnxEmbedder.load(manifest, options);
    try {
      expect(pooled.dim).toBe(3);
      const [result] = await pooled.embedImages([{ bytes: await solidPng(16, 16, [255, 0, 255]) }]);
      expect(result!.ok && Array.from(result!.vector)).toEqual([expect.closeTo(1, 5), expect.closeTo(-1, 5), expect.closeTo(1, 5)]);
      await expect(pooled.embedTexts(['a cat'])).rejects.toThrow(/no text tower/);
    } finally {
      await pooled.close();
    }
  });

  it('refuses a two-tower model whose towers disagree on the dimension', async () => {
    writeFileSync(path.join(temp.dir, 'tiny-clip', 'quicksort-model.json'), JSON.stringify({
      name: 'mismatched',
      vision: { file: 'onnx/vision_model.onnx', input: 'pixel_values', width: TINY_SIZE, height: TINY_SIZE, output: 'pooled' },
      text: { file: 'onnx/text_model.onnx', tokenizer: 'tokenizer.json' },
    }));
    const error = await OnnxEmbedder.load(path.join(temp.dir, 'tiny-clip'), options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(/text tower gives 8-d vectors and the vision tower 3-d/);
  });
});
