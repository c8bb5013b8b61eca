import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { importCoco, readLink } from '../../src/coco';
import { CocoFormatError, DatasetError } from '../../src/errors';
import type { LabelStore } from '../../src/store';
import { tempDir } from '../helpers/fixtures';
import { SAMPLE_ANNOTATIONS, SAMPLE_IMAGES, VAL2014_GT, sample, sampleDetections, storeIn } from './helpers';

/** An instances file of one box on each of the given images, which are copied from the sample to `images/<file_name>`. */
function instances(dir: string, fileNames: string[]): { file: string; images: string } {
  const images = path.join(dir, 'images');
  const source = sample().images[0]!;
  const entries = fileNames.map((fileName, index) => {
    const target = path.join(images, fileName);
    mkdirSync(path.dirname(target), { recursive: true });
    if (!fileName.startsWith('..')) copyFileSync(path.join(SAMPLE_IMAGES, source.file_name), target);
    return { id: index + 1, file_name: fileName, width: source.width, height: source.height };
  });
  mkdirSync(images, { recursive: true });
  const file = path.join(dir, 'instances.json');
  writeFileSync(file, JSON.stringify({
    images: entries,
    annotations: entries.map((image) => ({ id: 100 + image.id, image_id: image.id, category_id: 1, bbox: [10, 10, 40, 40], area: 1600, iscrowd: 0 })),
    categories: [{ id: 1, name: 'thing' }],
  }));
  return { file, images };
}

describe('importCoco keeps data safe', () => {
  let temp: ReturnType<typeof tempDir>;
  let out: string;
  let store: LabelStore;
  beforeEach(() => {
    temp = tempDir();
    out = path.join(temp.dir, 'crops');
    store = storeIn(out);
  });
  afterEach(() => {
    store.close();
    temp.cleanup();
  });

  it('never writes through a link in the output folder: a folder link leading out is refused, a file link at a crop\'s place is replaced', async () => {
    const outside = path.join(temp.dir, 'outside');
    mkdirSync(outside);
    const important = path.join(outside, 'important.jpg');
    writeFileSync(important, 'precious');
    const { file, images } = instances(temp.dir, ['train/a.jpg', 'b.jpg']);
    symlinkSync(outside, path.join(out, 'train'));
    mkdirSync(path.join(out, 'b'));
    symlinkSync(important, path.join(out, 'b', '102.jpg'));

    const report = await importCoco(store, out, { annotations: file, images });
    expect(report).toMatchObject({ kept: 1, cut: 1, skipped: 1 });
    expect(report.warnings).toEqual([{ annotationId: 101, field: 'crop', reason: expect.stringMatching(/train is a link to .*outside, outside the output folder .*; refused/) }]);
    expect(readdirSync(outside)).toEqual(['important.jpg']);
    expect(readFileSync(important, 'utf8')).toBe('precious');
    const crop = path.join(out, 'b', '102.jpg');
    expect(lstatSync(crop).isFile()).toBe(true);
    expect(store.items().map((item) => [item.cocoAnnotationId, item.uri, item.bytes])).toEqual([[102, 'b/102.jpg', lstatSync(crop).size]]);
  });

  it('refuses by name a file_name that would put crops in .quicksort/ or another hidden folder, or that climbs out', async () => {
    const { file, images } = instances(temp.dir, ['.quicksort/x.jpg', 'sub/.hidden/x.jpg', '../secret.jpg', 'fine.jpg']);
    const report = await importCoco(store, out, { annotations: file, images });
    expect(report).toMatchObject({ kept: 1, cut: 1, skipped: 3 });
    const reasons = new Map(report.warnings.map((w) => [w.annotationId, `${w.field}: ${w.reason}`]));
    expect(reasons.get(101)).toMatch(/^file_name: image 1: file_name "\.quicksort\/x\.jpg" would put its crops in the hidden folder \.quicksort\/ .*refused/);
    expect(reasons.get(102)).toMatch(/^file_name: image 2: file_name "sub\/\.hidden\/x\.jpg" would put its crops in the hidden folder \.hidden\/ .*refused/);
    expect(reasons.get(103)).toMatch(/^file_name: image 3: file_name "\.\.\/secret\.jpg" leads outside the images folder .*refused/);
    expect(readdirSync(path.join(out, '.quicksort')).filter((name) => !name.startsWith('quicksort.db'))).toEqual([]);
    expect(existsSync(path.join(out, 'sub'))).toBe(false);
    expect(store.items().map((item) => item.uri)).toEqual(['fine/104.jpg']);
  });

  it('refuses predictions that are an object of ground truth, naming its keys, and leaves the folder free; reads {"annotations": [...]}', async () => {
    const refusal = await importCoco(store, out, { predictions: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(CocoFormatError);
    expect((refusal as Error).message).toMatch(
      /expected a JSON array of detections \(COCO results format\); found an object with keys info, licenses, images, annotations, categories whose annotations have no score — pass it with --annotations if it is ground truth$/,
    );
    const other = path.join(temp.dir, 'other.json');
    writeFileSync(other, JSON.stringify({ detections: sampleDetections() }));
    await expect(importCoco(store, out, { predictions: other, images: SAMPLE_IMAGES })).rejects.toThrow(/found an object with keys detections and no "annotations" array/);
    expect(readLink(store)).toBeUndefined();
    expect(store.count()).toBe(0);

    const detections = sampleDetections();
    const wrapped = path.join(temp.dir, 'wrapped.json');
    writeFileSync(wrapped, JSON.stringify({ annotations: detections }));
    const report = await importCoco(store, out, { predictions: wrapped, annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES, minConfidence: 0.5 });
    const kept = detections.filter((d) => d.score >= 0.5).length;
    expect(report).toMatchObject({ role: 'predictions', kind: 'results', kept, cut: kept, skipped: 0 });
    for (const item of store.items()) expect(item.confidence).toBe(detections[item.cocoAnnotationId! - 1]!.score);
    expect(readLink(store)).toMatchObject({ source: wrapped, kind: 'results' });
  });

  it('resumes a truncated file once fixed, in the same folder: crops and labels kept, the rest added, no duplicates', async () => {
    const text = readFileSync(SAMPLE_ANNOTATIONS, 'utf8');
    const annotations = text.indexOf('"annotations"');
    // Cut mid-annotations: the categories, at the end of the file, are lost with the rest.
    const file = path.join(temp.dir, 'instances.json');
    writeFileSync(file, text.slice(0, annotations + Math.floor((text.indexOf('"categories"') - annotations) / 2)));
    const first = await importCoco(store, out, { annotations: file, images: SAMPLE_IMAGES });
    expect(first.fileError).toMatch(/truncated/);
    expect(first.kept).toBeGreaterThan(50);
    expect(first.kept).toBeLessThan(276);
    const [labeled, other] = store.items();
    store.act(labeled!.id, { kind: 'label', label: 'corrected by a person' }, { user: 'tester' });

    writeFileSync(file, text);
    const second = await importCoco(store, out, { annotations: file, images: SAMPLE_IMAGES });
    expect(second).toMatchObject({ kept: 276, resumed: first.kept, cut: 276 - first.kept, skipped: 0 });
    expect(second.fileError).toBeUndefined();
    const items = store.items();
    expect(items).toHaveLength(276);
    expect(new Set(items.map((item) => item.cocoAnnotationId)).size).toBe(276);
    expect(store.item(labeled!.id)).toMatchObject({ label: 'corrected by a person', labeledBy: 'tester' });
    // Crops cut before the categories could name them are suggested their class now.
    const names = new Map(sample().categories.map((c) => [c.id, c.name]));
    const truth = new Map(sample().annotations.map((a) => [a.id, a.category_id]));
    expect(store.item(other!.id)).toMatchObject({ label: names.get(truth.get(other!.cocoAnnotationId!)!), labelSource: 'model' });
    expect(readLink(store)).toMatchObject({ source: file, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), categories: sample().categories.map(({ id, name }) => ({ id, name })) });
  });

  it('refuses another file with a short message naming what differs, and keeps its link', async () => {
    await importCoco(store, out, { annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES });
    const truth = sample();
    const changed = (name: string, change: (file: typeof truth) => void) => {
      const copy = sample();
      change(copy);
      const file = path.join(temp.dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(copy));
      return () => importCoco(store, out, { annotations: file, images: SAMPLE_IMAGES });
    };
    const dog = truth.categories.find((c) => c.id === 18)!;
    const refusals = [
      [changed('renamed', (file) => (file.categories.find((c) => c.id === 18)!.name = 'cat')), `category 18 is "cat" in the file and "${dog.name}" in the folder;`],
      [changed('moved', (file) => file.images.slice(0, 3).forEach((image) => (image.file_name = `other/${image.file_name}`))), 'the images differ: 3 of 36 file names (image'],
      [() => importCoco(store, out, { annotations: VAL2014_GT, images: SAMPLE_IMAGES }), 'of the 276 annotations already cut are not in the file (first: annotation'],
    ] as const;
    for (const [rerun, difference] of refusals) {
      const error = await rerun().then(() => undefined, (e: unknown) => e as Error);
      expect(error).toBeInstanceOf(DatasetError);
      expect(error!.message).toContain(difference);
      expect(error!.message).toMatch(/is not the file .* was imported from .*; import it into another --output-dir$/);
      expect(error!.message.length).toBeLessThan(500);
    }
    expect(readLink(store)).toMatchObject({ source: SAMPLE_ANNOTATIONS });
  });
});
