import type { ChannelOrder, Interpolation, Layout, VisionSpec } from '../manifest/manifest-types';

/** sharp's strictness when decoding: `error` refuses damaged data, `truncated` only cut-off files. */
export type FailOn = 'none' | 'truncated' | 'error' | 'warning';

type Rgb = [number, number, number];

/**
 * One step of preprocessing. A plan is an ordered list of these, derived from the manifest by
 * {@link planPreprocess}; the worker runs it (run-steps.ts). Geometry steps (orient to center-crop) only
 * change the size the next step sees, so {@link planGeometry} can be checked without any pixels; the pixel
 * steps (normalize, layout) are pure functions over arrays.
 */
export type PreprocessStep =
  | { op: 'decode'; failOn: FailOn; maxPixels: number }
  /** Apply the EXIF orientation, so pixels are as a person sees them (and boxes refer to that view). */
  | { op: 'orient' }
  /** Composite transparent pixels over a colour: models never see alpha. */
  | { op: 'flatten-alpha'; background: Rgb }
  /** Greyscale, CMYK, 16-bit and tagged profiles all become 8-bit sRGB with three channels. */
  | { op: 'to-srgb' }
  /** Cut the item's box ([x, y, w, h] in oriented pixels), for crops of detections; no-op without one. */
  | { op: 'crop-box' }
  | { op: 'resize-shortest-side'; shortestSide: number; minWidth: number; minHeight: number; kernel: Interpolation }
  | { op: 'center-crop'; width: number; height: number }
  | { op: 'letterbox'; width: number; height: number; kernel: Interpolation; background: Rgb }
  | { op: 'stretch'; width: number; height: number; kernel: Interpolation }
  | { op: 'normalize'; rescale: number; mean: Rgb; std: Rgb; channelOrder: ChannelOrder }
  | { op: 'layout'; layout: Layout };

export type StepOp = PreprocessStep['op'];

export interface PlanOptions {
  failOn?: FailOn;
  maxPixels?: number;
}

/** sharp's default pixel limit: an image declaring more is refused from its header. */
export const DEFAULT_MAX_PIXELS = 268_402_689;

/**
 * The preprocessing a vision model needs, as an ordered list of steps.
 *
 * @example
 * planPreprocess(manifest.vision).map((step) => step.op);
 * // ['decode', 'orient', 'flatten-alpha', 'to-srgb', 'crop-box', 'resize-shortest-side', 'center-crop', 'normalize', 'layout']
 */
export function planPreprocess(vision: VisionSpec, options: PlanOptions = {}): PreprocessStep[] {
  const { width, height, interpolation: kernel } = vision;
  const resize: PreprocessStep[] =
    vision.resize === 'shortest-side-crop'
      ? [
          { op: 'resize-shortest-side', shortestSide: vision.shortestSide, minWidth: width, minHeight: height, kernel },
          { op: 'center-crop', width, height },
        ]
      : vision.resize === 'letterbox'
        ? [{ op: 'letterbox', width, height, kernel, background: vision.background }]
        : [{ op: 'stretch', width, height, kernel }];
  return [
    { op: 'decode', failOn: options.failOn ?? 'error', maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS },
    { op: 'orient' },
    { op: 'flatten-alpha', background: vision.background },
    { op: 'to-srgb' },
    { op: 'crop-box' },
    ...resize,
    { op: 'normalize', rescale: vision.rescale, mean: vision.mean, std: vision.std, channelOrder: vision.channelOrder },
    { op: 'layout', layout: vision.layout },
  ];
}

/** The output size of a plan: the width × height × 3 floats each image fills. */
export function planOutputSize(steps: readonly PreprocessStep[]): { width: number; height: number; floats: number } {
  const last = planGeometry(steps, { width: 1000, height: 1000 }, undefined).at(-1)!;
  return { width: last.width, height: last.height, floats: last.width * last.height * 3 };
}

/** Where a geometry step leaves the image, and the sharp operation that gets it there. */
export interface GeometryStage {
  op: StepOp;
  width: number;
  height: number;
  /** A region to cut from the image as it stands before this step. */
  extract?: { left: number; top: number; width: number; height: number };
  /** A resize to this size (`fit` as sharp names it). */
  resize?: { width: number; height: number; fit: 'fill' | 'contain'; kernel: Interpolation; background?: Rgb };
}

/**
 * Follows the geometry steps of a plan from an image of `size` (already oriented) and a crop box. Pure: this
 * is where sizes, rounding and crop offsets are decided, and what the tests check.
 */
export function planGeometry(
  steps: readonly PreprocessStep[],
  size: { width: number; height: number },
  box: readonly [number, number, number, number] | null | undefined,
): GeometryStage[] {
  let { width, height } = size;
  const stages: GeometryStage[] = [];
  for (const step of steps) {
    switch (step.op) {
      case 'crop-box': {
        if (!box) break;
        const region = clampBox(box, width, height);
        stages.push({ op: step.op, width: region.width, height: region.height, extract: region });
        ({ width, height } = region);
        break;
      }
      case 'resize-shortest-side': {
        // Scale so the shortest side reaches `shortestSide`, and never below the crop that follows.
        const scale = Math.max(step.shortestSide / Math.min(width, height), step.minWidth / width, step.minHeight / height);
        const next = { width: Math.max(step.minWidth, Math.round(width * scale)), height: Math.max(step.minHeight, Math.round(height * scale)) };
        stages.push({ op: step.op, ...next, resize: { ...next, fit: 'fill', kernel: step.kernel } });
        ({ width, height } = next);
        break;
      }
      case 'center-crop': {
        const extract = {
          left: Math.floor((width - step.width) / 2),
          top: Math.floor((height - step.height) / 2),
          width: step.width,
          height: step.height,
        };
        stages.push({ op: step.op, width: step.width, height: step.height, extract });
        ({ width, height } = step);
        break;
      }
      case 'letterbox':
      case 'stretch': {
        const fit = step.op === 'letterbox' ? 'contain' : 'fill';
        const background = step.op === 'letterbox' ? step.background : undefined;
        stages.push({ op: step.op, width: step.width, height: step.height, resize: { width: step.width, height: step.height, fit, kernel: step.kernel, background } });
        ({ width, height } = step);
        break;
      }
      default:
        break;
    }
  }
  if (stages.length === 0) stages.push({ op: 'decode', width, height });
  return stages;
}

/** A box clamped to the image and rounded to whole pixels; at least one pixel wide and high. */
export function clampBox(box: readonly [number, number, number, number], width: number, height: number) {
  const left = Math.min(Math.max(0, Math.floor(box[0])), width - 1);
  const top = Math.min(Math.max(0, Math.floor(box[1])), height - 1);
  const right = Math.min(width, Math.max(left + 1, Math.ceil(box[0] + box[2])));
  const bottom = Math.min(height, Math.max(top + 1, Math.ceil(box[1] + box[3])));
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * 8-bit interleaved RGB → float32 interleaved, rescaled and normalised per channel, in the model's channel
 * order: `(value × rescale − mean[c]) / std[c]`.
 */
export function normalizePixels(pixels: Uint8Array, step: Extract<PreprocessStep, { op: 'normalize' }>): Float32Array {
  const out = new Float32Array(pixels.length);
  const order = step.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const scale = order.map((c) => step.rescale / step.std[c]!);
  const shift = order.map((c) => step.mean[c]! / step.std[c]!);
  for (let i = 0; i < pixels.length; i += 3) {
    for (let k = 0; k < 3; k++) out[i + k] = pixels[i + order[k]!]! * scale[k]! - shift[k]!;
  }
  return out;
}

/** Interleaved HWC floats → the model's layout, written into `out` from `offset`. */
export function writeLayout(values: Float32Array, width: number, height: number, layout: Layout, out: Float32Array, offset: number): void {
  if (layout === 'NHWC') {
    out.set(values, offset);
    return;
  }
  const plane = width * height;
  for (let p = 0; p < plane; p++) {
    out[offset + p] = values[p * 3]!;
    out[offset + plane + p] = values[p * 3 + 1]!;
    out[offset + 2 * plane + p] = values[p * 3 + 2]!;
  }
}

/**
 * {@link normalizePixels} then {@link writeLayout} in one pass, with no array in between: what the worker
 * runs (the two steps stay separate in the plan and in the tests, which check that this equals them).
 */
export function writeTensor(
  pixels: Uint8Array,
  width: number,
  height: number,
  step: Extract<PreprocessStep, { op: 'normalize' }>,
  layout: Layout,
  out: Float32Array,
  offset: number,
): void {
  const [c0, c1, c2] = step.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const s0 = step.rescale / step.std[c0]!;
  const s1 = step.rescale / step.std[c1]!;
  const s2 = step.rescale / step.std[c2]!;
  const h0 = step.mean[c0]! / step.std[c0]!;
  const h1 = step.mean[c1]! / step.std[c1]!;
  const h2 = step.mean[c2]! / step.std[c2]!;
  const plane = width * height;
  if (layout === 'NCHW') {
    for (let p = 0, i = 0; p < plane; p++, i += 3) {
      out[offset + p] = pixels[i + c0]! * s0 - h0;
      out[offset + plane + p] = pixels[i + c1]! * s1 - h1;
      out[offset + 2 * plane + p] = pixels[i + c2]! * s2 - h2;
    }
  } else {
    for (let i = 0; i < plane * 3; i += 3) {
      out[offset + i] = pixels[i + c0]! * s0 - h0;
      out[offset + i + 1] = pixels[i + c1]! * s1 - h1;
      out[offset + i + 2] = pixels[i + c2]! * s2 - h2;
    }
  }
}
