import { InvalidArgumentError } from '../../src/errors';
import { trainTextModelHere } from '../../src/text';
import { batchesOf } from '../../src/text/train';
import { cocoMiniPairs, tempFolder } from './fixtures';

const temp = tempFolder();
afterAll(() => temp.cleanup());

describe('InfoNCE training on real COCO captions and MobileNetV2 embeddings', () => {
  let pairs: Awaited<ReturnType<typeof cocoMiniPairs>>;
  beforeAll(async () => {
    pairs = await cocoMiniPairs(24, temp.dir); // 24 images × 5 captions
  });

  it('brings the loss down and ranks each training caption\'s image higher than before', () => {
    const { model, report } = trainTextModelHere(pairs, { epochs: 15, seed: 2 });
    expect(report.captions).toBe(120);
    expect(report.images).toBe(24);
    expect(report.losses).toHaveLength(15);
    expect(report.losses[14]!).toBeLessThan(report.losses[0]! * 0.5);
    // The learned temperature went down from CLIP's 0.07 start or stayed within the clamp.
    expect(model.temperature).toBeGreaterThanOrEqual(0.01 - 1e-9);
    // Mean rank of each caption's own image among the 24 (0 = first).
    const rankOwn = (m: typeof model) => {
      const texts = m.encodeText(pairs.captions);
      const joint = m.projectImages(pairs.images);
      let total = 0;
      pairs.captions.forEach((_, c) => {
        const score = (row: number) => texts.subarray(c * m.jointDim, (c + 1) * m.jointDim).reduce((s, v, i) => s + v * joint[row * m.jointDim + i]!, 0);
        const own = score(pairs.imageOfCaption[c]!);
        for (let row = 0; row < 24; row++) if (row !== pairs.imageOfCaption[c] && score(row) >= own) total++;
      });
      return total / pairs.captions.length;
    };
    const before = trainTextModelHere(pairs, { epochs: 1, learningRate: 1e-12, seed: 2 }).model;
    expect(rankOwn(model)).toBeLessThan(1);
    expect(rankOwn(before)).toBeGreaterThan(5);
  });

  it('is deterministic for a seed and differs for another', () => {
    const small = { ...pairs, captions: pairs.captions.slice(0, 40), imageOfCaption: pairs.imageOfCaption.slice(0, 40) };
    const a = trainTextModelHere(small, { epochs: 2, seed: 4 }).model.encodeText(['a man riding a horse']);
    const b = trainTextModelHere(small, { epochs: 2, seed: 4 }).model.encodeText(['a man riding a horse']);
    const c = trainTextModelHere(small, { epochs: 2, seed: 5 }).model.encodeText(['a man riding a horse']);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it('never puts two captions of one image in a batch, and trains every caption once per epoch', () => {
    const order = pairs.captions.map((_, c) => c);
    const batches = [...batchesOf(order, pairs.imageOfCaption, 16)];
    expect(batches.flat().sort((x, y) => x - y)).toEqual(order);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(16);
      expect(new Set(batch.map((c) => pairs.imageOfCaption[c])).size).toBe(batch.length);
    }
  });

  it('refuses bad pairs with errors naming the field', () => {
    const base = { images: pairs.images, imageDim: 1280 };
    expect(() => trainTextModelHere({ ...base, captions: ['a', 'b'], imageOfCaption: [0] })).toThrow(/imageOfCaption has 1 entries but there are 2 captions/);
    expect(() => trainTextModelHere({ ...base, captions: ['a', 'b'], imageOfCaption: [0, 24] })).toThrow(/imageOfCaption\[1\] is 24, but the images have rows 0 to 23/);
    expect(() => trainTextModelHere({ ...base, captions: ['a', 'b'], imageOfCaption: [3, 3] })).toThrow(/at least 2 different images/);
    expect(() => trainTextModelHere({ images: new Float32Array(10), imageDim: 3, captions: [], imageOfCaption: [] })).toThrow(InvalidArgumentError);
    expect(() => trainTextModelHere({ ...base, captions: ['a', 'b'], imageOfCaption: [0, 1] }, { batchSize: 1 })).toThrow(/batchSize must be at least 2/);
  });
});
