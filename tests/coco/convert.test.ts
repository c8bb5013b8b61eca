import {
  CategoryIndex,
  categoryFromCoco,
  categoryToCoco,
  chooseConvention,
  fromCoco,
  imageFromCoco,
  imageToCoco,
  planCrop,
  resolveCropOptions,
  toCoco,
  type CocoAnnotationJson,
  type CocoContext,
} from '../../src/coco';
import { CocoFormatError, InvalidArgumentError } from '../../src/errors';
import { readJson, VAL2014_GT, VAL2014_RESULTS } from './helpers';

const gt = readJson<{ annotations: CocoAnnotationJson[]; images: unknown[]; categories: { id: number; name: string }[] }>(VAL2014_GT);
const results = readJson<CocoAnnotationJson[]>(VAL2014_RESULTS);
const categories = new CategoryIndex(gt.categories);
const context = (overrides: Partial<CocoContext> = {}): CocoContext => ({
  kind: 'instances', convention: 'coco', categoryKey: 'category_id', boxFormat: 'xywh', categories, ...overrides,
});

describe('fromCoco / toCoco', () => {
  it('round-trips every real annotation, polygons and RLE, exactly', () => {
    for (const [index, annotation] of gt.annotations.entries()) {
      const object = fromCoco(annotation, index, context());
      expect(object.annotationId).toBe(annotation.id);
      expect(toCoco(object, context())).toEqual(annotation);
    }
    const crowd = gt.annotations.find((a) => a.iscrowd === 1)!;
    expect(fromCoco(crowd, 0, context()).segmentation).toMatchObject({ counts: expect.anything(), size: expect.any(Array) });
  });

  it('round-trips every real detection; a detection is numbered by its position, as pycocotools does', () => {
    const ctx = context({ kind: 'results' });
    results.forEach((detection, index) => {
      const object = fromCoco(detection, index, ctx);
      expect(object.annotationId).toBe(index + 1);
      expect(object.score).toBe(detection.score);
      expect(toCoco(object, ctx)).toEqual(detection);
    });
  });

  it('maps Detectron2 contiguous ids and MMDetection labels to the same categories, and back', () => {
    const coco = context({ kind: 'results' });
    const detectron2 = context({ kind: 'results', convention: 'detectron2' });
    const mmdet = context({ kind: 'results', convention: 'mmdet', categoryKey: 'label' });
    const sorted = [...categories.sortedIds];
    results.forEach((detection, index) => {
      const object = fromCoco(detection, index, coco);
      const asDetectron2 = toCoco(object, detectron2);
      expect(asDetectron2.category_id).toBe(sorted.indexOf(object.categoryId));
      expect(fromCoco(asDetectron2, index, detectron2)).toEqual(object);
      const asMmdet = toCoco(object, mmdet);
      expect(asMmdet.label).toBe(categories.fileOrderIds.indexOf(object.categoryId));
      expect(asMmdet.category_id).toBeUndefined();
      expect(fromCoco(asMmdet, index, mmdet)).toEqual(object);
    });
    // COCO's person is id 1 and index 0; its toothbrush is id 90 and index 79.
    expect(fromCoco({ image_id: 1, category_id: 0, bbox: [0, 0, 1, 1], score: 1 }, 0, detectron2).categoryId).toBe(1);
    expect(fromCoco({ image_id: 1, category_id: 79, bbox: [0, 0, 1, 1], score: 1 }, 0, detectron2).categoryId).toBe(90);
  });

  it('reads xyxy boxes as x, y, width, height and writes them back', () => {
    const ctx = context({ boxFormat: 'xyxy' });
    const object = fromCoco({ id: 1, image_id: 2, category_id: 3, bbox: [10, 20, 40, 60] }, 0, ctx);
    expect(object.box).toEqual([10, 20, 30, 40]);
    expect(toCoco(object, ctx)).toEqual({ id: 1, image_id: 2, category_id: 3, bbox: [10, 20, 40, 60] });
  });

  it('keeps unknown keys, and a results file\'s own ids, untouched', () => {
    const detection = { image_id: 42, category_id: 18, bbox: [1, 2, 3, 4], score: 0.5, id: 999, attributes: { occluded: true } };
    expect(toCoco(fromCoco(detection, 3, context({ kind: 'results' })), context({ kind: 'results' }))).toEqual(detection);
  });

  it.each([
    [{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }, 'id', /id is missing/],
    [{ id: 1, category_id: 1, bbox: [0, 0, 1, 1] }, 'image_id', /image_id is missing/],
    [{ id: 1, image_id: 1.5, category_id: 1, bbox: [0, 0, 1, 1] }, 'image_id', /whole number; got 1.5/],
    [{ id: 1, image_id: 1, bbox: [0, 0, 1, 1] }, 'category_id', /category_id is missing/],
    [{ id: 1, image_id: 1, category_id: 12, bbox: [0, 0, 1, 1] }, 'category_id', /category_id 12 names no category/],
    [{ id: 1, image_id: 1, category_id: 1 }, 'bbox', /bbox is missing/],
    [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 1] }, 'bbox', /four numbers/],
    [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, NaN, 1] }, 'bbox', /finite numbers.*NaN/],
    [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, -5, 10] }, 'bbox', /positive width and height; got \[0,0,-5,10\]/],
    [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 5, 0] }, 'bbox', /positive width and height/],
    [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 5, 5], score: 'high' }, 'score', /finite number; got "high"/],
    [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 5, 5], iscrowd: 2 }, 'iscrowd', /0 or 1/],
  ])('refuses %j naming the field %s', (json, field, message) => {
    let error: unknown;
    try {
      fromCoco(json as CocoAnnotationJson, 0, context());
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CocoFormatError);
    expect((error as CocoFormatError).field).toBe(field);
    expect((error as Error).message).toMatch(message);
  });

  it('round-trips images and categories with their other keys', () => {
    for (const image of gt.images) expect(imageToCoco(imageFromCoco(image))).toEqual(image);
    for (const category of gt.categories) expect(categoryToCoco(categoryFromCoco(category))).toEqual(category);
    expect(() => imageFromCoco({ id: 1, file_name: '', width: 1, height: 1 })).toThrow(/file_name must be a non-empty path/);
    expect(() => imageFromCoco({ id: 1, file_name: 'a.jpg', width: -3, height: 1 })).toThrow(/width must be a positive whole number/);
  });
});

describe('chooseConvention', () => {
  const evidence = (ids: number[], labels = 0) => ({ categoryIds: new Set(ids), labels, categoryIdCount: ids.length });

  it('reads category ids when they are ids, contiguous indexes when only that fits, labels as MMDetection', () => {
    expect(chooseConvention(evidence([1, 18, 90]), categories, 'auto')).toEqual({ convention: 'coco', categoryKey: 'category_id' });
    expect(chooseConvention(evidence([0, 17, 79]), categories, 'auto')).toMatchObject({ convention: 'detectron2', note: expect.stringMatching(/contiguous/) });
    expect(chooseConvention({ categoryIds: new Set(), labels: 5, categoryIdCount: 0 }, categories, 'auto')).toMatchObject({ convention: 'mmdet', categoryKey: 'label' });
    // Values that fit both readings: COCO's own, with a note on how to say otherwise.
    expect(chooseConvention(evidence([1, 2, 3]), categories, 'auto')).toMatchObject({ convention: 'coco', note: expect.stringMatching(/detectron2/) });
    // Ids 0…N-1 in order: both readings agree, nothing to note.
    const zeroBased = new CategoryIndex([{ id: 0, name: 'a' }, { id: 1, name: 'b' }]);
    expect(chooseConvention(evidence([0, 1]), zeroBased, 'auto')).toEqual({ convention: 'coco', categoryKey: 'category_id' });
    // Asked for explicitly: as asked.
    expect(chooseConvention(evidence([1, 2]), categories, 'detectron2')).toEqual({ convention: 'detectron2', categoryKey: 'category_id' });
    expect(chooseConvention({ categoryIds: new Set(), labels: 1, categoryIdCount: 0 }, categories, 'mmdet').categoryKey).toBe('label');
  });
});

describe('planCrop', () => {
  const plain = resolveCropOptions();

  it('rounds a box outwards to whole pixels', () => {
    expect(planCrop([10.5, 20.2, 30, 40.1], 640, 480, plain)).toEqual({ ok: true, region: { left: 10, top: 20, width: 31, height: 41 } });
  });

  it('pads each side by a fraction of the box, and clamps to the image', () => {
    expect(planCrop([100, 100, 50, 20], 640, 480, resolveCropOptions({ padding: 0.1 }))).toEqual({ ok: true, region: { left: 95, top: 98, width: 60, height: 24 } });
    expect(planCrop([-10, -10, 50, 50], 100, 100, plain)).toEqual({ ok: true, region: { left: 0, top: 0, width: 40, height: 40 } });
    expect(planCrop([90, 90, 50, 50], 100, 100, resolveCropOptions({ padding: 0.5 }))).toEqual({ ok: true, region: { left: 65, top: 65, width: 35, height: 35 } });
  });

  it('cuts squares, slid inside the image at its borders', () => {
    expect(planCrop([100, 100, 40, 10], 640, 480, resolveCropOptions({ square: true }))).toEqual({ ok: true, region: { left: 100, top: 85, width: 40, height: 40 } });
    expect(planCrop([0, 0, 40, 10], 640, 480, resolveCropOptions({ square: true }))).toEqual({ ok: true, region: { left: 0, top: 0, width: 40, height: 40 } });
    expect(planCrop([600, 470, 40, 10], 640, 480, resolveCropOptions({ square: true }))).toEqual({ ok: true, region: { left: 600, top: 440, width: 40, height: 40 } });
  });

  it('refuses boxes outside the image, without size, or under the minimum size', () => {
    expect(planCrop([700, 10, 5, 5], 640, 480, plain)).toMatchObject({ ok: false, field: 'bbox', reason: expect.stringMatching(/outside the 640×480 image/) });
    expect(planCrop([-20, 10, 20, 5], 640, 480, plain)).toMatchObject({ ok: false, reason: expect.stringMatching(/outside/) });
    expect(planCrop([1, 1, NaN, 5], 640, 480, plain)).toMatchObject({ ok: false, reason: expect.stringMatching(/no positive, finite size/) });
    expect(planCrop([1, 1, 3, 50], 640, 480, resolveCropOptions({ minSize: 4 }))).toMatchObject({ ok: false, reason: expect.stringMatching(/under the minimum size of 4 px/) });
    expect(() => resolveCropOptions({ padding: -1 })).toThrow(InvalidArgumentError);
  });
});
