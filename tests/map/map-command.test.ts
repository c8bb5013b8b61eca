import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Dataset } from '../../src/dataset';
import { embedDataset, embeddedItemIds, loadEmbeddings } from '../../src/embed';
import { DatasetError } from '../../src/errors';
import { REPO, sampleCopy } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'quicksort.js');

describe('quicksort map on the bundled sample', () => {
  it('refuses a dataset without embeddings, then maps it once embedded: SVG written, --json parsed', async () => {
    const data = sampleCopy();
    try {
      const ds = await Dataset.open(data.dir);
      await ds.ingest();
      await expect(ds.map()).rejects.toThrow(DatasetError);
      await expect(ds.map()).rejects.toThrow(/has no embeddings yet; run `npx quicksort embed --dataset .*` \(or ds.embed\(\)\) first/);
      const refused = spawnSync(process.execPath, [BIN, 'map', '--dataset', data.dir], { encoding: 'utf8' });
      expect(refused.status).toBe(3);
      expect(refused.stderr).toMatch(/has no embeddings yet; run `npx quicksort embed/);

      await embedDataset(ds.store, ds.root);
      const items = ds.items();
      // Five labeled by a person as one class, four by another, three suggested by a model, the rest unlabeled.
      items.slice(0, 5).forEach((item) => ds.label(item.id, 'first'));
      items.slice(5, 9).forEach((item) => ds.label(item.id, 'second'));
      items.slice(9, 12).forEach((item) => ds.label(item.id, 'first', { source: 'model', confidence: 0.7 }));
      ds.close();

      const out = path.join(data.dir, 'map.svg');
      const result = spawnSync(process.execPath, [BIN, 'map', '--dataset', data.dir, '--out', out, '--seed', '3', '--json'], { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({ out, method: 'umap', seed: 3, total: 36, sampled: 36, skipped: [] });
      expect(report.modelId).toMatch(/^mobilenetv2-12-int8@/);
      expect(report.points).toHaveLength(36);
      expect(new Set(report.points.map((p: { id: number }) => p.id))).toEqual(new Set(items.map((item) => item.id)));
      for (const p of report.points) expect(Number.isFinite(p.x) && Number.isFinite(p.y)).toBe(true);
      expect(report.classes).toEqual([
        expect.objectContaining({ name: 'first', labeled: 5, suggested: 3 }),
        expect.objectContaining({ name: 'second', labeled: 4, suggested: 0 }),
      ]);
      const byId = new Map(report.points.map((p: { id: number }) => [p.id, p]));
      expect(byId.get(items[0]!.id)).toMatchObject({ label: 'first', source: 'human' });
      expect(byId.get(items[10]!.id)).toMatchObject({ label: 'first', source: 'model' });
      expect(byId.get(items[20]!.id)).toMatchObject({ label: null, source: null });

      const svg = readFileSync(out, 'utf8');
      const marks = svg.slice(svg.indexOf('<g class="points">'), svg.indexOf('<g class="legend">'));
      expect(marks.match(/<circle /g)).toHaveLength(36);
      expect(svg.match(/<g class="legend-entry">/g)).toHaveLength(3);

      // The same seed draws the same map; the library face gives the same coordinates as the command.
      const again = await Dataset.open(data.dir, { readonly: true });
      try {
        const map = await again.map({ seed: 3 });
        expect(map.toJSON().points).toEqual(report.points.map((p: object) => expect.objectContaining(p)));
        expect(map.svg).toBe(svg);
        const display = (map as unknown as Record<symbol, () => Record<string, string>>)[Symbol.for('Jupyter.display')]!();
        expect(display['image/svg+xml']).toBe(svg);

        // A sample smaller than the dataset keeps both classes, and only the sample's vectors are loaded.
        const small = await again.map({ sample: 6, seed: 1, method: 'pca' });
        expect(small.points).toHaveLength(6);
        expect(small.total).toBe(36);
        expect(small.classes.map((c) => c.name).sort()).toEqual(['first', 'second']);
        const ids = embeddedItemIds(again.root, { store: again.store }).ids;
        expect(ids).toHaveLength(36);
        const subset = loadEmbeddings(again.root, { store: again.store, ids: new Set(ids.slice(0, 4)) });
        expect(subset.ids).toEqual(ids.slice(0, 4));
        expect(subset.vectors).toHaveLength(4 * subset.dim);
      } finally {
        again.close();
      }

      expect(existsSync(path.join(data.dir, '.quicksort', 'map.svg'))).toBe(false);
      const text = spawnSync(process.execPath, [BIN, 'map', '--dataset', data.dir, '--method', 'pca'], { encoding: 'utf8' });
      expect(text.status).toBe(0);
      expect(text.stdout).toMatch(/^Mapped 36 of 36 items of .* \(mobilenetv2-12-int8@\w+, pca\): .*map\.svg/);
      expect(existsSync(path.join(data.dir, '.quicksort', 'map.svg'))).toBe(true);

      const usage = spawnSync(process.execPath, [BIN, 'map', '--dataset', data.dir, '--sample', '0'], { encoding: 'utf8' });
      expect(usage.status).toBe(2);
    } finally {
      data.cleanup();
    }
  });
});
