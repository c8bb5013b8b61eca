import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { REPO, tempDir } from '../helpers/fixtures';
import { readJson, VAL2014_GT } from './helpers';

const GIGABYTE = 1_000_000_000;
const READER = path.join(REPO, 'dist', 'coco', 'index.js');

/**
 * Writes a COCO instances file of at least `bytes` by repeating the real val2014 ground truth. One copy is
 * encoded once, with its ids in fixed-width slots padded by spaces (valid JSON whitespace); each further
 * copy only rewrites the ids in place, so writing a gigabyte costs little more than the disk.
 */
function generate(file: string, bytes: number): { images: number; annotations: number; bytes: number } {
  const source = readJson<{ images: Record<string, unknown>[]; annotations: Record<string, unknown>[]; categories: unknown[] }>(VAL2014_GT);
  const SLOT = 12;
  const slots: { offset: number; value: (copy: number, index: number) => number }[] = [];
  const pieces: string[] = [];
  let length = 0;
  const add = (text: string) => {
    pieces.push(text);
    length += Buffer.byteLength(text);
  };
  const slot = (value: (copy: number, index: number) => number) => {
    slots.push({ offset: length, value });
    add(' '.repeat(SLOT));
  };
  const perCopyImages = source.images.length;
  const perCopyAnnotations = source.annotations.length;
  source.images.forEach(({ id, ...rest }, index) => {
    add(`${index ? ',' : ''}${JSON.stringify(rest).slice(0, -1)},"id":`);
    slot((copy) => (id as number) + copy * 10_000_000);
    add('}');
  });
  const imageBlock = Buffer.from(pieces.join(''));
  const imageSlots = slots.splice(0);
  pieces.length = 0;
  length = 0;
  source.annotations.forEach(({ id: _id, image_id, ...rest }, index) => {
    add(`${index ? ',' : ''}${JSON.stringify(rest).slice(0, -1)},"image_id":`);
    slot((copy) => (image_id as number) + copy * 10_000_000);
    add(',"id":');
    slot((copy) => copy * perCopyAnnotations + index + 1);
    add('}');
  });
  const annotationBlock = Buffer.from(pieces.join(''));
  const annotationSlots = slots.splice(0);
  const copies = Math.ceil(bytes / annotationBlock.length);
  const fd = openSync(file, 'w');
  let written = 0;
  const write = (data: Buffer | string) => {
    written += typeof data === 'string' ? writeSync(fd, data) : writeSync(fd, data);
  };
  const fill = (block: Buffer, blockSlots: typeof slots, copy: number) => {
    blockSlots.forEach(({ offset, value }, index) => block.write(String(value(copy, index >> 1)).padEnd(SLOT), offset, 'latin1'));
  };
  try {
    write('{"info": {"description": "generated"}, "images": [');
    for (let copy = 0; copy < copies; copy++) {
      if (copy) write(',');
      imageSlots.forEach(({ offset, value }, index) => imageBlock.write(String(value(copy, index)).padEnd(SLOT), offset, 'latin1'));
      write(imageBlock);
    }
    write('], "annotations": [');
    for (let copy = 0; copy < copies; copy++) {
      if (copy) write(',');
      fill(annotationBlock, annotationSlots, copy);
      write(annotationBlock);
    }
    write(`], "categories": ${JSON.stringify(source.categories)}}`);
    return { images: copies * perCopyImages, annotations: copies * perCopyAnnotations, bytes: written };
  } finally {
    closeSync(fd);
  }
}

/** Run in a child process, so that its peak resident memory is the reader's alone. */
const CHILD = `
const { readCocoFile } = require(${JSON.stringify(READER)});
(async () => {
  let images = 0, annotations = 0, categories = 0, area = 0;
  for await (const batch of readCocoFile(process.argv[1]).batches()) {
    for (const record of batch) {
      if (record.section === 'annotations') { annotations++; area += record.fields.bbox[2] * record.fields.bbox[3]; }
      else if (record.section === 'images') { images++; if (record.json.file_name === undefined) throw new Error('no file_name'); }
      else if (record.section === 'categories') categories++;
    }
  }
  const peak = Number(/VmHWM:\\s+(\\d+) kB/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
  console.log(JSON.stringify({ images, annotations, categories, area, peak }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

describe('a COCO file over 1 GB', () => {
  it('parses in bounded memory (peak RSS under 1.5 GB), where JSON.parse cannot even hold the text', () => {
    if (!existsSync(READER)) throw new Error(`${READER} is missing; run \`npm run build\` first (the test measures the compiled reader in a child process)`);
    const temp = tempDir('quicksort-coco-big-');
    try {
      const file = path.join(temp.dir, 'huge.json');
      const expected = generate(file, GIGABYTE);
      expect(statSync(file).size).toBeGreaterThan(GIGABYTE);
      // V8 strings stop at 2^29 - 24 characters (~512 MB): the file cannot be one JS string.
      expect(expected.bytes).toBeGreaterThan(2 ** 29);
      const result = spawnSync(process.execPath, ['-e', CHILD, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
      expect(result.stderr).toBe('');
      const counts = JSON.parse(result.stdout) as { images: number; annotations: number; categories: number; area: number; peak: number };
      expect(counts).toMatchObject({ images: expected.images, annotations: expected.annotations, categories: 80 });
      expect(counts.area).toBeGreaterThan(0);
      expect(counts.peak).toBeLessThan(1.5 * 1024 ** 3);
    } finally {
      temp.cleanup();
    }
  }, 120_000);
});
