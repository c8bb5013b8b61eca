import { execFile } from 'node:child_process';
import path from 'node:path';
import { Dataset } from '../../src/dataset';
import { REPO } from '../helpers/fixtures';
import { colourDataset, type ColourDataset } from '../vlm/colour-dataset';
import { startFakeVlm, type FakeVlm } from '../vlm/fake-vlm-server';

const BIN = path.join(REPO, 'bin', 'quicksort.js');

/** Runs the CLI without blocking this process: the fake VLM answering it lives here. */
function quicksort(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, QUICKSORT_VLM_URL: '', QUICKSORT_VLM_MODEL: '', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

jest.setTimeout(120_000);

describe('quicksort vlm', () => {
  let data: ColourDataset;
  let fake: FakeVlm;
  beforeAll(async () => {
    data = await colourDataset();
    fake = await startFakeVlm();
  });
  afterAll(async () => {
    await fake.close();
    data.cleanup();
  });

  it('suggests classes for unlabelled items, as JSON, stored as vlm labels; a rerun is answered from the cache', async () => {
    const first = await quicksort(['vlm', 'suggest', '--dataset', data.dir, '--url', fake.url, '--model', 'fake-vlm', '--limit', '5', '--k', '3', '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout);
    expect(report).toMatchObject({ model: 'fake-vlm', counts: { ok: 5, failed: 0 }, stored: 5, cost: { requests: 5, cacheHits: 0, images: 20 } });
    for (const item of report.items) {
      expect(item).toMatchObject({ status: 'ok', label: data.truth.get(item.id), stored: true, cached: false });
      expect(item.examples).toHaveLength(3);
    }
    const ds = await Dataset.open(data.dir);
    try {
      expect(ds.item(report.items[0].id)).toMatchObject({ labelSource: 'vlm', labeledBy: 'fake-vlm' });
    } finally {
      ds.close();
    }
    const asked = fake.requests.length;
    // The server's settings can come from the environment too.
    const again = await quicksort(['vlm', 'suggest', '--dataset', data.dir, '--limit', '5', '--k', '3', '--json'], { QUICKSORT_VLM_URL: fake.url, QUICKSORT_VLM_MODEL: 'fake-vlm' });
    expect(again.code).toBe(0);
    expect(fake.requests.length).toBe(asked);
    expect(JSON.parse(again.stdout)).toMatchObject({ cost: { requests: 0, cacheHits: 5 }, stored: 0 });
  });

  it('drafts captions, reports in words, and says what it cost so far', async () => {
    const drafted = await quicksort(['vlm', 'caption', '--dataset', data.dir, '--url', fake.url, '--model', 'fake-vlm', '--limit', '2']);
    expect(drafted.code).toBe(0);
    expect(drafted.stdout).toMatch(/Caption drafts for .* from fake-vlm: 2 answered \(2 stored\), 0 failed/);
    const stats = await quicksort(['vlm', 'stats', '--dataset', data.dir, '--json']);
    expect(JSON.parse(stats.stdout)).toMatchObject({ requests: 7, cacheHits: 5, models: { 'fake-vlm': { requests: 7 } } });
  });

  it('names what is missing (no server configured), and fails with each item\'s status when the server does not answer', async () => {
    const unconfigured = await quicksort(['vlm', 'suggest', '--dataset', data.dir]);
    expect(unconfigured.code).not.toBe(0);
    expect(unconfigured.stderr).toMatch(/QUICKSORT_VLM_URL|url/);
    const failing = await quicksort(['vlm', 'suggest', '--dataset', data.dir, '--url', 'http://127.0.0.1:9/v1', '--model', 'm', '--limit', '1', '--timeout', '5', '--no-cache', '--json']);
    expect(failing.code).toBe(12);
    expect(JSON.parse(failing.stdout).items[0]).toMatchObject({ status: 'failed', failure: 'connection' });
  });
});
