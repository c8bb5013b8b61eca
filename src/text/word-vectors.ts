import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelError } from '../errors';
import { PACKAGE_ROOT } from '../package';

/** The bundled word vectors: 45k GloVe 6B 100-d rows (45k, not 50k: the file stays under 5 MB; giraffe and frisbee are still in) (models/word-vectors/README.md says how they were made). */
export const DEFAULT_WORD_VECTORS = path.join(PACKAGE_ROOT, 'models', 'word-vectors');

const MAGIC = 'QSWV0001';
const HEADER_BYTES = 16;

/** Pretrained word rows, dequantised: `vectors[row·dim …]` is the word `words[row]`. */
export interface WordVectors {
  readonly folder: string;
  readonly words: readonly string[];
  readonly dim: number;
  readonly vectors: Float32Array;
  /** The row of each word. */
  readonly rowOf: ReadonlyMap<string, number>;
  /** First 16 hex digits of the sha256 of word-vectors.bin: a saved model names the rows it started from. */
  readonly checksum: string;
}

const loaded = new Map<string, WordVectors>();

/**
 * Reads a word-vectors folder (word-vectors.bin + words.txt) once per process; later calls get the same object.
 *
 * @example
 * const glove = loadWordVectors(); // 50,000 × 100
 * glove.vectors.subarray(glove.rowOf.get('dog')! * glove.dim, (glove.rowOf.get('dog')! + 1) * glove.dim);
 */
export function loadWordVectors(folder: string = DEFAULT_WORD_VECTORS): WordVectors {
  const key = path.resolve(folder);
  let vectors = loaded.get(key);
  if (!vectors) {
    vectors = readWordVectors(key);
    loaded.set(key, vectors);
  }
  return vectors;
}

function readWordVectors(folder: string): WordVectors {
  const binFile = path.join(folder, 'word-vectors.bin');
  const wordsFile = path.join(folder, 'words.txt');
  const bytes = readOrExplain(binFile);
  const words = readOrExplain(wordsFile).toString('utf8').split('\n');
  if (words[words.length - 1] === '') words.pop();
  if (bytes.length < HEADER_BYTES || bytes.toString('latin1', 0, 8) !== MAGIC) {
    throw new ModelError(`${binFile} is not a QuickSort word-vectors file (it should start with ${MAGIC}); remake it with scripts/make-word-vectors.js`);
  }
  const count = bytes.readUInt32LE(8);
  const dim = bytes.readUInt32LE(12);
  const expected = HEADER_BYTES + count * 4 + count * dim;
  if (bytes.length !== expected) {
    throw new ModelError(`${binFile} holds ${bytes.length} bytes, but its header (${count} words × ${dim}) needs ${expected}: the file is truncated or damaged; remake it with scripts/make-word-vectors.js`);
  }
  if (words.length !== count) {
    throw new ModelError(`${wordsFile} lists ${words.length} words, but ${binFile} has ${count} rows; remake both with scripts/make-word-vectors.js`);
  }
  const vectors = new Float32Array(count * dim);
  const values = new Int8Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES + count * 4, count * dim);
  for (let row = 0; row < count; row++) {
    const scale = bytes.readFloatLE(HEADER_BYTES + row * 4);
    for (let column = 0, at = row * dim; column < dim; column++, at++) vectors[at] = values[at]! * scale;
  }
  const rowOf = new Map<string, number>();
  words.forEach((word, row) => rowOf.set(word, row));
  const checksum = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  return { folder, words, dim, vectors, rowOf, checksum };
}

function readOrExplain(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ModelError(`cannot read the word vectors ${file}: ${(error as Error).message}; the folder should hold word-vectors.bin and words.txt (see models/word-vectors/README.md)`, { cause: error });
  }
}
