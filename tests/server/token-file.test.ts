import { chmodSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readOrCreateToken } from '../../src/server';
import { tempDir } from '../helpers/fixtures';

/** `quicksort serve --token-file`: one token across restarts, so open pages reconnect (issue 17), kept private. */
describe('the token file', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeEach(() => (temp = tempDir()));
  afterEach(() => temp.cleanup());

  it('writes a fresh token readable by its owner only, and gives the same one back on the next start', () => {
    const file = path.join(temp.dir, 'serve.token');
    const token = readOrCreateToken(file);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readOrCreateToken(file)).toBe(token);
  });

  it('refuses a file others can read, and a token too short, naming the file', () => {
    const file = path.join(temp.dir, 'serve.token');
    writeFileSync(file, 'x'.repeat(40));
    if (process.platform !== 'win32') {
      chmodSync(file, 0o644);
      expect(() => readOrCreateToken(file)).toThrow(`--token-file ${file}: others can read it (mode 644)`);
    }
    writeFileSync(file, 'short\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(() => readOrCreateToken(file)).toThrow(/--token-file .*serve\.token: the token must be one word of at least 32 characters/);
  });
});
