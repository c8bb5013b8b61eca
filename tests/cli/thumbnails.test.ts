import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO, sampleCopy } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'quicksort.js');

function quicksort(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe('quicksort thumbnails', () => {
  let data: ReturnType<typeof sampleCopy>;
  beforeAll(() => {
    data = sampleCopy();
  });
  afterAll(() => data.cleanup());

  it('fills the thumbnail cache beside the store, then makes only what is missing', () => {
    expect(quicksort('thumbnails', '--dataset', data.dir).stderr).toMatch(/no QuickSort store yet.*quicksort ingest/);
    expect(quicksort('ingest', '--dataset', data.dir).code).toBe(0);
    const first = quicksort('thumbnails', '--dataset', data.dir, '--size', '128,256', '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ file: path.join(data.dir, '.quicksort', 'thumbnails.db'), made: 72, cached: 0, failed: [] });
    expect(existsSync(path.join(data.dir, '.quicksort', 'thumbnails.db'))).toBe(true);
    const second = quicksort('thumbnails', '--dataset', data.dir, '--size', '128');
    expect(second.stdout).toMatch(/0 made, 36 there already, 0 failed/);
    expect(quicksort('thumbnails', '--dataset', data.dir, '--size', '2048').stderr).toMatch(/sizes from 16 to 384/);
  });
});
