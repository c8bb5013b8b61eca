import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Adapters } from './adapters';
import { TextModelFileError } from './model-file';

/** The adapters of a two-tower model, beside the text model: `QSAD`, uint32 header length, a JSON header, then four float32 arrays. */
export const ADAPTERS_FILE = 'adapters.qsad';
/** Their training record (the image model they adapt, captions, losses), as training.json is the text model's. */
export const ADAPTERS_TRAINING_FILE = 'adapters.json';
const MAGIC = 'QSAD';
const VERSION = 1;

export function encodeAdapters(adapters: Adapters): Uint8Array {
  const header = Buffer.from(JSON.stringify({ version: VERSION, dim: adapters.dim, logScale: adapters.logScale }), 'utf8');
  const padded = Buffer.concat([header, Buffer.alloc((4 - ((8 + header.length) % 4)) % 4, 0x20)]);
  const arrays = [adapters.imageWeights, adapters.imageBias, adapters.textWeights, adapters.textBias];
  const bytes = Buffer.alloc(8 + padded.length + arrays.reduce((sum, a) => sum + a.byteLength, 0));
  bytes.write(MAGIC, 0, 'latin1');
  bytes.writeUInt32LE(padded.length, 4);
  padded.copy(bytes, 8);
  let at = 8 + padded.length;
  for (const array of arrays) {
    Buffer.from(array.buffer, array.byteOffset, array.byteLength).copy(bytes, at);
    at += array.byteLength;
  }
  return bytes;
}

/** Adapters from their bytes; `file` names them in errors. */
export function decodeAdapters(bytes: Uint8Array, file: string): Adapters {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const again = 'train again (quicksort text train)';
  if (buffer.length < 8 || buffer.toString('latin1', 0, 4) !== MAGIC) throw new TextModelFileError(`${file} is not a QuickSort adapters file (it should start with ${MAGIC}); ${again}`, file);
  const headerLength = buffer.readUInt32LE(4);
  let header: { version?: unknown; dim?: unknown; logScale?: unknown };
  try {
    header = JSON.parse(buffer.toString('utf8', 8, 8 + headerLength));
  } catch (error) {
    throw new TextModelFileError(`${file} has a damaged header (${(error as Error).message}); ${again}`, file, undefined, { cause: error });
  }
  if (header.version !== VERSION) throw new TextModelFileError(`${file}: version is ${JSON.stringify(header.version)}, this QuickSort reads ${VERSION}; ${again}`, file, 'version');
  const dim = header.dim;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim <= 0) throw new TextModelFileError(`${file}: field "dim" must be a positive whole number; ${again}`, file, 'dim');
  if (typeof header.logScale !== 'number' || !Number.isFinite(header.logScale)) throw new TextModelFileError(`${file}: field "logScale" must be a number; ${again}`, file, 'logScale');
  const base = 8 + headerLength;
  if (buffer.length !== base + 4 * (2 * dim * dim + 2 * dim)) throw new TextModelFileError(`${file} is truncated or too long for ${dim}-d adapters; ${again}`, file);
  const read = (at: number, length: number) => new Float32Array(buffer.buffer.slice(buffer.byteOffset + base + at * 4, buffer.byteOffset + base + (at + length) * 4));
  return new Adapters(dim, read(0, dim * dim), read(dim * dim, dim), read(dim * dim + dim, dim * dim), read(2 * dim * dim + dim, dim), header.logScale);
}

/** Writes the adapters into `dir` (whole or not at all); returns the file. */
export function saveAdapters(adapters: Adapters, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, ADAPTERS_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, encodeAdapters(adapters));
  renameSync(temporary, file);
  return file;
}

export function loadAdapters(dir: string): Adapters {
  const file = path.join(dir, ADAPTERS_FILE);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new TextModelFileError(`cannot read the adapters ${file}: ${(error as Error).message}; train again (quicksort text train)`, file, undefined, { cause: error });
  }
  return decodeAdapters(bytes, file);
}
