import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Dataset } from '../../src/dataset';
import { embedDataset } from '../../src/embed';
import { REPO, SAMPLE_ANNOTATIONS, sampleCopy } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'quicksort.js');

/** Each sample image's class: the category of its largest COCO box. */
function truthByFile(): Map<string, string> {
  const coco = JSON.parse(readFileSync(SAMPLE_ANNOTATIONS, 'utf8'));
  const categories = new Map<number, string>(coco.categories.map((c: { id: number; name: string }) => [c.id, c.name]));
  const largest = new Map<number, { area: number; category: string }>();
  for (const a of coco.annotations) {
    const best = largest.get(a.image_id);
    if (!best || a.area > best.area) largest.set(a.image_id, { area: a.area, category: categories.get(a.category_id)! });
  }
  return new Map(coco.images.map((image: { id: number; file_name: string }) => [image.file_name, largest.get(image.id)?.category ?? 'none']));
}

describe('quicksort simulate', () => {
  it('replays labeling with every chosen ranker and draws the learning curves', async () => {
    const data = sampleCopy();
    try {
      const ds = await Dataset.open(data.dir);
      await ds.ingest();
      await embedDataset(ds.store, ds.root);
      const truth = truthByFile();
      for (const item of ds.items()) ds.label(item.id, truth.get(item.uri)!);
      ds.close();

      const out = path.join(data.dir, 'curves.svg');
      const result = spawnSync(process.execPath, [BIN, 'simulate', '--dataset', data.dir, '--rankers', 'chain,margin', '--out', out, '--json'], { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report.pool + report.heldOut).toBe(36);
      expect(report.results.map((r: { ranker: string; mode: string }) => `${r.ranker}/${r.mode}`)).toEqual([
        'random/one', 'chain/one', 'margin/one', 'chain/grid', 'margin/grid',
      ]);
      expect(report.results[0]).toMatchObject({ suggestions: false, secondsPerLabel: 2.5 });
      for (const r of report.results) expect(r.labels).toBe(report.pool);
      expect(existsSync(out)).toBe(true);
      expect(readFileSync(out, 'utf8')).toContain('<polyline');

      const refused = spawnSync(process.execPath, [BIN, 'simulate', '--dataset', data.dir, '--rankers', 'best'], { encoding: 'utf8' });
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/unknown ranker "best"/);
    } finally {
      data.cleanup();
    }
  });
});
