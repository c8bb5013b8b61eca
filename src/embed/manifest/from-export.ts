import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ModelError, messageOf } from '../../errors';
import { loadManifest } from './parse-manifest';
import type { Interpolation, ModelManifest, VisionSpec } from './manifest-types';

/** The manifest a user may put in an export folder to override what is read from it. */
export const FOLDER_MANIFEST = 'quicksort-model.json';

/**
 * Resolves what a user points at: a manifest `.json`, or a folder holding either a `quicksort-model.json`
 * or a public ONNX export of a two-tower model.
 *
 * @example
 * resolveModel('models/mobilenetv2-12-int8.json');
 * resolveModel('~/models/clip-vit-base-patch32'); // vision_model.onnx, text_model.onnx, tokenizer.json, …
 */
export function resolveModel(location: string): ModelManifest {
  const absolute = path.resolve(location);
  let isFolder: boolean;
  try {
    isFolder = statSync(absolute).isDirectory();
  } catch (error) {
    throw new ModelError(`the model ${absolute} does not exist (${messageOf(error)}); pass a manifest .json or a model export folder`, {
      cause: error,
    });
  }
  if (!isFolder) {
    if (absolute.toLowerCase().endsWith('.onnx')) {
      throw new ModelError(
        `${absolute} is an ONNX file, not a manifest: write a manifest .json beside it naming the input, size, ` +
          `normalisation and output (see models/mobilenetv2-12-int8.json), and pass that`,
      );
    }
    return loadManifest(absolute);
  }
  const own = path.join(absolute, FOLDER_MANIFEST);
  return existsSync(own) ? loadManifest(own) : manifestFromExport(absolute);
}

/**
 * Derives a manifest from a folder in the layout of public ONNX exports of CLIP and SigLIP (as published for
 * transformers.js or written by `optimum-cli export onnx`): `onnx/vision_model.onnx` and
 * `onnx/text_model.onnx` (or the same at the top level; `_quantized`/`_fp16` variants when the full one is
 * absent), `tokenizer.json`, `tokenizer_config.json` and `preprocessor_config.json`. Outputs are chosen when
 * the model is loaded (`image_embeds`/`text_embeds`, else `pooler_output`).
 */
export function manifestFromExport(folder: string): ModelManifest {
  const vision = findModelFile(folder, 'vision_model');
  if (!vision) {
    throw new ModelError(
      `${folder} has neither a ${FOLDER_MANIFEST} nor a vision model (looked for onnx/vision_model.onnx, vision_model.onnx ` +
        `and their _quantized/_fp16 variants); point --model at a manifest .json or a CLIP/SigLIP ONNX export`,
    );
  }
  const preprocessorFile = path.join(folder, 'preprocessor_config.json');
  if (!existsSync(preprocessorFile)) {
    throw new ModelError(`${folder} has no preprocessor_config.json, so the image size and normalisation are unknown; add it from the export or write a ${FOLDER_MANIFEST}`);
  }
  const config = readJson(preprocessorFile);
  const text = findModelFile(folder, 'text_model');
  const tokenizer = path.join(folder, 'tokenizer.json');
  const tokenizerConfig = path.join(folder, 'tokenizer_config.json');
  if (text && !existsSync(tokenizer)) {
    throw new ModelError(`${folder} has a text model but no tokenizer.json (${tokenizer} is missing); copy it from the export (tokenizers are read locally, never downloaded)`);
  }
  const tokenizerSettings = existsSync(tokenizerConfig) ? readJson(tokenizerConfig) : {};
  const modelMaxLength = numberOr(tokenizerSettings.model_max_length, 77);
  return {
    source: folder,
    name: path.basename(folder).replace(/[^\w.+-]/g, '-'),
    vision: { file: vision, ...visionFromPreprocessor(config, preprocessorFile) },
    text: text
      ? {
          file: text,
          tokenizer,
          tokenizerConfig: existsSync(tokenizerConfig) ? tokenizerConfig : undefined,
          inputIds: 'input_ids',
          attentionMask: undefined,
          // Some configs say 1e30 ("no limit"); text towers are trained on short captions.
          maxLength: Math.min(modelMaxLength > 0 ? modelMaxLength : 77, 512),
          padding: undefined,
          output: undefined,
          pooling: 'none',
        }
      : undefined,
    normalize: 'l2',
  };
}

function findModelFile(folder: string, stem: string): string | undefined {
  for (const sub of ['onnx', '.']) {
    const dir = path.join(folder, sub);
    if (!existsSync(dir)) continue;
    for (const suffix of ['', '_fp32', '_quantized', '_int8', '_uint8', '_fp16', '_q4']) {
      const candidate = path.join(dir, `${stem}${suffix}.onnx`);
      if (existsSync(candidate)) return candidate;
    }
    const other = readdirSync(dir).find((name) => name.startsWith(stem) && name.endsWith('.onnx'));
    if (other) return path.join(dir, other);
  }
  return undefined;
}

/** PIL resampling codes, as image processors write them. */
const PIL_RESAMPLE: Record<number, Interpolation> = { 0: 'nearest', 1: 'lanczos3', 2: 'linear', 3: 'cubic', 4: 'linear', 5: 'cubic' };

/** Reads a Hugging Face image processor config (CLIPImageProcessor, SiglipImageProcessor and the like). */
function visionFromPreprocessor(config: Record<string, unknown>, file: string): Omit<VisionSpec, 'file'> {
  const size = config.size;
  const crop = config.crop_size;
  const doCrop = config.do_center_crop !== false && crop !== undefined;
  const side = (value: unknown, key: 'height' | 'width' | 'shortest_edge'): number | undefined =>
    typeof value === 'number' ? value : typeof value === 'object' && value !== null ? numberOr((value as Record<string, unknown>)[key], NaN) : undefined;
  let width: number;
  let height: number;
  let resize: VisionSpec['resize'];
  let shortestSide: number;
  if (doCrop) {
    width = side(crop, 'width') ?? NaN;
    height = side(crop, 'height') ?? NaN;
    shortestSide = side(size, 'shortest_edge') ?? Math.max(width, height);
    if (!Number.isFinite(shortestSide)) shortestSide = Math.max(width, height);
    resize = 'shortest-side-crop';
  } else {
    width = side(size, 'width') ?? side(size, 'shortest_edge') ?? NaN;
    height = side(size, 'height') ?? side(size, 'shortest_edge') ?? NaN;
    shortestSide = Math.max(width, height);
    resize = 'stretch';
  }
  if (!(width > 0 && height > 0)) {
    throw new ModelError(`${file}: cannot tell the input size from "size"/"crop_size" (${JSON.stringify({ size, crop_size: crop })}); write a ${FOLDER_MANIFEST}`);
  }
  const triple = (value: unknown, fallback: [number, number, number]): [number, number, number] =>
    Array.isArray(value) && value.length === 3 && value.every((n) => typeof n === 'number') ? (value as [number, number, number]) : fallback;
  const normalize = config.do_normalize !== false;
  return {
    input: 'pixel_values',
    layout: 'NCHW',
    width,
    height,
    resize,
    shortestSide: Math.max(shortestSide, width, height),
    interpolation: PIL_RESAMPLE[numberOr(config.resample, 3)] ?? 'cubic',
    rescale: config.do_rescale === false ? 1 : numberOr(config.rescale_factor, 1 / 255),
    mean: normalize ? triple(config.image_mean, [0.5, 0.5, 0.5]) : [0, 0, 0],
    std: normalize ? triple(config.image_std, [0.5, 0.5, 0.5]) : [1, 1, 1],
    channelOrder: 'RGB',
    background: [255, 255, 255],
    output: undefined,
    pooling: 'none',
  };
}

function readJson(file: string): Record<string, unknown> {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ModelError(`cannot read ${file}: ${messageOf(error)}`, { cause: error });
  }
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
