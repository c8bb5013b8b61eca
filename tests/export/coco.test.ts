import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { exportCoco, importCoco, LINK_META_KEY } from '../../src/coco';
import { Dataset } from '../../src/dataset';
import { ExportError } from '../../src/errors';
import { COCO_LINK_META_KEY, exportDataset, registerCocoBridge, type CocoBridge } from '../../src/export';
import { SAMPLE_ANNOTATIONS, SAMPLE_IMAGES } from '../helpers/fixtures';
import { exporterContract } from './exporter-contract';
import { makeDataset, path, tempDir, type ExportedRow, type Fixture } from './fixtures';

interface CocoFile {
  images: { id: number; file_name: string; width: number; height: number; split?: string; caption?: string; tags?: string[] }[];
  annotations: { id: number; image_id: number; category_id: number; label_source: string; score?: number }[];
  categories: { id: number; name: string }[];
}

/** Parses the COCO file back and joins annotations and categories onto their images. */
function readBack(out: string): ExportedRow[] {
  const coco = JSON.parse(readFileSync(out, 'utf8')) as CocoFile;
  const names = new Map(coco.categories.map((c) => [c.id, c.name]));
  const byImage = new Map(coco.annotations.map((a) => [a.image_id, a]));
  expect(new Set(coco.annotations.map((a) => a.id)).size).toBe(coco.annotations.length);
  expect(byImage.size).toBe(coco.annotations.length); // image-level: at most one label per image
  return coco.images.map((image) => {
    const annotation = byImage.get(image.id);
    return {
      id: image.id,
      uri: image.file_name,
      width: image.width,
      height: image.height,
      split: image.split ?? null,
      label: annotation ? names.get(annotation.category_id)! : null,
      labelSource: annotation?.label_source ?? null,
      confidence: annotation?.score ?? null,
      caption: image.caption ?? null,
      tags: image.tags ?? [],
    };
  });
}

function readClasses(out: string): string[] {
  const coco = JSON.parse(readFileSync(out, 'utf8')) as CocoFile;
  expect(coco.categories.map((c) => c.id)).toEqual(coco.categories.map((_, index) => index + 1));
  return coco.categories.map((c) => c.name);
}

exporterContract({
  format: 'coco',
  outName: 'labels.json',
  fields: ['id', 'uri', 'width', 'height', 'split', 'label', 'labelSource', 'confidence', 'caption', 'tags'],
  readBack,
  readClasses,
});

describe('coco exports of datasets imported from COCO (the bridge hook)', () => {
  let fixture: Fixture;
  let work: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    fixture = await makeDataset('labeled');
    work = tempDir();
  });
  afterAll(() => {
    registerCocoBridge(undefined);
    fixture?.cleanup();
    work?.cleanup();
  });
  afterEach(() => registerCocoBridge(undefined));

  it('knows a COCO import by the same meta key the COCO bridge writes', () => {
    expect(COCO_LINK_META_KEY).toBe(LINK_META_KEY);
  });

  it('refuses, saying what to register, rather than write a fresh file that would lose the original ids', async () => {
    const imported = await makeDataset('empty');
    try {
      imported.ds.store.setMeta(COCO_LINK_META_KEY, '{"version":1}');
      const out = path.join(work.dir, 'unbridged.json');
      const failed = exportDataset(imported.ds, { format: 'coco', out });
      await expect(failed).rejects.toThrow(ExportError);
      await expect(failed).rejects.toThrow(/imported from a COCO file.*registerCocoBridge\(exportCoco\)/);
      expect(readdirSync(work.dir)).toEqual([]);
    } finally {
      imported.cleanup();
    }
  });

  it('goes through a registered bridge, into the same atomic output (refused if it exists, nothing left on failure)', async () => {
    const imported = await makeDataset('empty');
    const dir = path.join(work.dir, 'bridged');
    mkdirSync(dir);
    try {
      imported.ds.store.setMeta(COCO_LINK_META_KEY, '{"version":1}');
      const calls: string[] = [];
      const bridge: CocoBridge = async (_store, options) => {
        calls.push(options.output);
        writeFileSync(options.output, '{"images":[],"annotations":[]}');
        return { records: 7, bytes: 31 };
      };
      registerCocoBridge(bridge);
      const out = path.join(dir, 'corrected.json');
      const report = await exportDataset(imported.ds, { format: 'coco', out });
      expect(report).toMatchObject({ viaCocoBridge: true, rows: 7, bytes: 31, output: out });
      expect(calls[0]).not.toBe(out); // the bridge wrote the temporary file, renamed at the end
      expect(readFileSync(out, 'utf8')).toBe('{"images":[],"annotations":[]}');
      await expect(exportDataset(imported.ds, { format: 'coco', out })).rejects.toThrow(/already exists/);

      registerCocoBridge(async (_store, options) => {
        writeFileSync(options.output, '{"half');
        throw new Error('the original COCO file changed since import');
      });
      const failed = exportDataset(imported.ds, { format: 'coco', out: path.join(dir, 'failed.json') });
      await expect(failed).rejects.toThrow(/changed since import/);
      expect(readdirSync(dir)).toEqual(['corrected.json']);
    } finally {
      imported.cleanup();
    }
  });

  it('with the real bridge registered, exports the imported COCO file byte for byte when nothing was corrected', async () => {
    const crops = path.join(work.dir, 'crops');
    mkdirSync(crops);
    const ds = await Dataset.open(crops);
    try {
      await importCoco(ds.store, crops, { annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES, threads: 1 });
      registerCocoBridge(exportCoco);
      const out = path.join(work.dir, 'round-trip.json');
      const report = await exportDataset(ds, { format: 'coco', out });
      expect(report.viaCocoBridge).toBe(true);
      expect(readFileSync(out).equals(readFileSync(SAMPLE_ANNOTATIONS))).toBe(true);
    } finally {
      ds.close();
    }
  });
});
