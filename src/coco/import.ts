import { statSync } from 'node:fs';
import { mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { CocoFormatError, ConflictError, InvalidArgumentError, messageOf } from '../errors';
import { isInside, walkImages } from '../images';
import type { ItemRecord, LabelStore } from '../store';
import type { Piscina } from 'piscina';
import { createPool } from '../workers';
import { COCO_CATEGORIES } from './coco-categories';
import { readCocoFile, type CocoFileReader, type CocoRecord } from './coco-reader';
import { chooseConvention, emptyEvidence, type CategoryEvidence } from './conventions';
import { categoryFromCoco, describe, fromCoco, imageFromCoco } from './convert';
import { resolveCropOptions, type CropOptions } from './crop-geometry';
import type { CropFormat, CropOutcome, CropResult, CropTask } from './crop-worker';
import type { ScannedFields } from './json-scanner';
import { readLink, writeLink, type CocoLink } from './link';
import { readImportedCrops, SameImportCheck } from './same-import';
import {
  CategoryIndex, type BoxFormat, type CategoryConvention, type CocoAnnotationJson, type CocoCategory, type CocoContext, type CocoFileKind, type CocoImage, type CocoObject,
} from './types';

export interface CocoImportOptions extends CropOptions {
  /** Ground truth: an instances file. With `predictions`, only its images and categories are used. */
  annotations?: string;
  /**
   * A model's detections: a results file (a JSON array), the same array wrapped as `{"annotations": […]}`,
   * or an instances file whose annotations have scores. Ground truth here is refused.
   */
  predictions?: string;
  /** The folder that `file_name` paths are relative to. */
  images: string;
  /** Detections scoring below this are not cut. Default 0. */
  minConfidence?: number;
  /** How the file names categories; `auto` (default) decides from the values (see `chooseConvention`). */
  convention?: CategoryConvention | 'auto';
  /** How boxes are written. Default `xywh` (COCO). */
  boxFormat?: BoxFormat;
  /** Crop file format. Default `jpeg`. */
  format?: CropFormat;
  /** Encoder quality for jpeg and webp, 1–100. Default 90. */
  quality?: number;
  /** The split recorded on every item. Default none. */
  split?: string | null;
  /** Worker threads cutting crops. Default: one per core. */
  threads?: number;
  onProgress?: (progress: CocoImportProgress) => void;
  signal?: AbortSignal;
}

export interface CocoImportProgress {
  phase: 'reading' | 'cropping';
  bytesRead: number;
  totalBytes: number;
  images: { done: number; total: number };
  crops: { done: number; total: number };
}

/** A record that was not imported: which annotation (null when it has no usable id), which field, why. */
export interface CocoWarning {
  annotationId: number | null;
  field: string;
  reason: string;
}

export interface CocoImportReport {
  source: string;
  role: 'annotations' | 'predictions';
  kind: 'instances' | 'results';
  convention: CategoryConvention;
  /** Why the convention was chosen, when `auto` had to judge. */
  conventionNote?: string;
  categoriesFrom: CocoLink['categoriesFrom'];
  /** Annotations (or detections) in the file. */
  records: number;
  /** Detections under `minConfidence`, not cut. */
  belowThreshold: number;
  /** Valid boxes at or above the threshold: the crops this dataset should hold. */
  kept: number;
  /** Crops cut by this run. */
  cut: number;
  /** Crops an earlier run had already cut (resumed, not cut again). */
  resumed: number;
  /** Records skipped as bad; each is a warning. */
  skipped: number;
  skippedByField: Record<string, number>;
  /** The first 1,000 warnings. */
  warnings: CocoWarning[];
  /** Images with at least one kept box. */
  images: number;
  /** Images whose size as displayed (after EXIF orientation) differs from the size the file declares. */
  imagesWithOtherSize: number;
  /** Set when the file could not be read to its end: what came before was imported. */
  fileError?: string;
  seconds: number;
}

const MAX_WARNINGS = 1000;
/** Crops written to the store per transaction (one fsync each). */
const FLUSH_CROPS = 512;
/** Who the suggested classes of an import are recorded as (so a person's undo never takes them back). */
export const IMPORT_USER = 'coco-import';

interface Candidate {
  index: number;
  fields: ScannedFields;
}

interface PendingCrop {
  annotationId: number;
  box: CocoObject['box'];
  categoryId: number;
  score: number | undefined;
  uri: string;
  /** Record the box's category as the suggested class: a new crop, or one whose item nobody touched. */
  suggest: boolean;
  /** An earlier run stored this crop: its item is kept, and it is suggested a class only if still untouched. */
  stored: boolean;
}

interface ImageGroup {
  image: CocoImage;
  /** Where its crops go, relative to the output folder. */
  folder: string;
  file: string;
  crops: PendingCrop[];
}

/**
 * Imports a COCO file as a dataset of crops: every box (ground truth, or a detection at or above
 * `minConfidence`) is cut from its image in a worker pool, written under `outputRoot`, and added to the
 * store as an item linked to its image and annotation ids, with the box's category as the suggested class
 * (a model label; a detection's score is its confidence). Bad records are skipped with a warning naming the
 * annotation and field; the rest is imported. Running it again resumes: crops already in the store are not
 * cut again, and a corrected file (a truncated one, fixed) adds what the first run could not read; another
 * file is refused (see {@link SameImportCheck}). The store remembers the file (see {@link CocoLink}) for
 * {@link exportCoco}.
 *
 * @example
 * const report = await importCoco(store, 'crops/', { predictions: 'detections.json', annotations: 'instances_val2017.json', images: 'val2017/', minConfidence: 0.3 });
 */
export async function importCoco(store: LabelStore, outputRoot: string, options: CocoImportOptions): Promise<CocoImportReport> {
  const started = performance.now();
  const settings = checkOptions(options);
  const role = options.predictions !== undefined ? 'predictions' : 'annotations';
  const source = path.resolve((options.predictions ?? options.annotations)!);
  const annotationsFile = options.annotations !== undefined ? path.resolve(options.annotations) : null;
  const imagesDir = path.resolve(options.images);
  if (!statSync(imagesDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InvalidArgumentError(`the images folder ${imagesDir} does not exist or is not a folder; check --images`);
  }
  const realImages = await realpath(imagesDir);
  await mkdir(outputRoot, { recursive: true });
  const realOutput = await realpath(outputRoot);
  const sourceInfo = await stat(source).catch((error: unknown) => {
    throw new CocoFormatError(`cannot read the COCO file ${source}: ${messageOf(error)}`, undefined, { cause: error });
  });
  // Start the crop workers now: loading sharp in them overlaps with reading the file.
  const pool = createPool('coco/crop-worker', { threads: options.threads });
  try {
    return await importWithPool(store, outputRoot, options, { settings, role, source, annotationsFile, imagesDir, realImages, realOutput, sourceInfo, started }, pool);
  } finally {
    await pool.destroy();
  }
}

interface Resolved {
  settings: Settings;
  role: 'annotations' | 'predictions';
  source: string;
  annotationsFile: string | null;
  imagesDir: string;
  realImages: string;
  /** The output folder as a real path: crops are written only inside it. */
  realOutput: string;
  sourceInfo: { size: number; mtimeMs: number };
  started: number;
}

async function importWithPool(store: LabelStore, outputRoot: string, options: CocoImportOptions, resolved: Resolved, pool: Piscina): Promise<CocoImportReport> {
  const { settings, role, source, annotationsFile, imagesDir, realImages, realOutput, sourceInfo, started } = resolved;
  // A dataset is bound to its file only once it holds crops of it: a refused or empty import binds nothing.
  const previous = readLink(store);
  const imported = readImportedCrops(store);
  const sameImport = previous && imported.size ? new SameImportCheck(imported, settings.boxFormat) : undefined;

  const report: CocoImportReport = {
    source, role, kind: 'instances', convention: 'coco', categoriesFrom: 'file', records: 0, belowThreshold: 0, kept: 0, cut: 0,
    resumed: 0, skipped: 0, skippedByField: {}, warnings: [], images: 0, imagesWithOtherSize: 0, seconds: 0,
  };
  const warn = (annotationId: number | null, field: string, reason: string) => {
    report.skipped++;
    report.skippedByField[field] = (report.skippedByField[field] ?? 0) + 1;
    if (report.warnings.length < MAX_WARNINGS) report.warnings.push({ annotationId, field, reason });
  };
  const progress: CocoImportProgress = { phase: 'reading', bytesRead: 0, totalBytes: 0, images: { done: 0, total: 0 }, crops: { done: 0, total: 0 } };
  const notify = () => options.onProgress?.({ ...progress, images: { ...progress.images }, crops: { ...progress.crops } });

  // ---- read: images and categories, then the boxes ------------------------------------------------------
  const images = new Map<number, CocoImage>();
  const badImages = new Map<number, { field: string; reason: string }>();
  const categoryList: CocoCategory[] = [];
  const takeImage = (record: CocoRecord) => {
    try {
      const image = imageFromCoco(record.json);
      if (!images.has(image.id)) images.set(image.id, { id: image.id, fileName: image.fileName, width: image.width, height: image.height });
    } catch (error) {
      // Even an entry that is not valid JSON (a NaN size written by Python) usually names its id: its
      // annotations are then reported against it, not as naming an unknown image.
      const id = /"id"\s*:\s*(\d+)/.exec(record.raw.toString('utf8'))?.[1];
      const field = error instanceof CocoFormatError && error.field && error.field !== 'images' ? `images.${error.field}` : 'images';
      if (id !== undefined) badImages.set(Number(id), { field, reason: messageOf(error) });
      else warn(null, 'images', `images[${record.index}] is unusable: ${messageOf(error)}`);
    }
  };
  const takeCategory = (record: CocoRecord) => {
    try {
      const category = categoryFromCoco(record.json);
      categoryList.push({ id: category.id, name: category.name.trim() });
    } catch (error) {
      warn(null, 'categories', `categories[${record.index}] is unusable: ${messageOf(error)}`);
    }
  };
  const onReadProgress = (bytes: number, total: number) => {
    progress.bytesRead = bytes;
    progress.totalBytes = total;
    notify();
  };

  if (role === 'predictions' && annotationsFile) {
    const reader = readCocoFile(annotationsFile, { sections: ['images', 'categories'], stopAfterSections: true, signal: options.signal, onProgress: onReadProgress });
    for await (const batch of reader.batches()) {
      for (const record of batch) {
        if (record.section === 'images') takeImage(record);
        else takeCategory(record);
      }
    }
    report.categoriesFrom = 'annotations';
  }
  const imagesFromSource = role === 'annotations' || !annotationsFile;

  const candidates: Candidate[] = [];
  const evidence: CategoryEvidence = emptyEvidence();
  const reader = readCocoFile(source, { hash: true, signal: options.signal, onProgress: onReadProgress });
  let kind: CocoFileKind | 'ground truth' | undefined;
  try {
    read: for await (const batch of reader.batches()) {
      for (const record of batch) {
        if (record.section === 'annotations') {
          report.records++;
          if (!record.fields) {
            warn(reader.kind === 'results' ? record.index + 1 : null, 'annotations', `annotations[${record.index}] is not a JSON object`);
            continue;
          }
          kind ??= annotationKind(reader.kind, record.fields, role);
          if (kind === 'ground truth') break read;
          takeCandidate(record, kind === 'results');
        } else if (imagesFromSource && record.section === 'images') {
          takeImage(record);
        } else if (imagesFromSource && record.section === 'categories') {
          takeCategory(record);
        }
      }
    }
  } catch (error) {
    if (!(error instanceof CocoFormatError)) throw error;
    report.fileError = `${source}: ${error.message}`;
  }
  if (kind === 'ground truth' || (role === 'predictions' && reader.kind === 'instances' && !reader.sectionCounts.has('annotations'))) {
    throw notDetections(reader, kind === 'ground truth');
  }
  report.kind = kind ?? reader.kind ?? 'instances';

  function takeCandidate(record: CocoRecord, isResults: boolean) {
    const fields = record.fields!;
    sameImport?.see(idOf(fields, record.index, isResults), fields.image_id, fields.bbox);
    // Evidence of the category convention comes from every record, so the choice does not depend on the threshold.
    if (fields.category_id !== undefined) {
      evidence.categoryIdCount++;
      if (Number.isSafeInteger(fields.category_id)) evidence.categoryIds.add(fields.category_id as number);
    }
    if (fields.label !== undefined) evidence.labels++;
    if (fields.score !== undefined || role === 'predictions') {
      if (typeof fields.score !== 'number' || !Number.isFinite(fields.score)) {
        warn(idOf(fields, record.index, isResults), 'score', `score must be a finite number; got ${describe(fields.score)}`);
        return;
      }
      if (fields.score < settings.minConfidence) {
        report.belowThreshold++;
        return;
      }
    }
    candidates.push({ index: record.index, fields });
  }

  // ---- resolve categories, images and boxes -------------------------------------------------------------
  if (categoryList.length === 0 && role === 'predictions') {
    categoryList.push(...COCO_CATEGORIES);
    report.categoriesFrom = 'builtin';
  }
  const categories = new CategoryIndex(categoryList);
  const choice = chooseConvention(evidence, categories, options.convention ?? 'auto');
  report.convention = choice.convention;
  if (choice.note) report.conventionNote = choice.note;
  const context: CocoContext = { kind: report.kind, convention: choice.convention, categoryKey: choice.categoryKey, boxFormat: settings.boxFormat, categories };
  if (images.size === 0 && badImages.size === 0 && role === 'predictions' && !annotationsFile) {
    for (const [id, image] of await imagesByNumber(imagesDir)) images.set(id, image);
  }

  const link: CocoLink = {
    version: 1, source, bytes: sourceInfo.size, mtimeMs: sourceInfo.mtimeMs, sha256: reader.sha256 ?? '', kind: report.kind, role,
    convention: choice.convention, categoryKey: choice.categoryKey, boxFormat: settings.boxFormat,
    categories: [...categories.byId.values()].map(({ id, name }) => ({ id, name })), categoriesFrom: report.categoriesFrom,
    annotationsFile, imagesDir, crop: { ...settings.crop, format: settings.format, quality: settings.quality }, importedAt: Date.now(),
  };
  if (sameImport) sameImport.check(previous!, link, images, outputRoot);
  writeLink(store, link);

  const groups = new Map<number, ImageGroup>();
  const seen = new Set<number>();
  const extension = settings.format === 'jpeg' ? 'jpg' : settings.format;
  const refuseImage = (image: CocoImage, annotationId: number, reason: string) => {
    badImages.set(image.id, { field: 'file_name', reason });
    images.delete(image.id);
    warn(annotationId, 'file_name', `image ${image.id}: ${reason}`);
  };
  for (const { index, fields } of candidates.splice(0)) {
    let object: CocoObject;
    try {
      object = fromCoco(fields as CocoAnnotationJson, index, context);
    } catch (error) {
      warn(idOf(fields, index, report.kind === 'results'), (error as CocoFormatError).field ?? 'annotations', messageOf(error));
      continue;
    }
    const id = object.annotationId;
    if (seen.has(id)) {
      warn(id, 'id', `annotation id ${id} appears more than once; only its first record is imported`);
      continue;
    }
    seen.add(id);
    if (object.score !== undefined && (object.score < 0 || object.score > 1)) {
      warn(id, 'score', `score ${object.score} is outside 0–1, so it cannot be a confidence`);
      continue;
    }
    let group = groups.get(object.imageId);
    if (!group) {
      const image = images.get(object.imageId);
      if (!image) {
        const bad = badImages.get(object.imageId);
        if (bad) warn(id, bad.field, `image ${object.imageId} is unusable: ${bad.reason}`);
        else if (role === 'predictions' && !annotationsFile && imagesFromSource) {
          warn(id, 'image_id', `image_id ${object.imageId} matches no image file in ${imagesDir} (without --annotations, files are matched by the number in their name)`);
        } else warn(id, 'image_id', `image_id ${object.imageId} names no image of the images list`);
        continue;
      }
      const file = path.resolve(imagesDir, image.fileName);
      if (image.fileName.includes('\0') || !isInside(imagesDir, file) || file === imagesDir) {
        refuseImage(image, id, `file_name ${JSON.stringify(image.fileName)} leads outside the images folder ${imagesDir}; refused`);
        continue;
      }
      const folder = cropFolder(imagesDir, file);
      const hidden = folder.split('/').find((segment) => segment.startsWith('.'));
      if (hidden !== undefined) {
        refuseImage(image, id, `file_name ${JSON.stringify(image.fileName)} would put its crops in the hidden folder ${hidden}/ of the output folder, where state is kept (.quicksort/); refused`);
        continue;
      }
      group = { image, folder, file, crops: [] };
      groups.set(object.imageId, group);
    }
    group.crops.push({
      annotationId: id, box: object.box, categoryId: object.categoryId, score: object.score,
      uri: `${group.folder}/${id}.${extension}`, suggest: true, stored: false,
    });
  }
  images.clear();

  // ---- resume: crops an earlier run stored, whose files are still there, are done ----------------------
  // A crop cut before its class could be named (a file truncated before its categories) is suggested one now.
  const work: ImageGroup[] = [];
  const unsuggested: { itemId: number; crop: PendingCrop }[] = [];
  for (const group of groups.values()) {
    report.images++;
    report.kept += group.crops.length;
    const remaining = group.crops.filter((crop) => {
      const previousCrop = imported.get(crop.annotationId);
      if (!previousCrop) return true;
      crop.uri = previousCrop.uri;
      crop.stored = true;
      crop.suggest = previousCrop.untouched;
      const size = statSync(path.join(outputRoot, ...previousCrop.uri.split('/')), { throwIfNoEntry: false })?.size;
      if (size !== previousCrop.bytes) return true;
      report.resumed++;
      if (crop.suggest) unsuggested.push({ itemId: previousCrop.itemId, crop });
      return false;
    });
    if (remaining.length) work.push({ ...group, crops: remaining });
  }
  groups.clear();
  imported.clear();
  if (unsuggested.length) store.db.transaction(() => unsuggested.forEach(({ itemId, crop }) => suggestClass(store, itemId, crop, categories, warn))).immediate();

  // ---- cut ----------------------------------------------------------------------------------------------
  progress.phase = 'cropping';
  progress.images = { done: report.images - work.length, total: report.images };
  progress.crops = { done: report.resumed, total: report.kept };
  notify();
  if (work.length) await cutCrops(store, pool, work, realImages, realOutput, settings, categories, options, report, warn, progress, notify);
  report.seconds = (performance.now() - started) / 1000;
  notify();
  return report;
}

interface Settings {
  minConfidence: number;
  boxFormat: BoxFormat;
  format: CropFormat;
  quality: number;
  crop: Required<CropOptions>;
  split: string | null;
}

function checkOptions(options: CocoImportOptions): Settings {
  if (options.annotations === undefined && options.predictions === undefined) {
    throw new InvalidArgumentError('give the boxes to import: annotations (ground truth, an instances file) or predictions (a results file), or both');
  }
  if (typeof options.images !== 'string' || options.images === '') throw new InvalidArgumentError('give the images folder that file_name paths are relative to (--images DIR)');
  const minConfidence = options.minConfidence ?? 0;
  if (!(minConfidence >= 0 && minConfidence <= 1)) throw new InvalidArgumentError(`minConfidence must be from 0 to 1; got ${minConfidence}`);
  const format = options.format ?? 'jpeg';
  if (!['jpeg', 'png', 'webp'].includes(format)) throw new InvalidArgumentError(`format must be one of jpeg, png, webp; got ${JSON.stringify(format)}`);
  const quality = options.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new InvalidArgumentError(`quality must be a whole number from 1 to 100; got ${quality}`);
  const boxFormat = options.boxFormat ?? 'xywh';
  if (boxFormat !== 'xywh' && boxFormat !== 'xyxy') throw new InvalidArgumentError(`boxFormat must be xywh or xyxy; got ${JSON.stringify(boxFormat)}`);
  const convention = options.convention ?? 'auto';
  if (!['auto', 'coco', 'detectron2', 'mmdet'].includes(convention)) {
    throw new InvalidArgumentError(`convention must be one of auto, coco, detectron2, mmdet; got ${JSON.stringify(convention)}`);
  }
  return { minConfidence, boxFormat, format, quality, crop: resolveCropOptions(options), split: options.split ?? null };
}

function idOf(fields: ScannedFields, index: number, isResults: boolean): number | null {
  if (isResults) return index + 1;
  return Number.isSafeInteger(fields.id) ? (fields.id as number) : null;
}

/**
 * How annotation ids are read — `results`: by position, `instances`: their `id` — judged from the file's
 * shape and its first annotation. Predictions in an object are a wrapped results array or an instances
 * file of scored detections; an object of unscored annotations is `ground truth`, refused as predictions.
 */
function annotationKind(shape: CocoFileKind | undefined, first: ScannedFields, role: 'annotations' | 'predictions'): CocoFileKind | 'ground truth' {
  if (shape === 'results' || role === 'annotations') return shape ?? 'instances';
  if (first.score === undefined) return 'ground truth';
  return first.id === undefined ? 'results' : 'instances';
}

/** Predictions that are not detections: the refusal names the keys the file has, and what to pass instead. */
function notDetections(reader: CocoFileReader, unscored: boolean): CocoFormatError {
  const keys = [...reader.sectionCounts.keys()];
  const more = reader.bytesRead < reader.totalBytes ? ', …' : '';
  const found = keys.length ? `an object with keys ${keys.join(', ')}${more}` : 'an empty object';
  const hint = unscored
    ? `whose annotations have no score — pass it with --annotations if it is ground truth`
    : `and no "annotations" array — a wrapped results file keeps its detections under "annotations"`;
  return new CocoFormatError(`${reader.file}: expected a JSON array of detections (COCO results format); found ${found} ${hint}`);
}

/** Records the box's category as the crop's suggested class: a model label, the score as its confidence. */
function suggestClass(store: LabelStore, itemId: number, crop: PendingCrop, categories: CategoryIndex, warn: Warn): void {
  if (!crop.suggest) return;
  const name = categories.byId.get(crop.categoryId)?.name;
  if (name === undefined) return;
  try {
    // Someone may have labeled a stored crop while this import read the file: never write over them.
    store.act(itemId, { kind: 'label', label: name }, { source: 'model', confidence: crop.score, user: IMPORT_USER, ifVersion: crop.stored ? 0 : undefined });
  } catch (error) {
    if (error instanceof ConflictError) return;
    warn(crop.annotationId, 'category_id', `the class name ${JSON.stringify(name)} cannot be stored: ${messageOf(error)}; the crop was added without a suggestion`);
  }
}

type Warn = (annotationId: number | null, field: string, reason: string) => void;

/** Crops of one image go in a folder named after the image's path without its extension. */
function cropFolder(imagesDir: string, file: string): string {
  const relative = path.relative(imagesDir, file).split(path.sep).join('/');
  return relative.replace(/\.[^./]*$/, '') || 'image';
}

/** Without an annotations file, images are found by the number in their name (COCO's `000000000042.jpg` is image 42). */
async function imagesByNumber(root: string): Promise<Map<number, CocoImage>> {
  const images = new Map<number, CocoImage>();
  for await (const entry of walkImages(root)) {
    if (entry.kind !== 'file') continue;
    const match = /(\d+)$/.exec(path.posix.basename(entry.uri).replace(/\.[^.]*$/, ''));
    if (!match) continue;
    const id = Number(match[1]);
    if (Number.isSafeInteger(id) && !images.has(id)) images.set(id, { id, fileName: entry.uri, width: 0, height: 0 });
  }
  return images;
}

async function cutCrops(
  store: LabelStore,
  pool: Piscina,
  work: ImageGroup[],
  realImages: string,
  outputRoot: string,
  settings: Settings,
  categories: CategoryIndex,
  options: CocoImportOptions,
  report: CocoImportReport,
  warn: Warn,
  progress: CocoImportProgress,
  notify: () => void,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = pool.options.maxThreads * 2;
  let pending: { crop: PendingCrop; image: CocoImage; outcome: Extract<CropOutcome, { ok: true }> }[] = [];

  const flush = () => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    store.db.transaction(() => {
      const records: ItemRecord[] = batch.map(({ crop, image, outcome }) => ({
        uri: outcome.uri, width: outcome.width, height: outcome.height, format: settings.format, bytes: outcome.bytes,
        mtimeMs: outcome.mtimeMs, hash: outcome.hash, split: settings.split, sourceUri: image.fileName, box: crop.box,
        cocoImageId: image.id, cocoAnnotationId: crop.annotationId,
      }));
      const ids = store.upsertItems(records);
      batch.forEach(({ crop }, index) => suggestClass(store, ids[index]!, crop, categories, warn));
    }).immediate();
  };

  const settle = (group: ImageGroup, result: CropResult) => {
    const declared = group.image;
    if (result.width && declared.width && declared.height && (result.width !== declared.width || result.height !== declared.height)) report.imagesWithOtherSize++;
    const byId = new Map(group.crops.map((crop) => [crop.annotationId, crop]));
    for (const outcome of result.outcomes) {
      const crop = byId.get(outcome.annotationId)!;
      if (outcome.ok) {
        pending.push({ crop, image: declared, outcome });
        report.cut++;
        progress.crops.done++;
      } else {
        warn(outcome.annotationId, outcome.field, `image ${declared.id} (${declared.fileName}): ${outcome.reason}`);
        report.kept--;
        progress.crops.total--;
      }
    }
    progress.images.done++;
    if (pending.length >= FLUSH_CROPS) flush();
    notify();
  };

  try {
    for (const group of work) {
      options.signal?.throwIfAborted();
      const task: CropTask = {
        imagesRoot: realImages, file: group.file, outputRoot,
        crops: group.crops.map(({ annotationId, box, uri }) => ({ annotationId, box, uri })),
        options: settings.crop, format: settings.format, quality: settings.quality,
      };
      const running = (pool.run(task, { signal: options.signal }) as Promise<CropResult>).then((result) => settle(group, result));
      const tracked = running.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
    flush();
  }
}
