import sharp from 'sharp';
import { trainTextModelHere, type TextModel } from '../../src/text';
import { embedWithDefaultModel, tempFolder } from './fixtures';

/**
 * The roadmap's "shiny red car" vs "matte red car" (issue 15, part 5): generated images that differ in one
 * visual attribute — a white highlight gradient over the body (shiny) or none (matte) — embedded with the
 * real default model, captions naming the attribute. Held-out images are ranked by each attribute's query.
 */
const temp = tempFolder();
afterAll(() => temp.cleanup());

function carSvg(index: number, shiny: boolean): string {
  const x = 20 + ((index * 37) % 60);
  const y = 70 + ((index * 23) % 50);
  const width = 150 + ((index * 13) % 40);
  const red = 190 + ((index * 17) % 50);
  const grey = 150 + ((index * 29) % 80);
  const highlight = shiny
    ? `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#fff" stop-opacity="0.95"/><stop offset="1" stop-color="#fff" stop-opacity="0"/></linearGradient></defs>
       <ellipse cx="${x + width * 0.45}" cy="${y + 18}" rx="${width * 0.38}" ry="14" fill="url(#g)"/>
       <rect x="${x + width * 0.2}" y="${y - 22}" width="${width * 0.18}" height="8" rx="4" fill="#fff" fill-opacity="0.9"/>`
    : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">
    <rect width="256" height="256" fill="rgb(${grey},${grey},${grey})"/>
    <rect x="${x + width * 0.18}" y="${y - 30}" width="${width * 0.55}" height="34" rx="12" fill="rgb(${red},20,24)"/>
    <rect x="${x}" y="${y}" width="${width}" height="48" rx="14" fill="rgb(${red},20,24)"/>
    <circle cx="${x + width * 0.22}" cy="${y + 50}" r="16" fill="#111"/>
    <circle cx="${x + width * 0.78}" cy="${y + 50}" r="16" fill="#111"/>
    ${highlight}
  </svg>`;
}

const CAPTIONS = {
  shiny: ['a shiny red car', 'a red car with shiny glossy paint', 'shiny car, red'],
  matte: ['a matte red car', 'a red car with matte flat paint', 'matte car, red'],
};

describe('semantic nuances: shiny vs matte red cars', () => {
  const train = 20;
  const test = 8;
  const kinds = Array.from({ length: train + test }, (_, i) => (i % 2 === 0 ? 'shiny' : 'matte') as 'shiny' | 'matte');
  let images: Float32Array;
  beforeAll(async () => {
    const sources = await Promise.all(kinds.map(async (kind, i) => ({ bytes: await sharp(Buffer.from(carSvg(i, kind === 'shiny'))).png().toBuffer() })));
    images = await embedWithDefaultModel(sources, temp.dir);
  });

  /** For each attribute's query, how many of its own held-out images are in its top 4 (of 8). */
  function ownInTop(model: TextModel): Record<'shiny' | 'matte', number> {
    const held = images.subarray(train * 1280);
    const joint = model.projectImages(held);
    const result = { shiny: 0, matte: 0 };
    for (const kind of ['shiny', 'matte'] as const) {
      const query = model.encodeText([`${kind} red car`]);
      const scores = Array.from({ length: test }, (_, row) => ({ row, score: query.reduce((s, v, i) => s + v * joint[row * model.jointDim + i]!, 0) }));
      scores.sort((a, b) => b.score - a.score);
      result[kind] = scores.slice(0, test / 2).filter(({ row }) => kinds[train + row] === kind).length;
    }
    return result;
  }

  it('after training, the query for each attribute ranks its own unseen images first; before training it does not', () => {
    const captions: string[] = [];
    const imageOfCaption: number[] = [];
    for (let row = 0; row < train; row++) {
      for (const caption of CAPTIONS[kinds[row]!]) {
        captions.push(caption);
        imageOfCaption.push(row);
      }
    }
    const pairs = { images: images.subarray(0, train * 1280).slice(), imageDim: 1280, captions, imageOfCaption };
    const before = trainTextModelHere(pairs, { epochs: 1, learningRate: 1e-12, seed: 1 }).model; // the same start, unmoved
    const { model, report } = trainTextModelHere(pairs, { epochs: 15, batchSize: 16, seed: 1 });
    expect(report.losses.at(-1)!).toBeLessThan(report.losses[0]!);
    expect(ownInTop(model)).toEqual({ shiny: 4, matte: 4 });
    const untrained = ownInTop(before);
    expect(untrained.shiny + untrained.matte).toBeLessThan(8);
  });
});
