import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Dataset } from '../../src/dataset';
import { REPO, tempDir, COCO_MINI_CAPTIONS, COCO_MINI_IMAGES } from '../helpers/fixtures';

/*
 * Natural-language search end to end, as a user runs it: coco-mini-train's 80 images ingested, embedded with
 * the default model, their COCO captions imported, the text model trained, then searched — by the CLI and
 * by ds.search — with filters in the same query.
 */

const BIN = path.join(REPO, 'bin', 'quicksort.js');
const COCO_CAPTIONS = COCO_MINI_CAPTIONS;

function quicksort(...args: string[]): { code: number; stdout: string; stderr: string; json: () => any } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, QUICKSORT_USER: 'tester' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, json: () => JSON.parse(result.stdout) };
}

describe('quicksort text train and quicksort search', () => {
  let temp: ReturnType<typeof tempDir>;
  let dir: string;
  /** Each image's captions, by file name. */
  let captionsOf: Map<string, string[]>;

  beforeAll(() => {
    temp = tempDir('quicksort-text-search-');
    dir = path.join(temp.dir, 'images');
    cpSync(COCO_MINI_IMAGES, dir, { recursive: true });
    expect(quicksort('ingest', '--dataset', dir, '--verify', 'header', '--json').json()).toMatchObject({ added: 80, failed: 0 });
    const embed = quicksort('embed', '--dataset', dir, '--json');
    expect(embed.code).toBe(0);
    const coco = JSON.parse(readFileSync(COCO_CAPTIONS, 'utf8')) as { images: { id: number; file_name: string }[]; annotations: { image_id: number; caption: string }[] };
    const names = new Map(coco.images.map((image) => [image.id, image.file_name]));
    captionsOf = new Map();
    for (const a of coco.annotations) captionsOf.set(names.get(a.image_id)!, [...(captionsOf.get(names.get(a.image_id)!) ?? []), a.caption.trim()]);
  }, 180_000);
  afterAll(() => temp.cleanup());

  it('refuses to search before a model is trained, and to train without captions, saying what to do', () => {
    const search = quicksort('search', '--dataset', dir, '--text', 'a dog');
    expect(search.code).not.toBe(0);
    expect(search.stderr).toMatch(/no text model at .*model\.qstm: train one first \(quicksort text train\)/);
    const train = quicksort('text', 'train', '--dataset', dir);
    expect(train.code).not.toBe(0);
    expect(train.stderr).toMatch(/0 embedded items with a caption.*quicksort captions import/);
  });

  it('trains on the imported captions and finds an image from one of its captions', async () => {
    expect(quicksort('captions', 'import', '--dataset', dir, '--coco', COCO_CAPTIONS, '--json').code).toBe(0);
    const train = quicksort('text', 'train', '--dataset', dir, '--epochs', '30', '--json');
    expect(train.code).toBe(0);
    const report = train.json();
    expect(report).toMatchObject({ captions: 400, images: 80, epochs: 30 });
    expect(report.imageModel).toMatch(/@/);
    expect(report.losses).toHaveLength(30);
    expect(report.losses.at(-1)).toBeLessThan(report.losses[0]);
    expect(readFileSync(report.files.chart, 'utf8')).toMatch(/^<svg/);

    const [firstName, firstCaptions] = [...captionsOf][0]!;
    const hits = quicksort('search', '--dataset', dir, '--text', firstCaptions[0]!, '--k', '80', '--json').json() as { id: number; uri: string; score: number }[];
    expect(hits).toHaveLength(80);
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);
    expect(hits.map((hit) => hit.uri)).toContain(firstName);

    // A caption the model trained on: its image comes near the top for most of them (chance: rank 40 of 80).
    const ds = await Dataset.open(dir, { readonly: true });
    const ranks: number[] = [];
    try {
      for (const [name, captions] of [...captionsOf].slice(0, 20)) {
        ranks.push((await ds.search(captions[0]!, { k: 80 })).findIndex((hit) => hit.uri === name) + 1);
      }
    } finally {
      ds.close();
    }
    ranks.sort((a, b) => a - b);
    expect(ranks[0]).toBeGreaterThan(0);
    expect(ranks[Math.floor(ranks.length / 2)]).toBeLessThanOrEqual(10);
  }, 180_000);

  it('combines a search with filters in one query, from the CLI and from ds.search', async () => {
    const ds = await Dataset.open(dir, { user: 'tester' });
    try {
      const all = await ds.search('a plate of food on a table', { k: 80 });
      expect(all).toHaveLength(80);
      const labeled = all.slice(0, 5).map((hit) => hit.id);
      ds.labelMany(labeled.map((id) => ({ id, label: 'food' })));
      const unlabeled = await ds.search('a plate of food on a table', { k: 10, where: { labeled: false } });
      expect(unlabeled).toHaveLength(10);
      for (const hit of unlabeled) expect(labeled).not.toContain(hit.id);
      // The same order as the unfiltered search, with the labeled items left out.
      expect(unlabeled.map((hit) => hit.id)).toEqual(all.filter((hit) => !labeled.includes(hit.id)).slice(0, 10).map((hit) => hit.id));
      expect((await ds.search('a plate of food on a table', { k: 10, where: { label: 'food' } })).map((hit) => hit.id).sort()).toEqual([...labeled].sort());
      await expect(ds.search('   ')).rejects.toThrow(/the search text is empty/);
    } finally {
      ds.close();
    }
    const cli = quicksort('search', '--dataset', dir, '--text', 'a plate of food on a table', '--label', 'food', '--json');
    expect(cli.code).toBe(0);
    expect(cli.json()).toHaveLength(5);
    const text = quicksort('search', '--dataset', dir, '--text', 'a plate of food on a table', '--k', '3');
    expect(text.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('names the file when the training record is damaged', () => {
    const record = path.join(dir, '.quicksort', 'text-model', 'training.json');
    expect(existsSync(record)).toBe(true);
    const saved = readFileSync(record, 'utf8');
    writeFileSync(record, saved.slice(0, 10));
    try {
      const search = quicksort('search', '--dataset', dir, '--text', 'a dog');
      expect(search.code).not.toBe(0);
      expect(search.stderr).toContain(record);
      expect(search.stderr).toMatch(/train again/);
    } finally {
      writeFileSync(record, saved);
    }
  });
});
