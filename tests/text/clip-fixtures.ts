import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Dataset } from '../../src/dataset';
import { TEXT_EMBEDDINGS, TINY_DIM, VISION_WEIGHTS, VOCAB } from '../embed/fixtures/tiny-models';
import { solidPng } from '../embed/fixtures/images';
import { REPO } from '../helpers/fixtures';

/*
 * Datasets whose right answers are known by construction, for the tiny generated CLIP export
 * (tests/embed/fixtures/tiny-models.ts): each word's image is the solid colour whose embedding (mean colour ×
 * the vision weights) is nearest, in least squares, to that word's text embedding (the mean of its tokens'
 * rows), so each word ranks its own image first; the whole ranking is computed here from the weights.
 */

const BIN = path.join(REPO, 'bin', 'quicksort.js');
export const WORDS = ['cat', 'dog', 'photo', 'the'] as const;
export const EMBED = { providers: ['cpu'], threads: 1 } as const;

function unit(vector: number[]): number[] {
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

/** The tiny text tower's vector of a one-word query: [CLS] word [SEP], mean of the rows. */
export function textVector(word: string): number[] {
  const ids = [VOCAB['[CLS]']!, VOCAB[word]!, VOCAB['[SEP]']!];
  return unit(Array.from({ length: TINY_DIM }, (_, d) => ids.reduce((sum, id) => sum + TEXT_EMBEDDINGS[id * TINY_DIM + d]!, 0) / ids.length));
}

/** The tiny vision tower's vector of a solid colour: its normalised channels (2p/255 − 1) × the weights. */
export function imageVector(rgb: readonly number[]): number[] {
  const pooled = rgb.map((p) => (2 * p) / 255 - 1);
  return unit(Array.from({ length: TINY_DIM }, (_, d) => pooled.reduce((sum, c, k) => sum + c * VISION_WEIGHTS[k * TINY_DIM + d]!, 0)));
}

/** The colour whose image vector is nearest to `target`: least squares over the 3 channels, scaled into range. */
function colourFor(target: number[]): [number, number, number] {
  const w = (k: number, d: number) => VISION_WEIGHTS[k * TINY_DIM + d]!;
  const a = [0, 1, 2].map((i) => [0, 1, 2].map((j) => target.reduce((sum, _, d) => sum + w(i, d) * w(j, d), 0)));
  const b = [0, 1, 2].map((i) => target.reduce((sum, t, d) => sum + w(i, d) * t, 0));
  const c = solve3(a, b);
  const largest = Math.max(...c.map(Math.abs));
  return c.map((v) => Math.round(((v / largest) * 0.9 + 1) * 127.5)) as [number, number, number];
}

function solve3(a: number[][], b: number[]): number[] {
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let i = 0; i < 3; i++) {
    const pivot = [i, i + 1, i + 2].filter((r) => r < 3).reduce((p, r) => (Math.abs(m[r]![i]!) > Math.abs(m[p]![i]!) ? r : p));
    [m[i], m[pivot]] = [m[pivot]!, m[i]!];
    for (let r = 0; r < 3; r++) {
      if (r === i) continue;
      const f = m[r]![i]! / m[i]![i]!;
      for (let k = i; k < 4; k++) m[r]![k]! -= f * m[i]![k]!;
    }
  }
  return m.map((row, i) => row[3]! / row[i]!);
}

export const COLOURS = new Map(WORDS.map((word) => [word, colourFor(textVector(word))]));

/** The uris ranked for a query, best first, with their cosines: what the search must answer. */
export function expectedRanking(word: string): { uri: string; score: number }[] {
  const query = textVector(word);
  return WORDS.map((other) => ({ uri: `${other}.png`, score: imageVector(COLOURS.get(other)!).reduce((sum, v, d) => sum + v * query[d]!, 0) })).sort((x, y) => y.score - x.score);
}

/** A dataset of the four words' images, embedded with the export at `model`. */
export async function datasetWith(root: string, name: string, model: string): Promise<Dataset> {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [word, rgb] of COLOURS) writeFileSync(path.join(dir, `${word}.png`), await solidPng(24, 24, rgb));
  const ds = await Dataset.open(dir, { user: 'ann' });
  await ds.ingest();
  const report = await ds.embed({ model, ...EMBED });
  expect(report).toMatchObject({ embedded: 4, failed: 0 });
  return ds;
}

export function quicksort(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, QUICKSORT_USER: 'tester', QUICKSORT_PROVIDERS: 'cpu' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

