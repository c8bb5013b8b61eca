import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { Dataset } from '../../src/dataset';
import { REPO, tempDir, COCO_MINI_CAPTIONS, COCO_MINI_IMAGES } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'quicksort.js');
const COCO_CAPTIONS = COCO_MINI_CAPTIONS;

function quicksort(...args: string[]): { code: number; stdout: string; stderr: string; json: () => any } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, QUICKSORT_USER: 'tester' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, json: () => JSON.parse(result.stdout) };
}

/** The COCO file's captions by image file name, trimmed (as the store keeps them), in file order. */
function captionsInFile(): Map<string, string[]> {
  const coco = JSON.parse(readFileSync(COCO_CAPTIONS, 'utf8')) as { images: { id: number; file_name: string }[]; annotations: { image_id: number; caption: string }[] };
  const names = new Map(coco.images.map((image) => [image.id, image.file_name]));
  const byName = new Map<string, string[]>();
  for (const a of coco.annotations) {
    const name = names.get(a.image_id)!;
    byName.set(name, [...(byName.get(name) ?? []), a.caption.trim()]);
  }
  return byName;
}

/** A fresh copy of coco-mini-train's 80 images, ingested. */
function ingestedCopy(): { dir: string; cleanup: () => void } {
  const temp = tempDir('quicksort-captions-');
  const dir = path.join(temp.dir, 'images');
  cpSync(COCO_MINI_IMAGES, dir, { recursive: true });
  expect(quicksort('ingest', '--dataset', dir, '--verify', 'header', '--json').json()).toMatchObject({ added: 80, failed: 0 });
  return { dir, cleanup: temp.cleanup };
}

async function withDataset<T>(dir: string, fn: (ds: Dataset) => T): Promise<T> {
  const ds = await Dataset.open(dir, { user: 'tester' });
  try {
    return fn(ds);
  } finally {
    ds.close();
  }
}

describe('quicksort captions import', () => {
  let data: ReturnType<typeof ingestedCopy>;
  let work: ReturnType<typeof tempDir>;
  beforeAll(() => {
    data = ingestedCopy();
    work = tempDir();
  });
  afterAll(() => {
    data?.cleanup();
    work?.cleanup();
  });

  it("imports coco-mini-train's COCO captions file end to end: 5 captions on each of the 80 images, beside a person's own; again adds nothing; one undo takes it back", async () => {
    const first = await withDataset(data.dir, (ds) => ds.items({ limit: 1 })[0]!);
    expect(quicksort('label', '--dataset', data.dir, '--item', String(first.id), '--label', 'kept').code).toBe(0);
    await withDataset(data.dir, (ds) => ds.caption(first.id, 'my own words'));

    const run = quicksort('captions', 'import', '--dataset', data.dir, '--coco', COCO_CAPTIONS, '--json');
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ format: 'coco', source: 'import', author: 'captions_train2017.json', rows: 400, added: 400, alreadyPresent: 0, itemsMatched: 80, unmatched: 0, problemCount: 0 });
    const expected = captionsInFile();
    await withDataset(data.dir, (ds) => {
      for (const item of ds.items()) {
        const imported = item.captions.filter((c) => c.source === 'import');
        expect(imported.map((c) => c.text)).toEqual(expected.get(item.uri));
        expect(imported.every((c) => c.author === 'captions_train2017.json')).toBe(true);
      }
      expect(ds.item(first.id).caption).toBe('my own words'); // the person's own stays the one shown
      expect(ds.item(first.id).captions[0]).toMatchObject({ text: 'my own words', source: 'human', author: 'tester' });
      expect(ds.store.checkState()).toEqual([]);
    });

    const again = quicksort('captions', 'import', '--dataset', data.dir, '--coco', COCO_CAPTIONS);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 added to 80 images, 400 there already/);
    expect(quicksort('status', '--dataset', data.dir, '--json').json()).toMatchObject({ captioned: 80, events: 2 + 400 });

    // Exports carry the list: Arrow's captions column, and a COCO captions file that imports back the same.
    const arrow = path.join(work.dir, 'items.arrow');
    expect(quicksort('export', '--dataset', data.dir, '--format', 'arrow', '--out', arrow).code).toBe(0);
    const table = tableFromIPC(readFileSync(arrow));
    const uris = table.getChild('uri')!.toArray() as string[];
    const row = uris.indexOf(first.uri);
    expect(table.getChild('captions')!.get(row)!.toArray()).toEqual(['my own words', ...expected.get(first.uri)!]);
    const cocoOut = path.join(work.dir, 'captions.json');
    expect(quicksort('export', '--dataset', data.dir, '--format', 'coco-captions', '--out', cocoOut).code).toBe(0);
    const exported = JSON.parse(readFileSync(cocoOut, 'utf8'));
    expect(exported.annotations).toHaveLength(401);
    const copy = ingestedCopy();
    try {
      expect(quicksort('captions', 'import', '--dataset', copy.dir, '--coco', cocoOut, '--json').json()).toMatchObject({ added: 401, itemsMatched: 80 });
    } finally {
      copy.cleanup();
    }

    const undo = quicksort('undo', '--dataset', data.dir);
    expect(undo.stdout).toMatch(/Undid 400 actions \(400 add_caption\) on 80 items/);
    await withDataset(data.dir, (ds) => {
      expect(ds.stats().captioned).toBe(1);
      expect(ds.item(first.id)).toMatchObject({ caption: 'my own words', label: 'kept' });
      expect(ds.item(first.id).captions).toHaveLength(1);
    });
    expect(quicksort('redo', '--dataset', data.dir).code).toBe(0);
    expect(quicksort('status', '--dataset', data.dir, '--json').json().captioned).toBe(80);
  });

  it('reads CSV with quoted commas and line breaks and JSON Lines; skips bad rows naming file, line and field; the rest goes in', async () => {
    const [a, b, c] = (await withDataset(data.dir, (ds) => ds.items({ limit: 3 }).map((item) => item.uri))) as [string, string, string];
    const csv = path.join(work.dir, 'captions.csv');
    writeFileSync(
      csv,
      [
        'uri,caption,extra',
        `${a},"A red car, parked ""outside""\non two lines",x`,
        `${b},`,
        `../outside.jpg,climbing out`,
        `nowhere/missing.jpg,no such image`,
        `./${c},a plain one`,
      ].join('\r\n') + '\r\n',
    );
    const run = quicksort('captions', 'import', '--dataset', data.dir, '--csv', csv, '--json');
    expect(run.code).toBe(0);
    const report = run.json();
    expect(report).toMatchObject({ format: 'csv', added: 2, unmatched: 1, unmatchedNames: ['nowhere/missing.jpg'], problemCount: 2 });
    expect(report.problems).toEqual([
      { file: csv, where: 'line 4', field: 'caption', reason: `the row of ${JSON.stringify(b)} has no caption` },
      { file: csv, where: 'line 5', field: 'uri', reason: '"../outside.jpg" climbs out of the dataset folder' },
    ]);
    await withDataset(data.dir, (ds) => {
      const byUri = new Map(ds.items().map((item) => [item.uri, item]));
      expect(byUri.get(a)!.captions.at(-1)).toMatchObject({ text: 'A red car, parked "outside"\non two lines', source: 'import', author: 'captions.csv' });
      expect(byUri.get(c)!.captions.at(-1)!.text).toBe('a plain one');
    });

    const jsonl = path.join(work.dir, 'drafts.jsonl');
    writeFileSync(jsonl, [JSON.stringify({ uri: a, caption: 'a draft' }), JSON.stringify({ image: b, caption: 'wrong key' }), '[1]', `{"uri": "${c}", "capt`].join('\n'));
    const drafts = quicksort('captions', 'import', '--dataset', data.dir, '--jsonl', jsonl, '--source', 'vlm');
    expect(drafts.code).toBe(0);
    expect(drafts.stdout).toMatch(/1 added to 1 images/);
    expect(drafts.stdout).toContain(`skipped ${jsonl}, line 2, uri: expected the image's path`);
    expect(drafts.stdout).toContain(`skipped ${jsonl}, line 3, line: expected an object`);
    expect(drafts.stdout).toMatch(/line 4, line: not valid JSON/);
    await withDataset(data.dir, (ds) => {
      expect(ds.items().find((item) => item.uri === a)!.captions.at(-1)).toMatchObject({ text: 'a draft', source: 'vlm', author: 'drafts.jsonl' });
    });
  });

  it('refuses a file it cannot read as a whole with a typed error naming the file and field, and writes nothing', async () => {
    const before = quicksort('status', '--dataset', data.dir, '--json').json().events;
    const truncated = path.join(work.dir, 'truncated.json');
    writeFileSync(truncated, readFileSync(COCO_CAPTIONS, 'utf8').slice(0, 5000));
    const cut = quicksort('captions', 'import', '--dataset', data.dir, '--coco', truncated);
    expect(cut.code).toBe(8);
    expect(cut.stderr).toContain(`${truncated} is not valid JSON`);
    expect(cut.stderr).toMatch(/truncated\? Nothing was imported/);

    const notCaptions = path.join(work.dir, 'instances.json');
    writeFileSync(notCaptions, JSON.stringify({ images: [] }));
    expect(quicksort('captions', 'import', '--dataset', data.dir, '--coco', notCaptions).stderr).toMatch(/has no "annotations" list/);

    const headerless = path.join(work.dir, 'headerless.csv');
    writeFileSync(headerless, 'file,text\na.jpg,hello\n');
    const noHeader = quicksort('captions', 'import', '--dataset', data.dir, '--csv', headerless);
    expect(noHeader.code).toBe(2);
    expect(noHeader.stderr).toContain(`${headerless}: the header row has no "uri" column (it has "file", "text")`);

    const missing = quicksort('captions', 'import', '--dataset', data.dir, '--jsonl', path.join(work.dir, 'nope.jsonl'));
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/no captions file .*nope\.jsonl/);

    expect(quicksort('captions', 'import', '--dataset', data.dir).stderr).toMatch(/exactly one captions file/);
    expect(quicksort('captions', 'import', '--dataset', data.dir, '--csv', headerless, '--coco', truncated).code).toBe(2);
    expect(quicksort('captions', 'import', '--dataset', data.dir, '--coco', COCO_CAPTIONS, '--source', 'oracle').code).toBe(2);

    const nothing = path.join(work.dir, 'elsewhere.csv');
    writeFileSync(nothing, 'uri,caption\nother/1.jpg,a\n');
    expect(quicksort('captions', 'import', '--dataset', data.dir, '--csv', nothing).code).toBe(4); // no row named an image
    expect(quicksort('status', '--dataset', data.dir, '--json').json().events).toBe(before);
  });
});

describe('a captions import killed half-way', () => {
  // A child process imports through the library in chunks of 50 and kills itself (SIGKILL: no cleanup of any
  // kind) once the second chunk is committed, as a crash or a power cut would end it.
  const CHILD = `
    const { Dataset } = require(${JSON.stringify(path.join(REPO, 'dist', 'dataset'))});
    const { importCaptions } = require(${JSON.stringify(path.join(REPO, 'dist', 'captions'))});
    (async () => {
      const ds = await Dataset.open(process.argv[1], { user: 'tester' });
      await importCaptions(ds, { file: process.argv[2], chunkRows: 50, onProgress: ({ done }) => {
        if (done === 100) process.kill(process.pid, 'SIGKILL');
      } });
    })();`;

  it('keeps every chunk it committed and what was there before; importing again adds exactly the rest', async () => {
    const data = ingestedCopy();
    try {
      const first = await withDataset(data.dir, (ds) => {
        const item = ds.items({ limit: 1 })[0]!;
        ds.label(item.id, 'cat');
        return item;
      });
      const child = spawnSync(process.execPath, ['-e', CHILD, data.dir, COCO_CAPTIONS], { encoding: 'utf8' });
      expect(child.signal).toBe('SIGKILL');
      await withDataset(data.dir, (ds) => {
        expect(ds.store.integrityCheck()).toBe('ok');
        expect(ds.store.checkState()).toEqual([]);
        expect(ds.items().reduce((n, item) => n + item.captions.length, 0)).toBe(100);
        expect(ds.item(first.id).label).toBe('cat');
      });
      const rest = quicksort('captions', 'import', '--dataset', data.dir, '--coco', COCO_CAPTIONS, '--json').json();
      expect(rest).toMatchObject({ added: 300, alreadyPresent: 100, itemsMatched: 80 });
      await withDataset(data.dir, (ds) => expect(ds.items().every((item) => item.captions.length === 5)).toBe(true));
    } finally {
      data.cleanup();
    }
  });
});
