import { InvalidArgumentError } from '../errors';
import type { Box } from '../store';

/** How a box becomes a crop. */
export interface CropOptions {
  /** Context added on each side, as a fraction of the box's width and height (0.1 = 10 % each side). Default 0. */
  padding?: number;
  /** Cut a square around the box's centre (side = the longer padded side), shifted to stay inside the image. */
  square?: boolean;
  /** Boxes narrower or shorter than this many pixels (before padding) are not cut. Default 0: every box. */
  minSize?: number;
}

/** A pixel rectangle inside the image, as sharp's `extract` takes it. */
export interface CropRegion {
  left: number;
  top: number;
  width: number;
  height: number;
}

export type CropPlan = { ok: true; region: CropRegion } | { ok: false; field: 'bbox'; reason: string };

/** Checks crop options and fills in the defaults. */
export function resolveCropOptions(options: CropOptions = {}): Required<CropOptions> {
  const padding = options.padding ?? 0;
  const minSize = options.minSize ?? 0;
  if (!Number.isFinite(padding) || padding < 0 || padding > 10) {
    throw new InvalidArgumentError(`padding must be a fraction of the box from 0 to 10 (0.1 adds 10 % each side); got ${padding}`);
  }
  if (!Number.isFinite(minSize) || minSize < 0) throw new InvalidArgumentError(`minSize must be a number of pixels ≥ 0; got ${minSize}`);
  return { padding, square: options.square ?? false, minSize };
}

/**
 * Where to cut a box out of an image of `imageWidth` × `imageHeight` pixels (as displayed, after EXIF
 * orientation): padded, optionally squared, then clamped to the image, with edges rounded outwards to
 * whole pixels so the crop always covers the box. A box entirely outside the image, or below the minimum
 * size, is refused with a reason.
 *
 * @example
 * planCrop([10.5, 20, 30, 40], 640, 480, { padding: 0.1 }); // { ok: true, region: { left: 7, top: 16, width: 37, height: 48 } }
 */
export function planCrop(box: Box, imageWidth: number, imageHeight: number, options: Required<CropOptions>): CropPlan {
  const [x, y, width, height] = box;
  if (![x, y, width, height].every(Number.isFinite) || width <= 0 || height <= 0) {
    return { ok: false, field: 'bbox', reason: `the box ${JSON.stringify(box)} has no positive, finite size` };
  }
  if (x >= imageWidth || y >= imageHeight || x + width <= 0 || y + height <= 0) {
    return { ok: false, field: 'bbox', reason: `the box ${JSON.stringify(box)} lies outside the ${imageWidth}×${imageHeight} image` };
  }
  if (width < options.minSize || height < options.minSize) {
    return { ok: false, field: 'bbox', reason: `the box is ${formatSize(width)}×${formatSize(height)} px, under the minimum size of ${options.minSize} px` };
  }
  let paddedWidth = width * (1 + 2 * options.padding);
  let paddedHeight = height * (1 + 2 * options.padding);
  let centreX = x + width / 2;
  let centreY = y + height / 2;
  if (options.square) {
    const side = Math.min(Math.max(paddedWidth, paddedHeight), Math.max(imageWidth, imageHeight));
    paddedWidth = paddedHeight = side;
    // Slide the square inside the image where it fits, so crops at the border stay square.
    centreX = slideInside(centreX, side, imageWidth);
    centreY = slideInside(centreY, side, imageHeight);
  }
  const left = Math.max(0, Math.floor(centreX - paddedWidth / 2));
  const top = Math.max(0, Math.floor(centreY - paddedHeight / 2));
  const right = Math.min(imageWidth, Math.ceil(centreX + paddedWidth / 2));
  const bottom = Math.min(imageHeight, Math.ceil(centreY + paddedHeight / 2));
  // The box intersects the image, so the clamped region has at least one pixel each way.
  return { ok: true, region: { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) } };
}

function slideInside(centre: number, side: number, extent: number): number {
  if (side >= extent) return extent / 2;
  return Math.min(Math.max(centre, side / 2), extent - side / 2);
}

function formatSize(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
