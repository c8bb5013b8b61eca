import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { QuickSort } from '../../src/dataset';
import { REPO, tempDir } from '../helpers/fixtures';
import { SAMPLE_ANNOTATIONS, SAMPLE_IMAGES, sampleDetections } from './helpers';

function run(bin: string, ...args: string[]): { code: number; stdout: string; stderr: string; json: () => any } {
  const result = spawnSync(process.execPath, [path.join(REPO, 'bin', bin), ...args], { encoding: 'utf8', env: { ...process.env, QUICKSORT_USER: 'tester' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, json: () => JSON.parse(result.stdout) };
}

// Each command is a fresh Node process loading sharp: generous limits for a busy two-core machine.
jest.setTimeout(180_000);

describe('quicksort-coco', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    temp = tempDir();
  });
  afterAll(() => temp.cleanup());

  it('imports predictions, exports them unchanged, then with a person\'s correction', () => {
    const detections = path.join(temp.dir, 'detections.json');
    writeFileSync(detections, JSON.stringify(sampleDetections()));
    const crops = path.join(temp.dir, 'crops');
    const args = ['import', '--predictions', detections, '--annotations', SAMPLE_ANNOTATIONS, '--images', SAMPLE_IMAGES, '--output-dir', crops, '--min-confidence', '0.8', '--padding', '0.1'];
    const imported = run('quicksort-coco.js', ...args, '--json');
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    const kept = sampleDetections().filter((d) => d.score >= 0.8).length;
    expect(imported.json()).toMatchObject({ role: 'predictions', kind: 'results', kept, cut: kept, skipped: 0 });
    const again = run('quicksort-coco.js', ...args);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`${kept} crops kept on \\d+ images \\(0 cut now, ${kept} already cut\\)`));

    const unchanged = path.join(temp.dir, 'unchanged.json');
    const exported = run('quicksort-coco.js', 'export', '--dataset', crops, '--output', unchanged, '--json');
    expect(exported.code).toBe(0);
    expect(readFileSync(unchanged).equals(readFileSync(detections))).toBe(true);

    const label = run('quicksort.js', 'label', '--dataset', crops, '--item', '1', '--label', 'scooter');
    expect(label.code).toBe(0);
    const cleaned = path.join(temp.dir, 'cleaned.json');
    const corrected = run('quicksort-coco.js', 'export', '--dataset', crops, '--output', cleaned);
    expect(corrected.code).toBe(0);
    expect(corrected.stdout).toMatch(/1 relabeled, 0 rejected \(removed\)/);
    expect(corrected.stdout).toMatch(/new classes \(the file has no categories list; give these to its reader\): 91 "scooter"/);
  });

  it('export --output refuses an existing file unless --force, and the original file or the store by any path, even with --force', () => {
    const detections = path.join(temp.dir, 'guarded-detections.json');
    writeFileSync(detections, JSON.stringify(sampleDetections()));
    const crops = path.join(temp.dir, 'guarded');
    expect(run('quicksort-coco.js', 'import', '--predictions', detections, '--annotations', SAMPLE_ANNOTATIONS, '--images', SAMPLE_IMAGES, '--output-dir', crops, '--min-confidence', '0.9').code).toBe(0);
    const original = readFileSync(detections);

    const existing = path.join(temp.dir, 'existing.json');
    writeFileSync(existing, 'keep me');
    const kept = run('quicksort-coco.js', 'export', '--dataset', crops, '--output', existing);
    expect(kept.stderr).toMatch(/existing\.json already exists; pass --force .* or choose another --output/);
    expect(kept.code).toBe(9);
    expect(readFileSync(existing, 'utf8')).toBe('keep me');
    expect(run('quicksort-coco.js', 'export', '--dataset', crops, '--output', existing, '--force').code).toBe(0);
    expect(readFileSync(existing).equals(original)).toBe(true);

    const linked = path.join(temp.dir, 'latest-detections.json');
    symlinkSync(detections, linked);
    for (const [output, pattern] of [
      [detections, /would overwrite the COCO file the dataset was imported from/],
      [linked, /latest-detections\.json \(which leads to .*guarded-detections\.json\) would overwrite the COCO file the dataset was imported from/],
      [path.join(crops, '.quicksort', 'quicksort.db'), /would overwrite the dataset's store/],
    ] as const) {
      const refused = run('quicksort.js', 'coco', 'export', '--dataset', crops, '--output', output, '--force');
      expect(refused.stderr).toMatch(pattern);
      expect(refused.stderr).toMatch(/choose another --output/);
      expect(refused.code).toBe(9);
    }
    expect(readFileSync(detections).equals(original)).toBe(true);
    expect(readdirSync(temp.dir).filter((name) => name.includes('.partial'))).toEqual([]);
  });

  it('is also `quicksort coco`, and a Dataset method', async () => {
    const crops = path.join(temp.dir, 'via-quicksort');
    const imported = run('quicksort.js', 'coco', 'import', '--annotations', SAMPLE_ANNOTATIONS, '--images', SAMPLE_IMAGES, '--output-dir', crops, '--min-size', '40', '--json');
    expect(imported.code).toBe(0);
    const report = imported.json();
    expect(report.kept + report.skipped).toBe(276);
    const ds = await QuickSort.open(crops);
    try {
      expect(ds.count()).toBe(report.kept);
      const exported = await ds.exportCoco({ output: path.join(temp.dir, 'via-dataset.json') });
      // The Dataset knows its folder: its crops are protected like its store.
      await expect(ds.exportCoco({ output: ds.pathOf(ds.items()[0]!), force: true })).rejects.toThrow(/would overwrite the image of item/);
      expect(exported).toMatchObject({ records: 276, relabeled: 0, rejected: 0 });
      expect(readFileSync(path.join(temp.dir, 'via-dataset.json')).equals(readFileSync(SAMPLE_ANNOTATIONS))).toBe(true);
    } finally {
      ds.close();
    }
  });

  it('exits with the documented codes, naming what went wrong', () => {
    expect(run('quicksort-coco.js', 'import', '--annotations', SAMPLE_ANNOTATIONS, '--output-dir', temp.dir).code).toBe(2);
    const truncated = path.join(temp.dir, 'truncated.json');
    writeFileSync(truncated, JSON.stringify(sampleDetections()).slice(0, 5000));
    const partial = run('quicksort-coco.js', 'import', '--predictions', truncated, '--annotations', SAMPLE_ANNOTATIONS, '--images', SAMPLE_IMAGES, '--output-dir', path.join(temp.dir, 'partial'));
    expect(partial.code).toBe(8);
    expect(partial.stdout).toMatch(/could not be read to its end: .*truncated/);
    const groundTruth = run('quicksort-coco.js', 'import', '--predictions', SAMPLE_ANNOTATIONS, '--images', SAMPLE_IMAGES, '--output-dir', path.join(temp.dir, 'refused'));
    expect(groundTruth.code).toBe(8);
    expect(groundTruth.stderr).toMatch(/expected a JSON array of detections .* pass it with --annotations if it is ground truth/);
    const plain = path.join(temp.dir, 'plain');
    mkdirSync(plain);
    const notImported = run('quicksort-coco.js', 'export', '--dataset', plain, '--output', path.join(temp.dir, 'x.json'));
    expect(notImported.code).toBe(3);
    expect(notImported.stderr).toMatch(/import a COCO file into it first/);
  });
});
