import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { REPO, sampleCopy, tempDir } from '../helpers/fixtures';
import { readArrowInChild } from './arrow-readers';
import { path } from './fixtures';

const BIN = path.join(REPO, 'bin', 'quicksort.js');

function quicksort(...args: string[]): { code: number; stdout: string; stderr: string; json: () => any } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, QUICKSORT_USER: 'tester' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, json: () => JSON.parse(result.stdout) };
}

describe('quicksort export', () => {
  let data: ReturnType<typeof sampleCopy>;
  let out: ReturnType<typeof tempDir>;
  beforeAll(() => {
    data = sampleCopy();
    out = tempDir();
    expect(quicksort('ingest', '--dataset', data.dir, '--verify', 'header').code).toBe(0);
    expect(quicksort('label', '--dataset', data.dir, '--item', '1', '--label', 'cat').code).toBe(0);
    expect(quicksort('label', '--dataset', data.dir, '--item', '2', '--label', 'dog').code).toBe(0);
  });
  afterAll(() => {
    data.cleanup();
    out.cleanup();
  });

  it('writes each format, reports as JSON, and filters', () => {
    const arrow = quicksort('export', '--dataset', data.dir, '--format', 'arrow', '--out', path.join(out.dir, 'all.arrow'), '--json');
    expect(arrow.code).toBe(0);
    expect(arrow.json()).toMatchObject({ format: 'arrow', rows: 36, classes: ['cat', 'dog'], skippedCount: 0 });
    const labeled = quicksort('export', '--dataset', data.dir, '--format', 'arrow-stream', '--out', path.join(out.dir, 'labeled.arrows'), '--labeled');
    expect(labeled.code).toBe(0);
    expect(labeled.stdout).toMatch(/Exported 2 items as arrow-stream to .*labeled\.arrows/);
    expect(readArrowInChild(path.join(out.dir, 'labeled.arrows')).rows.map((row) => row.label)).toEqual(['cat', 'dog']);

    const parquet = quicksort('export', '--dataset', data.dir, '--format', 'parquet', '--compression', 'zstd', '--out', path.join(out.dir, 'a.parquet'), '--json');
    expect(parquet.code).toBe(0);
    const shards = quicksort('export', '--dataset', data.dir, '--format', 'webdataset', '--shard-samples', '10', '--shard-size', '50MB', '--out', path.join(out.dir, 'wds'));
    expect(shards.code).toBe(0);
    expect(shards.stdout).toMatch(/4 shards, with classes\.txt \(2 classes\) and shards\.json beside them/);
    expect(readdirSync(path.join(out.dir, 'wds'))).toContain('wds-000003.tar');
    const coco = quicksort('export', '--dataset', data.dir, '--format', 'coco', '--out', path.join(out.dir, 'coco.json'), '--label', 'dog', '--json');
    expect(coco.json()).toMatchObject({ format: 'coco', rows: 1, viaCocoBridge: false });
  });

  it('refuses an existing output (exit 9) unless --force, and a folder it cannot create', () => {
    const file = path.join(out.dir, 'exists.parquet');
    writeFileSync(file, 'keep me');
    const refused = quicksort('export', '--dataset', data.dir, '--format', 'parquet', '--out', file);
    expect(refused.code).toBe(9);
    expect(refused.stderr).toMatch(/exists\.parquet already exists; pass --force/);
    expect(quicksort('export', '--dataset', data.dir, '--format', 'parquet', '--out', file, '--force').code).toBe(0);

    const blocked = quicksort('export', '--dataset', data.dir, '--format', 'arrow', '--out', path.join(file, 'x.arrow'));
    expect(blocked.code).toBe(9);
    expect(blocked.stderr).toMatch(/cannot create the output folder .*exists\.parquet: a part of the path is a file/);
  });

  it('answers usage mistakes with exit 2 and the allowed values', () => {
    const format = quicksort('export', '--dataset', data.dir, '--format', 'csv', '--out', path.join(out.dir, 'x'));
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/Allowed choices are arrow, arrow-stream, parquet, webdataset, coco/);
    const both = quicksort('export', '--dataset', data.dir, '--format', 'arrow', '--out', path.join(out.dir, 'y.arrow'), '--labeled', '--unlabeled');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exclude each other/);
    const size = quicksort('export', '--dataset', data.dir, '--format', 'webdataset', '--out', path.join(out.dir, 'z'), '--shard-size', 'big');
    expect(size.code).toBe(2);
    expect(size.stderr).toMatch(/expected a size such as 500MB/);
    const notIngested = tempDir();
    try {
      const missing = quicksort('export', '--dataset', notIngested.dir, '--format', 'arrow', '--out', path.join(out.dir, 'n.arrow'));
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(/run `npx quicksort ingest/);
    } finally {
      notIngested.cleanup();
    }
  });
});

describe('quicksort export never writes onto the dataset', () => {
  let data: ReturnType<typeof sampleCopy>;
  let out: ReturnType<typeof tempDir>;
  let store: string;
  let image: string;
  beforeAll(() => {
    data = sampleCopy();
    out = tempDir();
    expect(quicksort('ingest', '--dataset', data.dir, '--verify', 'header').code).toBe(0);
    store = path.join(data.dir, '.quicksort', 'quicksort.db');
    image = path.join(data.dir, readdirSync(data.dir).find((name) => name.endsWith('.jpg'))!);
  });
  afterAll(() => {
    data.cleanup();
    out.cleanup();
  });

  const refused = (pattern: RegExp, ...args: string[]) => {
    const result = quicksort('export', '--dataset', data.dir, '--force', ...args);
    expect(result.stderr).toMatch(pattern);
    expect(result.code).toBe(9);
  };
  const link = (name: string, target: string) => {
    const file = path.join(out.dir, name);
    symlinkSync(target, file);
    return file;
  };

  it('refuses the store, an image and the state folder, as given or through a symlink, even with --force', () => {
    const storeBytes = readFileSync(store);
    const imageBytes = readFileSync(image);
    refused(/would overwrite the dataset's store, .*quicksort\.db; this is refused even with --force/, '--format', 'arrow', '--out', store);
    refused(/store\.arrow \(which leads to .*quicksort\.db\) would overwrite the dataset's store/, '--format', 'arrow', '--out', link('store.arrow', store));
    refused(/would overwrite the image of item \d+/, '--format', 'parquet', '--out', image);
    refused(/image\.parquet \(which leads to .*\.jpg\) would overwrite the image of item \d+/, '--format', 'parquet', '--out', link('image.parquet', image));
    const state = link('exports', path.join(data.dir, '.quicksort'));
    refused(/exports\/labels\.arrow \(which leads to .*\.quicksort\/labels\.arrow\) would overwrite the dataset's state folder/, '--format', 'arrow', '--out', path.join(state, 'labels.arrow'));
    refused(/would overwrite the dataset folder/, '--format', 'webdataset', '--out', data.dir);
    refused(/would overwrite the dataset's state folder/, '--format', 'webdataset', '--out', path.join(data.dir, '.quicksort'));
    expect(readFileSync(store).equals(storeBytes)).toBe(true);
    expect(readFileSync(image).equals(imageBytes)).toBe(true);
    expect(quicksort('status', '--dataset', data.dir, '--json').json()).toMatchObject({ items: 36 });
    // Beside the images is fine.
    expect(quicksort('export', '--dataset', data.dir, '--format', 'arrow', '--out', path.join(data.dir, 'labels.arrow')).code).toBe(0);
  });

  it('removes the leftovers of killed exports of the same output, but not those of a live process', () => {
    const stale = path.join(out.dir, '.x.arrow.99999999-abcd.partial');
    const staleFolder = path.join(out.dir, '.x.arrow.99999998-beef.partial');
    const staleOld = path.join(out.dir, '.x.arrow.99999997-cafe.partial.old');
    const live = path.join(out.dir, `.x.arrow.${process.pid}-f00d.partial`);
    const otherTarget = path.join(out.dir, '.y.arrow.99999999-abcd.partial');
    writeFileSync(stale, 'half an export');
    mkdirSync(path.join(staleFolder, 'inner'), { recursive: true });
    mkdirSync(staleOld);
    writeFileSync(live, 'still being written');
    writeFileSync(otherTarget, 'another output');
    expect(quicksort('export', '--dataset', data.dir, '--format', 'arrow', '--out', path.join(out.dir, 'x.arrow')).code).toBe(0);
    const left = readdirSync(out.dir);
    expect(left).toContain('x.arrow');
    expect(left).toContain(path.basename(live));
    expect(left).toContain(path.basename(otherTarget));
    for (const gone of [stale, staleFolder, staleOld]) expect(left).not.toContain(path.basename(gone));
  });
});
