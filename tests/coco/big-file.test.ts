import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { REPO, tempDir } from '../helpers/fixtures';
import { readJson, VAL2014_GT } from './helpers';

const GIGABYTE = 1_000_000_000;
const READER = path.join(REPO, 'dist', 'coco', 'index.js');

/**
 * Writes a COCO instances file of at least `bytes` by repeating the real val2014 ground truth with fresh
 * ids: each annotation's text is built once, then only its ids are written per copy.
 */
function generate(file: string, bytes: number): { images: number; annotations: number; bytes: number } {
  const source = readJson<{ images: Record<string, unknown>[]; annotations: Record<string, unknown>[]; categories: unknown[] }>(VAL2014_GT);
  const annotationTemplates = source.annotations.map(({ id: _id, image_id, ...rest }) => ({ imageId: image_id as number, head: JSON.stringify(rest).slice(0, -1) }));
  const imageTemplates = source.images.map(({ id, file_name, ...rest }) => ({ id: id as number, fileName: file_name as string, head: JSON.stringify(rest).slice(0, -1) }));
  const perCopy = Buffer.byteLength(annotationTemplates.map((t) => t.head).join('')) + source.annotations.length * 40;
  const copies = Math.ceil(bytes / perCopy);
  const fd = openSync(file, 'w');
  let written = 0;
  const write = (text: string) => {
    written += writeSync(fd, text);
  };
  try {
    write('{"info": {"description": "generated"}, "images": [');
    for (let copy = 0; copy < copies; copy++) {
      const parts = imageTemplates.map((t) => `${t.head},"id":${t.id + copy * 10_000_000},"file_name":"c${copy}_${t.fileName}"}`);
      write((copy ? ',' : '') + parts.join(','));
    }
    write('], "annotations": [');
    let id = 0;
    for (let copy = 0; copy < copies; copy++) {
      const parts = annotationTemplates.map((t) => `${t.head},"image_id":${t.imageId + copy * 10_000_000},"id":${++id}}`);
      write((copy ? ',' : '') + parts.join(','));
    }
    write(`], "categories": ${JSON.stringify(source.categories)}}`);
    return { images: copies * source.images.length, annotations: id, bytes: written };
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
