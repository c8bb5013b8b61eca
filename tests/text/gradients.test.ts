import { createTextModel, type TextModel } from '../../src/text';
import { lossAndGradients, type PairBatch } from '../../src/text/gradients';
import { mulberry32 } from '../../src/random';

// Small dimensions so every parameter's derivative can be checked by central differences.
const IMAGE_DIM = 6;
function smallProblem(): { model: TextModel; batch: PairBatch } {
  const model = createTextModel(IMAGE_DIM, { jointDim: 4, buckets: 64, seed: 3 });
  model.logScale = Math.log(4); // a softer softmax than CLIP's start: every entry's derivative is far from zero
  const random = mulberry32(11);
  for (let i = 0; i < IMAGE_DIM; i++) model.imageMean[i] = random() * 0.1;
  for (let i = 0; i < model.imageBias.length; i++) model.imageBias[i] = random() * 0.2 - 0.1;
  // Bucket rows start at zero; give the ones this batch reads a value so their derivative is not trivial.
  for (let i = model.settings.vocabularySize * 100; i < model.table.length; i++) model.table[i] = random() * 0.2 - 0.1;
  const captions = ['a red car', 'the blue sky zzqx', 'two dogs play', 'an old man reading'];
  const images = Float32Array.from({ length: captions.length * IMAGE_DIM }, () => random() * 2 - 1);
  return { model, batch: { images, captions: captions.map((caption) => model.features(caption)) } };
}

function numeric(model: TextModel, batch: PairBatch, get: () => number, set: (v: number) => void): number {
  const step = 1e-3; // 1e-2 is too coarse for the text weights: their curvature shows at 3 %
  const value = get();
  set(value + step);
  const up = lossAndGradients(model, batch).loss;
  set(value - step);
  const down = lossAndGradients(model, batch).loss;
  set(value);
  return (up - down) / (2 * step);
}

function expectClose(analytic: number, finite: number): void {
  expect(Math.abs(analytic - finite)).toBeLessThanOrEqual(2e-4 + 0.02 * Math.abs(finite));
}

describe('the InfoNCE gradients', () => {
  const { model, batch } = smallProblem();
  const { loss, gradients } = lossAndGradients(model, batch);

  it('computes a finite loss above zero', () => {
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(0);
  });

  it.each(['imageWeights', 'imageBias', 'textWeights', 'textBias'] as const)('match finite differences for every entry of %s', (name) => {
    const values = model[name];
    const analytic = gradients[name];
    let checked = 0;
    for (let i = 0; i < values.length; i++) {
      expectClose(analytic[i]!, numeric(model, batch, () => values[i]!, (v) => (values[i] = v)));
      checked++;
    }
    expect(checked).toBe(values.length);
    expect(analytic.some((g) => Math.abs(g) > 1e-3)).toBe(true);
  });

  it('match finite differences for the log-scale (the learned temperature)', () => {
    expectClose(gradients.logScale, numeric(model, batch, () => model.logScale, (v) => (model.logScale = v)));
  });

  it('match finite differences for the word and bucket rows the batch read, and touch no other row', () => {
    const dim = model.settings.wordDim;
    const read = new Set(batch.captions.flatMap((c) => [...c.words, ...c.subwords]));
    expect([...gradients.rows.keys()].sort((a, b) => a - b)).toEqual([...read].sort((a, b) => a - b));
    const vocabularyRow = model.features('car').words[0]!;
    expect(vocabularyRow).toBeLessThan(model.settings.vocabularySize);
    const bucketRow = model.features('zzqx').words[0]!; // out of the vocabulary: a hashed bucket
    expect(bucketRow).toBeGreaterThanOrEqual(model.settings.vocabularySize);
    const subwordRow = batch.captions[2]!.subwords[0]!;
    for (const row of [vocabularyRow, bucketRow, subwordRow]) {
      for (const column of [0, 17, 99]) {
        const at = row * dim + column;
        expectClose(gradients.rows.get(row)![column]!, numeric(model, batch, () => model.table[at]!, (v) => (model.table[at] = v)));
      }
    }
  });
});
