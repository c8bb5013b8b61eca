import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export const REPO = path.join(__dirname, '..', '..');
export const SAMPLE_IMAGES = path.join(REPO, 'examples', 'sample', 'images');
export const SAMPLE_ANNOTATIONS = path.join(REPO, 'examples', 'sample', 'annotations', 'instances_val2017.json');
/** 80 COCO 2017 train images (scaled down) and their COCO captions file, 5 captions each (examples/coco-mini-train). */
export const COCO_MINI_IMAGES = path.join(REPO, 'examples', 'coco-mini-train', 'images');
export const COCO_MINI_CAPTIONS = path.join(REPO, 'examples', 'coco-mini-train', 'annotations', 'captions_train2017.json');

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'quicksort-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A copy of the sample images (36 COCO JPEGs) in a temporary folder. */
export function sampleCopy(): { dir: string; cleanup: () => void } {
  const temp = tempDir();
  cpSync(SAMPLE_IMAGES, temp.dir, { recursive: true });
  return temp;
}

/** A small PNG of one colour, or of random noise when `seed` is given. */
export async function makePng(width: number, height: number, seed?: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let state = seed ?? 1;
  for (let i = 0; i < pixels.length; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    pixels[i] = seed === undefined ? 128 : state >> 23;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** A PNG whose header declares `width` × `height` pixels but holds almost no pixel data. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
