import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelError } from '../../src/errors';
import {
  DEFAULT_WORD_VECTORS,
  loadTextModel,
  loadWordVectors,
  saveTextModel,
  TEXT_MODEL_FILE,
  TextModelFileError,
  textModelDir,
  trainTextModelHere,
  type TextModel,
} from '../../src/text';
import { mulberry32 } from '../../src/random';
import { tempFolder } from './fixtures';

const temp = tempFolder();
afterAll(() => temp.cleanup());

// Random 32-d "image embeddings" of 12 images, two captions each: enough to move every kind of parameter.
const random = mulberry32(5);
const images = Float32Array.from({ length: 12 * 32 }, () => random() * 2 - 1);
const nouns = ['dog', 'cat', 'car', 'boat', 'tree', 'house', 'bird', 'horse', 'train', 'pizza', 'clock', 'zebroid'];
const captions = nouns.flatMap((noun) => [`a ${noun} in the park`, `the ${noun} near a wall`]);
const imageOfCaption = nouns.flatMap((_, row) => [row, row]);
const queries = ['a dog', 'the zebroid near a wall', 'an unseen qwzx word', ''];

function trained(): TextModel {
  return trainTextModelHere({ images, imageDim: 32, captions, imageOfCaption }, { epochs: 3, batchSize: 8, jointDim: 16, buckets: 512 }).model;
}

function scores(model: TextModel): Float32Array[] {
  return [model.encodeText(queries), model.projectImages(images)];
}

describe('the text model file', () => {
  const model = trained();
  const dir = textModelDir(path.join(temp.dir, 'dataset'));
  const file = saveTextModel(model, dir);

  it('lives in .quicksort/text-model/ beside the store, one versioned file', () => {
    expect(file).toBe(path.join(temp.dir, 'dataset', '.quicksort', 'text-model', TEXT_MODEL_FILE));
    expect(readFileSync(file).toString('latin1', 0, 4)).toBe('QSTM');
    // Only the rows training changed are stored, not the 82k-row table.
    expect(model.trainedRows.size).toBeGreaterThan(0);
    expect(readFileSync(file).length).toBeLessThan(200_000);
  });

  it('loads back to bit-identical texts, images and temperature', () => {
    const loaded = loadTextModel(dir);
    const [texts, joint] = scores(loaded);
    const [textsBefore, jointBefore] = scores(model);
    expect(Buffer.from(texts!.buffer).equals(Buffer.from(textsBefore!.buffer))).toBe(true);
    expect(Buffer.from(joint!.buffer).equals(Buffer.from(jointBefore!.buffer))).toBe(true);
    expect(loaded.logScale).toBe(model.logScale);
    expect(Buffer.from(loaded.table.buffer).equals(Buffer.from(model.table.buffer))).toBe(true);
    expect(loaded.settings).toEqual(model.settings);
  });

  it('a save replaces the previous model only once the new one is whole', () => {
    const other = trainTextModelHere({ images, imageDim: 32, captions, imageOfCaption }, { epochs: 1, batchSize: 8, jointDim: 16, buckets: 512, seed: 9 }).model;
    const again = path.join(temp.dir, 'again');
    saveTextModel(model, again);
    saveTextModel(other, again);
    expect(Array.from(loadTextModel(again).encodeText(queries))).toEqual(Array.from(other.encodeText(queries)));
  });

  function broken(name: string, bytes: Buffer): string {
    const folder = path.join(temp.dir, name);
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, TEXT_MODEL_FILE), bytes);
    return folder;
  }

  function loadError(folder: string, options = {}): TextModelFileError {
    try {
      loadTextModel(folder, options);
    } catch (error) {
      expect(error).toBeInstanceOf(TextModelFileError);
      expect(error).toBeInstanceOf(ModelError); // exit code 7 in the CLI
      return error as TextModelFileError;
    }
    throw new Error('the model loaded');
  }

  it('a truncated file is a typed error naming the file and the array cut off; the saved model is untouched', () => {
    const whole = readFileSync(file);
    const folder = broken('truncated', whole.subarray(0, whole.length - 100));
    const error = loadError(folder);
    expect(error.file).toBe(path.join(folder, TEXT_MODEL_FILE));
    expect(error.message).toContain(path.join(folder, TEXT_MODEL_FILE));
    expect(error.message).toMatch(/truncated/);
    expect(error.field).toBe('arrays.rows');
    const header = broken('cut-header', whole.subarray(0, 40));
    expect(loadError(header).message).toMatch(/truncated: its header needs/);
    expect(readFileSync(file).equals(whole)).toBe(true);
  });

  it('another version is a typed error naming the file and the field "version"', () => {
    const whole = readFileSync(file);
    const length = whole.readUInt32LE(4);
    const header = whole.toString('utf8', 8, 8 + length).replace('"version":1', '"version":9');
    const folder = broken('version', Buffer.concat([whole.subarray(0, 8), Buffer.from(header), whole.subarray(8 + length)]));
    const error = loadError(folder);
    expect(error.field).toBe('version');
    expect(error.message).toMatch(/version is 9, but this QuickSort reads version 1; train the model again/);
    expect(error.message).toContain(folder);
  });

  it('a damaged header, another file, a missing model: typed errors naming the file', () => {
    const whole = readFileSync(file);
    const damaged = Buffer.from(whole);
    damaged.write('{{{{', 8, 'latin1'); // not JSON any more
    expect(loadError(broken('damaged', damaged)).message).toMatch(/damaged header/);
    expect(loadError(broken('not-a-model', Buffer.from('{"hello": 1}'))).message).toMatch(/is not a QuickSort text model/);
    const missing = loadError(path.join(temp.dir, 'nothing-here'));
    expect(missing.message).toMatch(/no text model at .*nothing-here.*train one first/);
  });

  it('a model trained from other word vectors is refused, naming the checksum field', () => {
    const folder = path.join(temp.dir, 'other-vectors');
    mkdirSync(folder);
    copyFileSync(path.join(DEFAULT_WORD_VECTORS, 'words.txt'), path.join(folder, 'words.txt'));
    const bytes = readFileSync(path.join(DEFAULT_WORD_VECTORS, 'word-vectors.bin'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(path.join(folder, 'word-vectors.bin'), bytes);
    const error = loadError(dir, { wordVectorsFolder: folder });
    expect(error.field).toBe('settings.wordVectorsChecksum');
  });

  it('truncated word vectors are a typed error naming their file', () => {
    const folder = path.join(temp.dir, 'cut-vectors');
    mkdirSync(folder);
    copyFileSync(path.join(DEFAULT_WORD_VECTORS, 'words.txt'), path.join(folder, 'words.txt'));
    writeFileSync(path.join(folder, 'word-vectors.bin'), readFileSync(path.join(DEFAULT_WORD_VECTORS, 'word-vectors.bin')).subarray(0, 1000));
    expect(() => loadWordVectors(folder)).toThrow(ModelError);
    expect(() => loadWordVectors(folder)).toThrow(new RegExp(`${path.join(folder, 'word-vectors.bin')} holds 1000 bytes.*truncated`));
  });
});
