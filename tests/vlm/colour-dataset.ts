import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Dataset } from '../../src/dataset';
import { tempDir } from '../helpers/fixtures';

/** Eight classes that differ at a glance (and in a 16×16 thumbnail): the fake VLM compares pixels. */
export const COLOURS: Record<string, [number, number, number]> = {
  red: [220, 30, 30],
  green: [30, 200, 40],
  blue: [30, 40, 220],
  yellow: [230, 220, 30],
  cyan: [30, 210, 220],
  magenta: [210, 30, 210],
  orange: [240, 140, 20],
  purple: [130, 40, 200],
};

export interface ColourDataset {
  dir: string;
  cleanup: () => void;
  /** Every item's true class, by id. */
  truth: Map<number, string>;
  /** Items labelled by the person `ann` (3 of each class), and the others. */
  labelled: number[];
  unlabelled: number[];
}

/** A noisy swatch of one colour: each image of a class looks alike but is not the same file. */
async function swatch([r, g, b]: [number, number, number], seed: number): Promise<Buffer> {
  const size = 48;
  const pixels = Buffer.alloc(size * size * 3);
  let state = seed;
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      const noise = ((state >> 16) % 41) - 20;
      pixels[i * 3 + c] = Math.max(0, Math.min(255, [r, g, b][c]! + noise));
    }
  }
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

/**
 * 48 generated swatches (8 colours × 6) in a temporary folder: ingested, embedded with the default ONNX
 * model, 3 of each colour labelled by `ann` with a caption ("a red square"), the rest without either.
 */
export async function colourDataset(perClass = 6, labelledPerClass = 3): Promise<ColourDataset> {
  const temp = tempDir('quicksort-vlm-');
  const dir = path.join(temp.dir, 'images');
  mkdirSync(dir);
  let seed = 1;
  for (const [name, rgb] of Object.entries(COLOURS)) {
    for (let i = 0; i < perClass; i++) writeFileSync(path.join(dir, `${name}-${i}.png`), await swatch(rgb, seed++));
  }
  const ds = await Dataset.open(dir, { user: 'ann' });
  const truth = new Map<number, string>();
  const labelled: number[] = [];
  const unlabelled: number[] = [];
  try {
    await ds.ingest();
    await ds.embed();
    for (const item of ds.items()) {
      const [name, index] = path.basename(item.uri, '.png').split('-');
      truth.set(item.id, name!);
      if (Number(index) < labelledPerClass) {
        ds.label(item.id, name!);
        ds.act(item.id, { kind: 'add_caption', caption: `a ${name} square` });
        labelled.push(item.id);
      } else unlabelled.push(item.id);
    }
  } finally {
    ds.close();
  }
  return { dir, cleanup: temp.cleanup, truth, labelled, unlabelled };
}
