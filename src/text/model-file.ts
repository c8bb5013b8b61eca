import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ModelError } from '../errors';
import { STATE_FOLDER } from '../store';
import { initialTable, TextModel, type TextModelSettings } from './text-model';
import { loadWordVectors } from './word-vectors';

/**
 * A trained text model as one file: `QSTM`, uint32 header length, a JSON header (format, version,
 * settings, the temperature, where each array lies), then the arrays (little-endian float32/int32, each
 * at a multiple of 4). Only the table rows training changed are stored; the others are the word vectors
 * the header names by checksum, or zero. One file, written beside and renamed over the old one, so a
 * crash mid-save leaves the previous model whole.
 */
export const TEXT_MODEL_FORMAT = 'quicksort-text-model';
export const TEXT_MODEL_VERSION = 1;
export const TEXT_MODEL_FILE = 'model.qstm';
const MAGIC = 'QSTM';

/** The folder of a dataset's text model: `<dataset>/.quicksort/text-model/`. */
export function textModelDir(datasetRoot: string): string {
  return path.join(datasetRoot, STATE_FOLDER, 'text-model');
}

/** A text model file that cannot be used; names the file and, where one is at fault, the header field. */
export class TextModelFileError extends ModelError {
  constructor(
    message: string,
    readonly file: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface ArrayPlace {
  offset: number;
  length: number;
}

interface Header {
  format: string;
  version: number;
  settings: Omit<TextModelSettings, 'wordVectorsFolder'>;
  logScale: number;
  arrays: Record<ArrayName, ArrayPlace>;
}

const FLOAT_ARRAYS = ['imageMean', 'imageWeights', 'imageBias', 'textWeights', 'textBias', 'rowValues'] as const;
type ArrayName = (typeof FLOAT_ARRAYS)[number] | 'rows';

/** The model as bytes (what saveTextModel writes; also how the training worker hands a model back). */
export function encodeTextModel(model: TextModel): Uint8Array {
  const { wordDim } = model.settings;
  const rows = Int32Array.from([...model.trainedRows].sort((a, b) => a - b));
  const rowValues = new Float32Array(rows.length * wordDim);
  rows.forEach((row, i) => rowValues.set(model.table.subarray(row * wordDim, (row + 1) * wordDim), i * wordDim));
  const arrays: Record<ArrayName, Float32Array | Int32Array> = {
    imageMean: model.imageMean,
    imageWeights: model.imageWeights,
    imageBias: model.imageBias,
    textWeights: model.textWeights,
    textBias: model.textBias,
    rowValues,
    rows,
  };
  const places = {} as Record<ArrayName, ArrayPlace>;
  let offset = 0;
  for (const [name, values] of Object.entries(arrays) as [ArrayName, Float32Array | Int32Array][]) {
    places[name] = { offset, length: values.length };
    offset += values.length * 4;
  }
  const { wordVectorsFolder: _folder, ...settings } = model.settings;
  const header: Header = { format: TEXT_MODEL_FORMAT, version: TEXT_MODEL_VERSION, settings, logScale: model.logScale, arrays: places };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  json = Buffer.concat([json, Buffer.alloc((4 - ((8 + json.length) % 4)) % 4, 0x20)]);
  const bytes = Buffer.alloc(8 + json.length + offset);
  bytes.write(MAGIC, 0, 'latin1');
  bytes.writeUInt32LE(json.length, 4);
  json.copy(bytes, 8);
  const base = 8 + json.length;
  for (const [name, values] of Object.entries(arrays) as [ArrayName, Float32Array | Int32Array][]) {
    Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(bytes, base + places[name].offset);
  }
  return bytes;
}

/**
 * A model from its bytes. `file` names them in errors; the word vectors come from `wordVectorsFolder`
 * (the bundled ones by default) and must be the ones the model was trained from.
 */
export function decodeTextModel(bytes: Uint8Array, file: string, wordVectorsFolder?: string): TextModel {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 8 || buffer.toString('latin1', 0, 4) !== MAGIC) {
    throw new TextModelFileError(`${file} is not a QuickSort text model (it should start with ${MAGIC}); train the model again (quicksort text train)`, file);
  }
  const headerLength = buffer.readUInt32LE(4);
  if (8 + headerLength > buffer.length) {
    throw new TextModelFileError(`${file} is truncated: its header needs ${headerLength} bytes, ${buffer.length - 8} are left; train the model again`, file);
  }
  let header: Header;
  try {
    header = JSON.parse(buffer.toString('utf8', 8, 8 + headerLength)) as Header;
  } catch (error) {
    throw new TextModelFileError(`${file} has a damaged header (${(error as Error).message}); train the model again`, file, undefined, { cause: error });
  }
  if (header?.format !== TEXT_MODEL_FORMAT) {
    throw new TextModelFileError(`${file}: format is ${JSON.stringify(header?.format)}, expected ${JSON.stringify(TEXT_MODEL_FORMAT)}`, file, 'format');
  }
  if (header.version !== TEXT_MODEL_VERSION) {
    throw new TextModelFileError(
      `${file}: version is ${JSON.stringify(header.version)}, but this QuickSort reads version ${TEXT_MODEL_VERSION}; train the model again with this version (quicksort text train)`,
      file,
      'version',
    );
  }
  const words = loadWordVectors(wordVectorsFolder);
  const stored = header.settings;
  if (stored?.wordVectorsChecksum !== words.checksum) {
    throw new TextModelFileError(
      `${file}: wordVectorsChecksum is ${JSON.stringify(stored?.wordVectorsChecksum)}, but the word vectors in ${words.folder} are ${words.checksum}; the model was trained from other word vectors: train it again`,
      file,
      'settings.wordVectorsChecksum',
    );
  }
  const settings: TextModelSettings = { ...stored, wordVectorsFolder: words.folder };
  const { imageDim, jointDim, wordDim, vocabularySize, buckets } = settings;
  for (const [name, value] of Object.entries({ imageDim, jointDim, wordDim, vocabularySize, buckets })) {
    if (!Number.isInteger(value) || value <= 0) throw new TextModelFileError(`${file}: settings.${name} is ${JSON.stringify(value)}, expected a positive whole number`, file, `settings.${name}`);
  }
  const base = 8 + headerLength;
  const read = <T extends Float32Array | Int32Array>(name: ArrayName, Type: { new (length: number): T }, expected?: number): T => {
    const place = header.arrays?.[name];
    if (!place || !Number.isInteger(place.offset) || !Number.isInteger(place.length) || place.offset < 0 || place.length < 0) {
      throw new TextModelFileError(`${file}: arrays.${name} is missing or malformed`, file, `arrays.${name}`);
    }
    if (expected !== undefined && place.length !== expected) {
      throw new TextModelFileError(`${file}: arrays.${name} holds ${place.length} values, the settings need ${expected}`, file, `arrays.${name}`);
    }
    const end = base + place.offset + place.length * 4;
    if (end > buffer.length) {
      throw new TextModelFileError(`${file} is truncated: arrays.${name} ends at byte ${end}, the file has ${buffer.length}; train the model again`, file, `arrays.${name}`);
    }
    const values = new Type(place.length);
    Buffer.from(values.buffer).set(buffer.subarray(base + place.offset, end));
    return values;
  };
  const rows = read('rows', Int32Array);
  const rowValues = read('rowValues', Float32Array, rows.length * wordDim);
  const table = initialTable(settings, words);
  const model = new TextModel(
    settings,
    table,
    read('imageMean', Float32Array, imageDim),
    read('imageWeights', Float32Array, jointDim * imageDim),
    read('imageBias', Float32Array, jointDim),
    read('textWeights', Float32Array, jointDim * wordDim),
    read('textBias', Float32Array, jointDim),
    header.logScale,
  );
  rows.forEach((row, i) => {
    if (row < 0 || row >= vocabularySize + buckets) throw new TextModelFileError(`${file}: arrays.rows names row ${row}, outside the table's ${vocabularySize + buckets}`, file, 'arrays.rows');
    table.set(rowValues.subarray(i * wordDim, (i + 1) * wordDim), row * wordDim);
    model.trainedRows.add(row);
  });
  return model;
}

/**
 * Saves a model in `dir` (created if needed) as model.qstm; the previous model stays whole until the
 * new one is complete on disk.
 *
 * @example
 * saveTextModel(model, textModelDir('photos/'));
 */
export function saveTextModel(model: TextModel, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, TEXT_MODEL_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  const descriptor = openSync(temporary, 'w');
  try {
    writeSync(descriptor, encodeTextModel(model));
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  renameSync(temporary, file);
  return file;
}

/**
 * Loads the model saved in `dir`.
 *
 * @example
 * const model = loadTextModel(textModelDir('photos/'));
 */
export function loadTextModel(dir: string, options: { wordVectorsFolder?: string } = {}): TextModel {
  const file = path.join(dir, TEXT_MODEL_FILE);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new TextModelFileError(
      missing ? `no text model at ${file}: train one first (quicksort text train)` : `cannot read the text model ${file}: ${(error as Error).message}`,
      file,
      undefined,
      { cause: error },
    );
  }
  return decodeTextModel(bytes, file, options.wordVectorsFolder);
}
