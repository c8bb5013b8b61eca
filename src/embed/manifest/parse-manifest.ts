import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelError, messageOf } from '../../errors';
import { FieldReader } from './field-reader';
import {
  CHANNEL_ORDERS,
  INTERPOLATIONS,
  LAYOUTS,
  MANIFEST_FORMAT,
  NORMALIZATIONS,
  PADDINGS,
  POOLINGS,
  RESIZE_MODES,
  type ModelManifest,
  type TextSpec,
  type VisionSpec,
} from './manifest-types';

/**
 * Reads and validates a model manifest file. Throws a {@link ModelError} naming the file and the field for
 * anything malformed; files named by the manifest are checked later, when the model is loaded.
 *
 * @example
 * const manifest = loadManifest('models/mobilenetv2-12-int8.json');
 */
export function loadManifest(file: string): ModelManifest {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new ModelError(`cannot read the model manifest ${absolute}: ${messageOf(error)}; pass a manifest .json or a model export folder`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelError(`${absolute} is not valid JSON: ${messageOf(error)}`, { cause: error });
  }
  return parseManifest(json, absolute);
}

/** Validates parsed manifest JSON; relative paths are taken from the folder of `file`. */
export function parseManifest(json: unknown, file: string): ModelManifest {
  const root = FieldReader.root(file, json);
  const format = root.string('format', MANIFEST_FORMAT);
  if (format !== MANIFEST_FORMAT) root.fail('format', JSON.stringify(MANIFEST_FORMAT));
  const folder = path.dirname(file);
  const manifest: ModelManifest = {
    source: file,
    name: root.string('name'),
    description: root.string('description', undefined),
    license: root.string('license', undefined),
    vision: parseVision(root.object('vision'), folder),
    text: undefined,
    normalize: root.oneOf('normalize', NORMALIZATIONS, 'l2'),
  };
  root.string('homepage', undefined);
  const text = root.object('text', true);
  if (text) manifest.text = parseText(text, folder);
  root.done();
  if (!/^[\w.+-]+$/.test(manifest.name)) root.fail('name', 'letters, digits and . _ + - only (it is part of the model id)');
  return manifest;
}

function parseVision(fields: FieldReader, folder: string): VisionSpec {
  const width = fields.number('width', { integer: true, min: 1, max: 8192 });
  const height = fields.number('height', { integer: true, min: 1, max: 8192 });
  const vision: VisionSpec = {
    file: path.resolve(folder, fields.string('file')),
    sha256: sha256Field(fields),
    input: fields.string('input'),
    layout: fields.oneOf('layout', LAYOUTS, 'NCHW'),
    width,
    height,
    resize: fields.oneOf('resize', RESIZE_MODES, 'shortest-side-crop'),
    shortestSide: fields.number('shortestSide', { integer: true, min: Math.max(width, height), fallback: Math.max(width, height) }),
    interpolation: fields.oneOf('interpolation', INTERPOLATIONS, 'linear'),
    rescale: fields.number('rescale', { exclusiveMin: 0, fallback: 1 / 255 }),
    mean: fields.triple('mean', [0, 0, 0], () => true, 'numbers'),
    std: fields.triple('std', [1, 1, 1], (n) => n > 0, 'numbers > 0'),
    channelOrder: fields.oneOf('channelOrder', CHANNEL_ORDERS, 'RGB'),
    background: fields.triple('background', [255, 255, 255], (n) => Number.isInteger(n) && n >= 0 && n <= 255, 'whole numbers from 0 to 255'),
    output: fields.string('output', undefined),
    pooling: fields.oneOf('pooling', POOLINGS, 'none'),
  };
  fields.done();
  return vision;
}

function parseText(fields: FieldReader, folder: string): TextSpec {
  const tokenizerConfig = fields.string('tokenizerConfig', undefined);
  const text: TextSpec = {
    file: path.resolve(folder, fields.string('file')),
    sha256: sha256Field(fields),
    tokenizer: path.resolve(folder, fields.string('tokenizer')),
    tokenizerConfig: tokenizerConfig === undefined ? undefined : path.resolve(folder, tokenizerConfig),
    inputIds: fields.string('inputIds', 'input_ids'),
    attentionMask: fields.nullableString('attentionMask'),
    maxLength: fields.number('maxLength', { integer: true, min: 2, max: 65536, fallback: 77 }),
    padding: fields.has('padding') ? fields.oneOf('padding', PADDINGS) : undefined,
    output: fields.string('output', undefined),
    pooling: fields.oneOf('pooling', POOLINGS, 'none'),
  };
  fields.done();
  return text;
}

function sha256Field(fields: FieldReader): string | undefined {
  const value = fields.string('sha256', undefined);
  if (value !== undefined && !/^[0-9a-f]{64}$/.test(value)) fields.fail('sha256', '64 lower-case hex digits');
  return value;
}
