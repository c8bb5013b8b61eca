import { trainTextModel, trainTextModelHere, type TrainingProgress } from '../../src/text';
import { mulberry32 } from '../../src/random';

// 40 images of random 64-d embeddings, 3 captions each: a quick but real training.
const random = mulberry32(21);
const images = Float32Array.from({ length: 40 * 64 }, () => random() * 2 - 1);
const words = ['red', 'blue', 'green', 'small', 'large', 'old', 'new', 'dark'];
const things = ['car', 'dog', 'house', 'boat', 'chair'];
const captions: string[] = [];
const imageOfCaption: number[] = [];
for (let row = 0; row < 40; row++) {
  for (const template of ['a {w} {t}', 'the {t} is {w}', 'one {w} {t} here']) {
    captions.push(template.replace('{w}', words[row % 8]!).replace('{t}', things[Math.floor(row / 8)]!));
    imageOfCaption.push(row);
  }
}
const pairs = { images, imageDim: 64, captions, imageOfCaption };
const options = { epochs: 6, batchSize: 16, jointDim: 32, buckets: 1024, seed: 3 };

describe('training in a worker thread', () => {
  it('reports each epoch with its loss and returns the same model as training here, to the bit', async () => {
    const heard: TrainingProgress[] = [];
    let turns = 0;
    // The caller's event loop keeps turning while the worker trains.
    const ticker = setInterval(() => turns++, 0);
    try {
      const { model, report } = await trainTextModel(pairs, options, (progress) => heard.push(progress));
      expect(heard.map((p) => p.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(heard.every((p) => p.epochs === 6 && Number.isFinite(p.loss))).toBe(true);
      expect(report.losses).toEqual(heard.map((p) => p.loss));
      expect(turns).toBeGreaterThan(0);
      const here = trainTextModelHere(pairs, options).model;
      const query = ['a red car', 'the dog is dark'];
      expect(Buffer.from(model.encodeText(query).buffer).equals(Buffer.from(here.encodeText(query).buffer))).toBe(true);
      expect(Buffer.from(model.projectImages(images).buffer).equals(Buffer.from(here.projectImages(images).buffer))).toBe(true);
    } finally {
      clearInterval(ticker);
    }
  });

  it('stops when its signal aborts: the promise rejects with the abort reason and no more progress comes', async () => {
    const controller = new AbortController();
    const heard: number[] = [];
    const training = trainTextModel(pairs, { ...options, epochs: 500, signal: controller.signal }, (progress) => {
      heard.push(progress.epoch);
      if (progress.epoch === 2) controller.abort();
    });
    await expect(training).rejects.toMatchObject({ name: 'AbortError' });
    const count = heard.length;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThan(500);
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toHaveLength(count);
  });

  it('rejects at once when the signal has already aborted, and with a typed error for bad pairs', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(trainTextModel(pairs, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(trainTextModel({ ...pairs, imageOfCaption: imageOfCaption.map(() => 0) }, options)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/at least 2 different images/) });
  });
});
