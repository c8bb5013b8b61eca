import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO, tempDir } from '../helpers/fixtures';
import { ensureAppBuilt } from '../server/server-helpers';

/**
 * `npm start` is `quicksort quickstart`: after ingest and embed of the bundled sample it serves the labeling
 * app, prints the URL, and Ctrl-C stops it cleanly (exit 0). `--no-serve` (tests/cli/cli.test.ts) stops after
 * the summary.
 */

const BIN = path.join(REPO, 'bin', 'quicksort.js');

describe('quicksort quickstart (npm start)', () => {
  jest.setTimeout(180000);
  beforeAll(() => ensureAppBuilt());

  it('serves the embedded sample, prints the URL with its token, and stops on Ctrl-C with exit 0', async () => {
    const out = tempDir();
    const child = spawn(process.execPath, [BIN, 'quickstart', '--out', out.dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          const open = /^ {2}Open (http:\/\/\S+)$/m.exec(stdout);
          if (open) resolve(open[1]!);
        });
        void exited.then((code) => reject(new Error(`quickstart exited (${code}) before printing its URL:\n${stdout}\n${stderr}`)));
      });

      // The summary came first: the sample ingested and embedded, and the next steps as typed in a clone.
      expect(stdout).toMatch(/36 files found, 36 added/);
      expect(stdout).toMatch(/Embedded 36 images/);
      expect(stdout).toMatch(/npx quicksort map --dataset /);
      expect(stdout).not.toMatch(/npx quicksort serve/);
      expect(new URL(url).searchParams.get('token')).toMatch(/.{20,}/);

      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/stopped/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      out.cleanup();
    }
  });
});
