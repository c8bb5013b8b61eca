import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { printable } from '../../src/cli/output';
import { REPO, makePng, tempDir } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'quicksort.js');

function quicksort(...args: string[]): { code: number; stdout: string; stderr: string; json: () => any } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, QUICKSORT_USER: 'tester' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, json: () => JSON.parse(result.stdout) };
}

describe('printable', () => {
  it('escapes what could fake a line or drive the terminal, and leaves the rest of Unicode alone', () => {
    expect(printable('a\nb\r\tc.png')).toBe('a\\nb\\r\\tc.png');
    expect(printable('\x1b[2J\x00\x7f.png')).toBe('\\x1b[2J\\x00\\x7f.png');
    expect(printable('x\u202egnp.exe \u2066\u2069\u200e\u200f\u061c')).toBe('x\\u202egnp.exe \\u2066\\u2069\\u200e\\u200f\\u061c');
    expect(printable('\u0085\u009b\u200b\ufeff\u2028\u{e0001}\ud800')).toBe('\\u0085\\u009b\\u200b\\ufeff\\u2028\\u{e0001}\\ud800');
    const ordinary = 'café 猫 🐱 👨\u200d👩\u200d👧 می\u200cخواهم C:\\x.png';
    expect(printable(ordinary)).toBe(ordinary);
  });
});

describe('the CLI with hostile and broken file names', () => {
  const names = ['a\nb.png', 'x\u202egnp.png', '\x1b[2Jclear.png'];
  let data: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    data = tempDir();
    for (const [seed, name] of names.entries()) writeFileSync(path.join(data.dir, name), await makePng(8, 8, seed + 1));
    writeFileSync(path.join(data.dir, 'fake\n     9  cat\t8×8\tok.png'), 'not an image');
    writeFileSync(Buffer.concat([Buffer.from(data.dir), Buffer.from('/bad'), Buffer.from([0xff]), Buffer.from('.png')]), await makePng(8, 8, 9));
    expect(quicksort('ingest', '--dataset', data.dir).code).toBe(0);
  });
  afterAll(() => data.cleanup());

  it('prints names escaped in the items table and exact in --json', () => {
    const table = quicksort('items', '--dataset', data.dir);
    expect(table.code).toBe(0);
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows.map((row) => row.split('\t')[2]).sort()).toEqual(['\\x1b[2Jclear.png', 'a\\nb.png', 'x\\u202egnp.png']);
    expect(table.stdout).not.toMatch(/[\x1b\u202e]/);

    expect(quicksort('items', '--dataset', data.dir, '--json').json().map((item: { uri: string }) => item.uri).sort()).toEqual([...names].sort());
  });

  it('lists failures escaped in the status and ingest reports, the invalid UTF-8 name as such', () => {
    const status = quicksort('status', '--dataset', data.dir);
    expect(status.code).toBe(0);
    const failed = status.stdout.split('\n').filter((line) => line.startsWith('  failed: '));
    expect(failed).toEqual([
      '  failed: bad\\xff.png: file name is not valid UTF-8 (bytes 62 61 64 ff 2e 70 6e 67); rename it to a UTF-8 name (convmv does it in bulk) and ingest again',
      expect.stringMatching(/^ {2}failed: fake\\n {5}9 {2}cat\\t8×8\\tok\.png: not a readable image/),
    ]);
    expect(status.stdout).not.toMatch(/ENOENT/);

    const json = quicksort('status', '--dataset', data.dir, '--json').json();
    expect(json.failures.map((f: { uri: string }) => f.uri)).toEqual(['bad\\xff.png', 'fake\n     9  cat\t8×8\tok.png']);

    const again = quicksort('ingest', '--dataset', data.dir);
    expect(again.stdout).toContain('  failed: bad\\xff.png: file name is not valid UTF-8');
    // The summary and the one failure found again (the unchanged one is counted, not listed): no line of a name's making.
    expect(again.stdout.trimEnd().split('\n')).toHaveLength(2);
  });

  it('escapes a name inside an engine error message', () => {
    const missing = quicksort('status', '--dataset', path.join(data.dir, 'no\u202ehere\n'));
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no\\u202ehere\\n does not exist/);
  });
});

describe('ingest failures across runs, from the CLI', () => {
  it('accepts an image refused by --max-pixels once the limit is gone, and forgets failures of deleted files', async () => {
    const data = tempDir();
    try {
      writeFileSync(path.join(data.dir, 'big.png'), await makePng(100, 100, 3));
      writeFileSync(path.join(data.dir, 'corrupt.png'), 'not an image');
      const refused = quicksort('ingest', '--dataset', data.dir, '--max-pixels', '1000', '--json');
      expect(refused.code).toBe(6);
      expect(refused.json()).toMatchObject({ added: 0, failed: 2 });

      const accepted = quicksort('ingest', '--dataset', data.dir, '--json');
      expect(accepted.json()).toMatchObject({ added: 1, failed: 1 });
      expect(quicksort('status', '--dataset', data.dir, '--json').json()).toMatchObject({ items: 1, failed: 1 });

      unlinkSync(path.join(data.dir, 'corrupt.png'));
      expect(quicksort('ingest', '--dataset', data.dir, '--json').json()).toMatchObject({ unchanged: 1, failed: 0 });
      const status = quicksort('status', '--dataset', data.dir, '--json').json();
      expect(status).toMatchObject({ items: 1, failed: 0, failures: [] });
    } finally {
      data.cleanup();
    }
  });
});

describe('a closed pipe on stdout', () => {
  it('ends `items --json` quietly, with status 0 (`quicksort items --json | head`)', async () => {
    const data = tempDir();
    try {
      writeFileSync(path.join(data.dir, 'one.png'), await makePng(8, 8, 1));
      expect(quicksort('ingest', '--dataset', data.dir).code).toBe(0);
      const child = spawn(process.execPath, [BIN, 'items', '--json', '--dataset', data.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      // The reader is gone before the first write: every write the CLI makes meets a closed pipe.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const [code] = await once(child, 'close');
      expect(stderr).toBe('');
      expect(code).toBe(0);
    } finally {
      data.cleanup();
    }
  });
});
