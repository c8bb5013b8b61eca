import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { registerEmbedCommand } from '../../src/cli/embed-command';
import { Dataset } from '../../src/dataset';
import { DatasetError } from '../../src/errors';
import { sampleFiles, tempFolder } from './fixtures/images';

const temp = tempFolder();
afterAll(() => temp.cleanup());

async function run(args: string[]): Promise<string> {
  const program = new Command('quicksort').exitOverride();
  registerEmbedCommand(program);
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await program.parseAsync(['node', 'quicksort', 'embed', ...args]);
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

describe('quicksort embed', () => {
  it('embeds a dataset, then finds everything cached on a second run', async () => {
    const dir = path.join(temp.dir, 'photos');
    mkdirSync(dir, { recursive: true });
    const ds = await Dataset.open(dir);
    for (const file of sampleFiles().slice(0, 3)) copyFileSync(file, path.join(dir, path.basename(file)));
    await ds.ingest({ threads: 1 });
    ds.close();
    process.env.QUICKSORT_MODEL_CACHE = path.join(temp.dir, 'model-cache');
    try {
      const first = JSON.parse(await run(['--dataset', dir, '--providers', 'cpu', '--batch', '2', '--threads', '1', '--json'])) as Record<string, unknown>;
      expect(first).toMatchObject({ total: 3, embedded: 3, cached: 0, failed: 0, dim: 1280, provider: 'cpu' });
      const text = await run(['--dataset', dir, '--providers', 'cpu']);
      expect(text).toMatch(/^Embedded .*photos with mobilenetv2-12-int8@[0-9a-f]{12} \(1280-d, on cpu\): 0 embedded, 3 already cached, 0 failed/);
      expect(text).toMatch(/Vectors in .*embeddings\.db\./);
    } finally {
      delete process.env.QUICKSORT_MODEL_CACHE;
    }
  });

  it('asks for an ingest first when the folder has no store', async () => {
    await expect(run(['--dataset', temp.dir])).rejects.toThrow(DatasetError);
    await expect(run(['--dataset', temp.dir])).rejects.toThrow(/run `npx quicksort ingest --dataset/);
  });
});
