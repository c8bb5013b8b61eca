import { appendFileSync, copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { importCoco } from '../../src/coco';
import { Dataset } from '../../src/dataset';
import { DatasetError } from '../../src/errors';
import { exportDataset } from '../../src/export';
import { SAMPLE_ANNOTATIONS, SAMPLE_IMAGES } from '../helpers/fixtures';
import { exporterContract } from './exporter-contract';
import { UNICODE_CAPTION, makeDataset, path, tempDir, type ExportedRow } from './fixtures';

interface CocoFile {
  images: { id: number; file_name: string; width: number; height: number; split?: string; caption?: string; captions?: string[]; tags?: string[] }[];
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
      captions: image.captions ?? [],
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
  fields: ['id', 'uri', 'width', 'height', 'split', 'label', 'labelSource', 'confidence', 'caption', 'captions', 'tags'],
  readBack,
  readClasses,
});

describe('coco exports of datasets imported from COCO (through the COCO bridge, registered with the format)', () => {
  let work: ReturnType<typeof tempDir>;
  beforeAll(() => {
    work = tempDir();
  });
  afterAll(() => work?.cleanup());

  /** A dataset of crops imported from a copy of the sample annotations, in its own folder under `work`. */
  async function imported(name: string): Promise<{ ds: Dataset; annotations: string; dir: string }> {
    const dir = path.join(work.dir, name);
    const crops = path.join(dir, 'crops');
    mkdirSync(crops, { recursive: true });
    const annotations = path.join(dir, 'instances.json');
    copyFileSync(SAMPLE_ANNOTATIONS, annotations);
    const ds = await Dataset.open(crops);
    await importCoco(ds.store, crops, { annotations, images: SAMPLE_IMAGES, threads: 1 });
    return { ds, annotations, dir };
  }

  it('exports the imported COCO file byte for byte when nothing was corrected, with nothing registered first', async () => {
    const { ds, annotations, dir } = await imported('round-trip');
    try {
      const out = path.join(dir, 'round-trip.json');
      const report = await exportDataset(ds, { format: 'coco', out });
      expect(report).toMatchObject({ format: 'coco', viaCocoBridge: true, output: out, files: [out] });
      expect(readFileSync(out).equals(readFileSync(annotations))).toBe(true);
    } finally {
      ds.close();
    }
  });

  it('goes into the same atomic output: refused if it exists, nothing left when the bridge fails', async () => {
    const { ds, annotations, dir } = await imported('atomic');
    try {
      const out = path.join(dir, 'corrected.json');
      await exportDataset(ds, { format: 'coco', out });
      await expect(exportDataset(ds, { format: 'coco', out })).rejects.toThrow(/already exists/);

      appendFileSync(annotations, '\n');
      const failed = exportDataset(ds, { format: 'coco', out: path.join(dir, 'failed.json') });
      await expect(failed).rejects.toThrow(DatasetError);
      await expect(failed).rejects.toThrow(/changed since import/);
      expect(readdirSync(dir).sort()).toEqual(['corrected.json', 'crops', 'instances.json']);
    } finally {
      ds.close();
    }
  });
});

describe('coco-captions exports (issue 15)', () => {
  it('writes a COCO captions file: the images, one { id, image_id, caption } annotation per caption in order, no categories', async () => {
    const fixture = await makeDataset('labeled');
    const work = tempDir();
    try {
      const out = path.join(work.dir, 'captions.json');
      const report = await exportDataset(fixture.ds, { format: 'coco-captions', out });
      const items = fixture.ds.items();
      expect(report).toMatchObject({ format: 'coco-captions', rows: items.length, viaCocoBridge: false });
      const coco = JSON.parse(readFileSync(out, 'utf8')) as { images: { id: number; file_name: string }[]; annotations: { id: number; image_id: number; caption: string }[]; categories?: unknown };
      expect(coco.categories).toBeUndefined();
      expect(coco.images.map((image) => [image.id, image.file_name])).toEqual(items.map((item) => [item.id, item.uri]));
      const expected = items.flatMap((item) => item.captions.map((caption) => ({ image_id: item.id, caption: caption.text })));
      expect(expected.length).toBeGreaterThanOrEqual(6);
      expect(coco.annotations).toEqual(expected.map((annotation, index) => ({ id: index + 1, ...annotation })));
      expect(coco.annotations.map((a) => a.caption)).toContain(UNICODE_CAPTION);
    } finally {
      work.cleanup();
      fixture.cleanup();
    }
  });
});
