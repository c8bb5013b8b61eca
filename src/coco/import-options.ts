import { InvalidArgumentError } from '../errors';
import { resolveCropOptions, type CropOptions } from './crop-geometry';
import type { CropFormat } from './crop-worker';
import type { CocoLink } from './link';
import type { BoxFormat, CategoryConvention } from './types';

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

/** The options of an import, checked, with their defaults filled in. */
export interface ImportSettings {
  role: 'annotations' | 'predictions';
  minConfidence: number;
  convention: CategoryConvention | 'auto';
  boxFormat: BoxFormat;
  format: CropFormat;
  quality: number;
  crop: Required<CropOptions>;
  split: string | null;
}

/** Checks the options before anything is read or written: a bad value is refused naming it. */
export function checkOptions(options: CocoImportOptions): ImportSettings {
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
  const role = options.predictions !== undefined ? 'predictions' : 'annotations';
  return { role, minConfidence, convention, boxFormat, format, quality, crop: resolveCropOptions(options), split: options.split ?? null };
}
