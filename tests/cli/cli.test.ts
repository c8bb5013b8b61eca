import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO, sampleCopy, tempDir } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'quicksort.js');

function quicksort(...args: string[]): { code: number; stdout: string; stderr: string; json: () => any } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, QUICKSORT_USER: 'tester' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, json: () => JSON.parse(result.stdout) };
}

describe('quicksort CLI', () => {
  let data: ReturnType<typeof sampleCopy>;
  beforeAll(() => {
    data = sampleCopy();
  });
  afterAll(() => data.cleanup());

  it('ingests, reports status, labels, undoes and redoes on the sample dataset', () => {
    const ingest = quicksort('ingest', '--dataset', data.dir, '--json');
    expect(ingest.code).toBe(0);
    expect(ingest.json()).toMatchObject({ found: 36, added: 36, failed: 0 });

    const items = quicksort('items', '--dataset', data.dir, '--json', '--limit', '3');
    expect(items.code).toBe(0);
    const [first, second] = items.json();
    expect(first).toMatchObject({ id: 1, label: null, format: 'jpeg' });

    const label = quicksort('label', '--dataset', data.dir, '--item', String(first.id), '--label', 'cat', '--json');
    expect(label.code).toBe(0);
    expect(label.json()).toMatchObject({ itemId: first.id, kind: 'label', payload: { label: 'cat' }, user: 'tester' });
    expect(quicksort('label', '--dataset', data.dir, '--item', String(second.id), '--label', 'dog').stdout).toMatch(/labeled "dog"/);

    let status = quicksort('status', '--dataset', data.dir, '--json').json();
    expect(status).toMatchObject({ items: 36, labeled: 2, unlabeled: 34, failed: 0, classes: [{ name: 'cat', count: 1 }, { name: 'dog', count: 1 }] });

    const undo = quicksort('undo', '--dataset', data.dir, '--json');
    expect(undo.json().undone).toMatchObject([{ itemId: second.id, payload: { label: 'dog' } }]);
    expect(quicksort('status', '--dataset', data.dir, '--json').json().labeled).toBe(1);
    expect(quicksort('redo', '--dataset', data.dir, '--json').json().redone).toHaveLength(1);
    status = quicksort('status', '--dataset', data.dir, '--json').json();
    expect(status.labeled).toBe(2);

    // Another user has nothing to undo.
    const other = spawnSync(process.execPath, [BIN, 'undo', '--dataset', data.dir, '--user', 'someone-else'], { encoding: 'utf8' });
    expect(other.stdout).toMatch(/Nothing to undo for someone-else/);

    const text = quicksort('status', '--dataset', data.dir);
    expect(text.stdout).toMatch(/items +36 \(2 labeled/);
  });

  it('exits with codes scripts can rely on, and says what to do', () => {
    const empty = tempDir();
    try {
      const missing = quicksort('status', '--dataset', path.join(empty.dir, 'nope'));
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(/does not exist or is not a folder/);

      const notIngested = quicksort('status', '--dataset', empty.dir);
      expect(notIngested.code).toBe(3);
      expect(notIngested.stderr).toMatch(/run `npx quicksort ingest --dataset/);

      const unknownItem = quicksort('label', '--dataset', data.dir, '--item', '9999', '--label', 'cat');
      expect(unknownItem.code).toBe(4);
      expect(unknownItem.stderr).toMatch(/no item with id 9999/);

      const badId = quicksort('label', '--dataset', data.dir, '--item', 'abc', '--label', 'cat');
      expect(badId.code).toBe(2);
      expect(badId.stderr).toMatch(/expected a positive whole number/);

      expect(quicksort('label', '--dataset', data.dir, '--item', '1').code).toBe(2);
      expect(quicksort('frobnicate').code).toBe(2);
      expect(quicksort('ingest', '--dataset', data.dir, '--verify', 'maybe').code).toBe(2);
    } finally {
      empty.cleanup();
    }
  });

  it('prints help for each command', () => {
    for (const command of ['ingest', 'status', 'items', 'label', 'undo', 'redo', 'quickstart']) {
      const help = quicksort(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`Usage: quicksort ${command}`));
    }
  });

  it('runs the quick start on the bundled sample', () => {
    const out = tempDir();
    try {
      const result = quicksort('quickstart', '--out', out.dir, '--json', '--no-serve');
      expect(result.code).toBe(0);
      expect(result.json()).toMatchObject({ ingest: { added: 36 }, embed: { embedded: 36, dim: 1280, failed: 0 }, stats: { items: 36 } });
    } finally {
      out.cleanup();
    }
  });
});
