import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { IMPORT_USER, importCoco, planCrop, readLink, resolveCropOptions, type CocoImportReport } from '../../src/coco';
import { DatasetError, InvalidArgumentError } from '../../src/errors';
import type { LabelStore } from '../../src/store';
import { makePng, tempDir } from '../helpers/fixtures';
import { SAMPLE_ANNOTATIONS, SAMPLE_IMAGES, sample, sampleDetections, storeIn } from './helpers';

/** Every crop file under a dataset folder (its store folder aside). */
function cropFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).filter((file) => /\.(jpg|png|webp)$/.test(file) && !file.startsWith('.quicksort'));
}

async function pixels(input: sharp.Sharp): Promise<Buffer> {
  return input.raw().toBuffer();
}

describe('importCoco', () => {
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

  it('imports ground truth: one crop per box, linked to its image and annotation, its category suggested', async () => {
    const progress: number[] = [];
    const report = await importCoco(store, out, { annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES, onProgress: (p) => progress.push(p.crops.done) });
    const truth = sample();
    expect(report).toMatchObject({ role: 'annotations', kind: 'instances', convention: 'coco', records: 276, kept: 276, cut: 276, resumed: 0, skipped: 0, images: 36 });
    expect(cropFiles(out)).toHaveLength(276);
    expect(store.count()).toBe(276);
    expect(progress.at(-1)).toBe(276);

    const names = new Map(truth.categories.map((c) => [c.id, c.name]));
    const annotation = truth.annotations[0]!;
    const item = store.items().find((i) => i.cocoAnnotationId === annotation.id)!;
    const image = truth.images.find((i) => i.id === annotation.image_id)!;
    expect(item).toMatchObject({
      cocoImageId: annotation.image_id, box: annotation.bbox, sourceUri: image.file_name, format: 'jpeg',
      label: names.get(annotation.category_id), labelSource: 'model', labeledBy: IMPORT_USER, confidence: null,
    });
    expect(item.uri).toBe(`${image.file_name.replace(/\.jpg$/, '')}/${annotation.id}.jpg`);
    const meta = await sharp(path.join(out, item.uri)).metadata();
    expect([meta.width, meta.height]).toEqual([item.width, item.height]);
    // A person's undo never takes back the import's suggestions.
    expect(store.undo('local')).toEqual([]);
    expect(readLink(store)).toMatchObject({ source: SAMPLE_ANNOTATIONS, role: 'annotations', kind: 'instances', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('imports predictions above the threshold, the score as confidence; crop pixels are a direct extract of the box', async () => {
    const detections = sampleDetections();
    const file = path.join(temp.dir, 'detections.json');
    writeFileSync(file, JSON.stringify(detections));
    const report = await importCoco(store, out, {
      predictions: file, annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES, minConfidence: 0.3, format: 'png', padding: 0.1,
    });
    const kept = detections.filter((d) => d.score >= 0.3).length;
    expect(kept).toBeGreaterThan(100);
    expect(report).toMatchObject({ role: 'predictions', kind: 'results', categoriesFrom: 'annotations', records: 276, kept, cut: kept, belowThreshold: 276 - kept, skipped: 0 });
    expect(cropFiles(out)).toHaveLength(kept);

    const items = store.items();
    for (const item of items) expect(item.confidence).toBe(detections[item.cocoAnnotationId! - 1]!.score);
    const images = new Map(sample().images.map((i) => [i.id, i]));
    for (const item of items.slice(0, 12)) {
      const image = images.get(item.cocoImageId!)!;
      const plan = planCrop(item.box!, image.width, image.height, resolveCropOptions({ padding: 0.1 }));
      if (!plan.ok) throw new Error(plan.reason);
      const direct = await pixels(sharp(path.join(SAMPLE_IMAGES, image.file_name)).rotate().extract(plan.region));
      expect((await pixels(sharp(path.join(out, item.uri)))).equals(direct)).toBe(true);
    }
  });

  it('honours EXIF orientation: boxes are in the upright image', async () => {
    const images = path.join(temp.dir, 'images');
    mkdirSync(images);
    // Stored 60×40, shown 40×60 (orientation 6: rotate 90° clockwise).
    await sharp(await makePng(60, 40, 3)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(path.join(images, 'rotated.jpg'));
    const file = path.join(temp.dir, 'instances.json');
    const box = [5, 30, 20, 25];
    writeFileSync(file, JSON.stringify({
      images: [{ id: 1, file_name: 'rotated.jpg', width: 40, height: 60 }],
      annotations: [{ id: 7, image_id: 1, category_id: 1, bbox: box, area: 500, iscrowd: 0 }],
      categories: [{ id: 1, name: 'thing' }],
    }));
    const report = await importCoco(store, out, { annotations: file, images, format: 'png' });
    expect(report).toMatchObject({ kept: 1, cut: 1, imagesWithOtherSize: 0 });
    const item = store.items()[0]!;
    expect([item.width, item.height]).toEqual([20, 25]);
    const direct = await pixels(sharp(path.join(images, 'rotated.jpg')).rotate().extract({ left: 5, top: 30, width: 20, height: 25 }));
    expect((await pixels(sharp(path.join(out, item.uri)))).equals(direct)).toBe(true);
  });

  it('resumes: a second run cuts nothing, a lost crop is cut again without a second suggestion', async () => {
    const options = { annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES, square: true, minSize: 8 };
    const first = await importCoco(store, out, options);
    const tooSmall = sample().annotations.filter((a) => a.bbox[2] < 8 || a.bbox[3] < 8).length;
    expect(first).toMatchObject({ kept: 276 - tooSmall, cut: 276 - tooSmall, skipped: tooSmall });
    expect(first.warnings.every((w) => w.field === 'bbox' && /under the minimum size of 8 px/.test(w.reason))).toBe(true);
    const events = store.events().length;

    const second = await importCoco(store, out, options);
    expect(second).toMatchObject({ kept: first.kept, cut: 0, resumed: first.kept });
    expect(store.events()).toHaveLength(events);

    const lost = store.items()[5]!;
    rmSync(path.join(out, lost.uri));
    const third = await importCoco(store, out, options);
    expect(third).toMatchObject({ cut: 1, resumed: first.kept - 1 });
    expect(existsSync(path.join(out, lost.uri))).toBe(true);
    expect(store.events()).toHaveLength(events);
    expect(store.item(lost.id).label).toBe(lost.label);

    // Other crop settings, or another file, would mix two imports in one dataset.
    await expect(importCoco(store, out, { ...options, padding: 0.2 })).rejects.toThrow(InvalidArgumentError);
    await expect(importCoco(store, out, { ...options, annotations: path.join(__dirname, 'fixtures', 'instances_val2014_100.json') })).rejects.toThrow(DatasetError);
  });

  it('skips each bad record with a warning naming the annotation and the field, and imports the rest', async () => {
    const images = path.join(temp.dir, 'images');
    mkdirSync(images);
    const truth = sample();
    const [a, b] = truth.images;
    copyFileSync(path.join(SAMPLE_IMAGES, a!.file_name), path.join(images, a!.file_name));
    copyFileSync(path.join(SAMPLE_IMAGES, b!.file_name), path.join(images, b!.file_name));
    writeFileSync(path.join(temp.dir, 'secret.jpg'), await sharp(await makePng(50, 50, 1)).jpeg().toBuffer());
    symlinkSync(path.join(temp.dir, 'secret.jpg'), path.join(images, 'link.jpg'));
    const good = (id: number, image = a!) => `{"id": ${id}, "image_id": ${image.id}, "category_id": 1, "bbox": [10, 10, 30, 30], "area": 900, "iscrowd": 0}`;
    const text = `{"images": [${JSON.stringify(a)}, ${JSON.stringify(b)},
      {"id": 900, "file_name": "../secret.jpg", "width": 50, "height": 50},
      {"id": 901, "file_name": "/etc/hostname", "width": 50, "height": 50},
      {"id": 902, "file_name": "gone.jpg", "width": 50, "height": 50},
      {"id": 903, "file_name": "link.jpg", "width": 50, "height": 50},
      {"id": 904, "file_name": "${b!.file_name}", "width": NaN, "height": 50}],
    "annotations": [${good(1)}, ${good(2, b)},
      {"id": 10, "image_id": ${a!.id}, "category_id": 1, "bbox": [10, 10, -5, 20]},
      {"id": 11, "image_id": ${a!.id}, "category_id": 1, "bbox": [10, NaN, 5, 20]},
      {"id": 12, "image_id": ${a!.id}, "category_id": 1, "bbox": [${a!.width + 10}, 10, 5, 5]},
      {"id": 13, "image_id": 424242, "category_id": 1, "bbox": [10, 10, 5, 5]},
      {"id": 14, "image_id": ${a!.id}, "category_id": 4242, "bbox": [10, 10, 5, 5]},
      {"id": 15, "image_id": ${a!.id}, "category_id": 1},
      {"image_id": ${a!.id}, "category_id": 1, "bbox": [10, 10, 5, 5]},
      {"id": 17, "image_id": 900, "category_id": 1, "bbox": [1, 1, 5, 5]},
      {"id": 18, "image_id": 901, "category_id": 1, "bbox": [1, 1, 5, 5]},
      {"id": 19, "image_id": 902, "category_id": 1, "bbox": [1, 1, 5, 5]},
      {"id": 20, "image_id": 903, "category_id": 1, "bbox": [1, 1, 5, 5]},
      {"id": 21, "image_id": 904, "category_id": 1, "bbox": [1, 1, 5, 5]},
      ${good(1)}, ${good(3)}],
    "categories": ${JSON.stringify(truth.categories)}}`;
    const file = path.join(temp.dir, 'bad.json');
    writeFileSync(file, text);
    const report = await importCoco(store, out, { annotations: file, images });
    expect(report).toMatchObject({ records: 16, kept: 3, cut: 3, skipped: 13 });
    const byId = (id: number | null) => report.warnings.find((w) => w.annotationId === id)!;
    expect(byId(10)).toMatchObject({ field: 'bbox', reason: expect.stringMatching(/positive width and height/) });
    expect(byId(11)).toMatchObject({ field: 'bbox', reason: expect.stringMatching(/NaN/) });
    expect(byId(12)).toMatchObject({ field: 'bbox', reason: expect.stringMatching(/outside the \d+×\d+ image/) });
    expect(byId(13)).toMatchObject({ field: 'image_id', reason: expect.stringMatching(/424242 names no image/) });
    expect(byId(14)).toMatchObject({ field: 'category_id', reason: expect.stringMatching(/4242 names no category/) });
    expect(byId(15)).toMatchObject({ field: 'bbox', reason: expect.stringMatching(/missing/) });
    expect(byId(null)).toMatchObject({ field: 'id', reason: expect.stringMatching(/id is missing/) });
    expect(byId(17)).toMatchObject({ field: 'file_name', reason: expect.stringMatching(/outside the images folder.*refused/) });
    expect(byId(18)).toMatchObject({ field: 'file_name', reason: expect.stringMatching(/outside the images folder.*refused/) });
    expect(byId(19)).toMatchObject({ field: 'file_name', reason: expect.stringMatching(/gone.jpg does not exist/) });
    expect(byId(20)).toMatchObject({ field: 'file_name', reason: expect.stringMatching(/link to .*secret.jpg, outside the images folder/) });
    expect(byId(21)).toMatchObject({ field: 'images', reason: expect.stringMatching(/image 904 is unusable: images\[6\] at byte \d+ is not valid JSON/) });
    expect(report.warnings.filter((w) => w.annotationId === 1)).toMatchObject([{ field: 'id', reason: expect.stringMatching(/more than once/) }]);
    expect(store.items().map((i) => i.cocoAnnotationId).sort()).toEqual([1, 2, 3]);
    expect(existsSync(path.join(out, 'secret'))).toBe(false);
  });

  it('imports what precedes the break of a truncated file, and says where it broke', async () => {
    const file = path.join(temp.dir, 'truncated.json');
    const text = JSON.stringify(sampleDetections());
    writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
    const report = await importCoco(store, out, { predictions: file, annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES });
    expect(report.fileError).toMatch(/truncated/);
    expect(report.kept).toBeGreaterThan(100);
    expect(report.kept).toBeLessThan(276);
    expect(store.count()).toBe(report.kept);
  });

  it('reads Detectron2 contiguous ids and MMDetection labels (auto-detected), and predictions without an annotations file', async () => {
    const truth = sample();
    const sorted = truth.categories.map((c) => c.id).sort((x, y) => x - y);
    const detections = sampleDetections().slice(0, 40);
    const expected = detections.map((d) => truth.categories.find((c) => c.id === d.category_id)!.name);
    const labelsOf = (report: CocoImportReport) => {
      expect(report.kept).toBe(40);
      return store.items().sort((x, y) => x.cocoAnnotationId! - y.cocoAnnotationId!).map((i) => i.label);
    };

    const detectron2 = path.join(temp.dir, 'detectron2.json');
    writeFileSync(detectron2, JSON.stringify(detections.map((d) => ({ ...d, category_id: sorted.indexOf(d.category_id) }))));
    const first = await importCoco(store, out, { predictions: detectron2, annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES });
    expect(first).toMatchObject({ convention: 'detectron2', conventionNote: expect.stringMatching(/Detectron2/) });
    expect(labelsOf(first)).toEqual(expected);

    for (const [name, records, extra] of [
      ['mmdet', detections.map(({ category_id, ...d }) => ({ ...d, label: sorted.indexOf(category_id) })), {}],
      ['bare', detections, {}],
    ] as const) {
      store.close();
      rmSync(out, { recursive: true, force: true });
      store = storeIn(out);
      const file = path.join(temp.dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(records));
      const report = await importCoco(store, out, { predictions: file, images: SAMPLE_IMAGES, ...(name === 'mmdet' ? { annotations: SAMPLE_ANNOTATIONS } : extra) });
      if (name === 'mmdet') expect(report.convention).toBe('mmdet');
      else expect(report).toMatchObject({ convention: 'coco', categoriesFrom: 'builtin' });
      expect(labelsOf(report)).toEqual(expected);
    }
  });

  it('refuses what cannot be imported at all, saying what to do', async () => {
    await expect(importCoco(store, out, { images: SAMPLE_IMAGES })).rejects.toThrow(/annotations .* or predictions/);
    await expect(importCoco(store, out, { annotations: SAMPLE_ANNOTATIONS, images: path.join(temp.dir, 'nope') })).rejects.toThrow(/images folder .* does not exist/);
    await expect(importCoco(store, out, { annotations: path.join(temp.dir, 'nope.json'), images: SAMPLE_IMAGES })).rejects.toThrow(/cannot read the COCO file/);
    await expect(importCoco(store, out, { annotations: SAMPLE_ANNOTATIONS, images: SAMPLE_IMAGES, minConfidence: 2 })).rejects.toThrow(/minConfidence must be from 0 to 1/);
    expect(readFileSync(SAMPLE_ANNOTATIONS).length).toBeGreaterThan(0);
  });
});
