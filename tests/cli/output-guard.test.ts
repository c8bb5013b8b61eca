import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { REPO, sampleCopy, tempDir } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'quicksort.js');

function quicksort(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

// The guard runs before any work, so these need no embeddings: the refusal comes first, with exit 9.
describe('map and simulate never write their SVG onto the dataset', () => {
  let data: ReturnType<typeof sampleCopy>;
  let links: ReturnType<typeof tempDir>;
  let store: string;
  let image: string;
  beforeAll(() => {
    data = sampleCopy();
    links = tempDir();
    expect(quicksort('ingest', '--dataset', data.dir, '--verify', 'header').code).toBe(0);
    store = path.join(data.dir, '.quicksort', 'quicksort.db');
    image = path.join(data.dir, readdirSync(data.dir).find((name) => name.endsWith('.jpg'))!);
  });
  afterAll(() => {
    data.cleanup();
    links.cleanup();
  });

  const link = (name: string, target: string) => {
    const file = path.join(links.dir, name);
    symlinkSync(target, file);
    return file;
  };

  it.each(['map', 'simulate'])('%s --out: refuses the store, an image and the state folder, plainly or through a symlink', (command) => {
    const storeBytes = readFileSync(store);
    const imageBytes = readFileSync(image);
    const cases: [string, RegExp][] = [
      [store, /would overwrite the dataset's store/],
      [link(`${command}-store.svg`, store), new RegExp(`${command}-store\\.svg \\(which leads to .*quicksort\\.db\\) would overwrite the dataset's store`)],
      [image, /would overwrite the image of item \d+/],
      [link(`${command}-image.svg`, image), /\(which leads to .*\.jpg\) would overwrite the image of item \d+/],
      [path.join(link(`${command}-state`, path.join(data.dir, '.quicksort')), 'curves.svg'), /would overwrite the dataset's state folder/],
    ];
    for (const [out, pattern] of cases) {
      const result = quicksort(command, '--dataset', data.dir, '--out', out);
      expect(result.stderr).toMatch(pattern);
      expect(result.code).toBe(9);
    }
    expect(readFileSync(store).equals(storeBytes)).toBe(true);
    expect(readFileSync(image).equals(imageBytes)).toBe(true);
  });

  it('lets each command write its own default file in the state folder', () => {
    // Past the guard, each fails for want of embeddings (exit 3), not for its output.
    expect(quicksort('map', '--dataset', data.dir).code).toBe(3);
    expect(quicksort('simulate', '--dataset', data.dir).code).toBe(3);
    expect(quicksort('map', '--dataset', data.dir, '--out', path.join(data.dir, '.quicksort', 'map.svg')).stderr).toMatch(/embed/);
  });
});
