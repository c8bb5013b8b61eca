import { CocoFormatError } from '../errors';
import type { Box } from '../store';
import { UnreadableValue } from './json-scanner';
import type {
  CategoryConvention,
  CocoAnnotationJson,
  CocoCategory,
  CocoCategoryJson,
  CocoContext,
  CocoImage,
  CocoImageJson,
  CocoObject,
  CocoSegmentationJson,
} from './types';

/** Keys `fromCoco` reads into named fields; every other key goes to `extra`. */
const ANNOTATION_KEYS = new Set(['id', 'image_id', 'category_id', 'label', 'bbox', 'score', 'area', 'iscrowd', 'segmentation']);

/**
 * Reads one annotation (instances) or detection (results) into QuickSort's neutral {@link CocoObject}:
 * the category mapped from the file's convention to the categories list's id, the box turned into
 * `[x, y, width, height]`. `position` is the record's index in its array (a results file's ids are
 * positions + 1). Throws a {@link CocoFormatError} naming the field when the record is unusable.
 *
 * @example
 * const object = fromCoco({ image_id: 42, category_id: 18, bbox: [258, 41, 348, 243], score: 0.9 }, 0, context);
 * // { annotationId: 1, imageId: 42, categoryId: 18, box: [258, 41, 348, 243], score: 0.9 }
 */
export function fromCoco(json: CocoAnnotationJson, position: number, context: CocoContext): CocoObject {
  const annotationId = context.kind === 'results' ? position + 1 : readId(json.id, 'id', 'an annotation id');
  const object: CocoObject = {
    annotationId,
    imageId: readId(json.image_id, 'image_id', 'an image id'),
    categoryId: readCategory(json, context),
    box: readBox(json.bbox, context.boxFormat),
  };
  if (json.score !== undefined) object.score = readFinite(json.score, 'score');
  if (json.area !== undefined) object.area = readFinite(json.area, 'area');
  if (json.iscrowd !== undefined) {
    if (json.iscrowd !== 0 && json.iscrowd !== 1) throw fieldError('iscrowd', 'must be 0 or 1', json.iscrowd);
    object.iscrowd = json.iscrowd;
  }
  if (json.segmentation !== undefined) object.segmentation = json.segmentation as CocoSegmentationJson;
  let extra: Record<string, unknown> | undefined;
  for (const key of Object.keys(json)) {
    if (ANNOTATION_KEYS.has(key) || json[key] === undefined) continue;
    (extra ??= {})[key] = json[key];
  }
  // A results file's own `id` (pycocotools ignores it) and the unused class key of a convention ride along.
  if (context.kind === 'results' && json.id !== undefined) (extra ??= {}).id = json.id;
  const otherKey = context.categoryKey === 'label' ? 'category_id' : 'label';
  if (json[otherKey] !== undefined) (extra ??= {})[otherKey] = json[otherKey];
  if (extra) object.extra = extra;
  return object;
}

/**
 * Writes a {@link CocoObject} back in the file's conventions: the inverse of {@link fromCoco}, so that
 * `toCoco(fromCoco(json))` equals `json` (boxes in `xyxy` up to floating-point rounding of x + width).
 *
 * @example
 * toCoco({ annotationId: 7, imageId: 42, categoryId: 18, box: [1, 2, 3, 4] }, context);
 * // { id: 7, image_id: 42, category_id: 18, bbox: [1, 2, 3, 4] }
 */
export function toCoco(object: CocoObject, context: CocoContext): CocoAnnotationJson {
  const json: CocoAnnotationJson = {};
  if (context.kind === 'instances') json.id = object.annotationId;
  json.image_id = object.imageId;
  json[context.categoryKey] = categoryToWire(object.categoryId, context);
  const [x, y, width, height] = object.box;
  json.bbox = context.boxFormat === 'xyxy' ? [x, y, x + width, y + height] : [x, y, width, height];
  if (object.score !== undefined) json.score = object.score;
  if (object.area !== undefined) json.area = object.area;
  if (object.iscrowd !== undefined) json.iscrowd = object.iscrowd;
  if (object.segmentation !== undefined) json.segmentation = object.segmentation;
  if (object.extra) Object.assign(json, object.extra);
  return json;
}

/** The value a category id is written as under the file's convention. */
export function categoryToWire(categoryId: number, context: CocoContext): number {
  switch (context.convention) {
    case 'coco':
      return categoryId;
    case 'detectron2':
    case 'mmdet': {
      const order = context.convention === 'detectron2' ? context.categories.sortedIds : context.categories.fileOrderIds;
      const index = order.indexOf(categoryId);
      if (index < 0) throw new CocoFormatError(`category ${categoryId} is not in the categories list, so it has no ${context.convention} index`, 'category_id');
      return index;
    }
  }
}

/** The category id a wire value names under a convention, or undefined if it names none. */
export function categoryFromWire(value: number, convention: CategoryConvention, context: Pick<CocoContext, 'categories'>): number | undefined {
  const categories = context.categories;
  if (convention === 'coco') return categories.size === 0 || categories.byId.has(value) ? value : undefined;
  const order = convention === 'detectron2' ? categories.sortedIds : categories.fileOrderIds;
  return Number.isInteger(value) && value >= 0 && value < order.length ? order[value] : undefined;
}

function readCategory(json: CocoAnnotationJson, context: CocoContext): number {
  const field = context.categoryKey;
  const raw = json[field];
  if (raw === undefined) throw fieldError(field, 'is missing', undefined);
  if (!Number.isSafeInteger(raw)) throw fieldError(field, 'must be a whole number', raw);
  const id = categoryFromWire(raw as number, context.convention, context);
  if (id === undefined) {
    const known = context.convention === 'coco' ? 'ids of the categories list' : `${context.convention} class indexes 0–${context.categories.size - 1}`;
    throw new CocoFormatError(`${field} ${String(raw)} names no category (expected one of the ${known})`, field);
  }
  return id;
}

function readId(value: unknown, field: string, what: string): number {
  if (value === undefined) throw fieldError(field, 'is missing', value);
  if (!Number.isSafeInteger(value)) throw fieldError(field, `must be ${what}: a whole number`, value);
  return value as number;
}

function readFinite(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw fieldError(field, 'must be a finite number', value);
  return value;
}

/** A box as four finite numbers with a positive width and height, turned into `[x, y, width, height]`. */
export function readBox(value: unknown, format: 'xywh' | 'xyxy'): Box {
  if (value === undefined) throw fieldError('bbox', 'is missing', value);
  if (!Array.isArray(value) || value.length !== 4 || value.some((n) => typeof n !== 'number')) {
    throw fieldError('bbox', `must be four numbers [${format === 'xyxy' ? 'x1, y1, x2, y2' : 'x, y, width, height'}]`, value);
  }
  const [a, b, c, d] = value as [number, number, number, number];
  if (![a, b, c, d].every(Number.isFinite)) throw fieldError('bbox', 'must hold finite numbers (not NaN or Infinity)', value);
  const box: Box = format === 'xyxy' ? [a, b, c - a, d - b] : [a, b, c, d];
  if (!(box[2] > 0 && box[3] > 0)) throw fieldError('bbox', 'must have a positive width and height', value);
  return box;
}

function fieldError(field: string, problem: string, value: unknown): CocoFormatError {
  return new CocoFormatError(`${field} ${problem}; got ${describe(value)}`, field);
}

/** A value for a message: short JSON, with NaN and Infinity spelt out. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value instanceof UnreadableValue) return truncate(value.text);
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
  return truncate(text ?? String(value));
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

// ---- images and categories ----------------------------------------------------------------------------

/**
 * Reads an `images` entry. Width and height are optional here (some exporters leave them out); the crop
 * worker reads the real size from the file anyway.
 *
 * @example
 * imageFromCoco({ id: 42, file_name: '000000000042.jpg', width: 640, height: 480 });
 */
export function imageFromCoco(json: unknown): CocoImage & { extra?: Record<string, unknown> } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fieldError('images', 'entries must be objects', json);
  const record = json as Partial<CocoImageJson>;
  const id = readId(record.id, 'id', 'an image id');
  if (typeof record.file_name !== 'string' || record.file_name === '') throw fieldError('file_name', 'must be a non-empty path', record.file_name);
  const image: CocoImage & { extra?: Record<string, unknown> } = { id, fileName: record.file_name, width: 0, height: 0 };
  for (const field of ['width', 'height'] as const) {
    const value = record[field];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) <= 0) throw fieldError(field, 'must be a positive whole number of pixels', value);
    image[field] = value as number;
  }
  const extra = Object.fromEntries(Object.entries(record).filter(([key]) => !['id', 'file_name', 'width', 'height'].includes(key)));
  if (Object.keys(extra).length) image.extra = extra;
  return image;
}

/** Writes an image entry back: the inverse of {@link imageFromCoco} (a size of 0 means the file had none). */
export function imageToCoco(image: CocoImage & { extra?: Record<string, unknown> }): CocoImageJson {
  const json = { id: image.id, file_name: image.fileName } as CocoImageJson;
  if (image.width) json.width = image.width;
  if (image.height) json.height = image.height;
  return Object.assign(json, image.extra);
}

/** Reads a `categories` entry. */
export function categoryFromCoco(json: unknown): CocoCategory & { extra?: Record<string, unknown> } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fieldError('categories', 'entries must be objects', json);
  const record = json as Partial<CocoCategoryJson>;
  const id = readId(record.id, 'id', 'a category id');
  if (typeof record.name !== 'string' || record.name.trim() === '') throw fieldError('name', 'must be a non-empty class name', record.name);
  const category: CocoCategory & { extra?: Record<string, unknown> } = { id, name: record.name };
  const extra = Object.fromEntries(Object.entries(record).filter(([key]) => key !== 'id' && key !== 'name'));
  if (Object.keys(extra).length) category.extra = extra;
  return category;
}

/** Writes a category back: the inverse of {@link categoryFromCoco}. */
export function categoryToCoco(category: CocoCategory & { extra?: Record<string, unknown> }): CocoCategoryJson {
  return Object.assign({ id: category.id, name: category.name }, category.extra);
}
