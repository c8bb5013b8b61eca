import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { messageOf } from '../errors';
import { ACCEPTED_FORMATS, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PIXELS } from './formats';

/**
 * How hard ingest checks each file. `decode` decodes every image (at reduced size, with libjpeg's
 * shrink-on-load) so that corrupt or truncated data is caught before anyone labels it; `header` reads only
 * the header and checks the end-of-image marker, about ten times faster but blind to damage in the middle.
 */
export type VerifyMode = 'decode' | 'header';

export interface ProbeOptions {
  verify?: VerifyMode;
  maxPixels?: number;
  maxFileBytes?: number;
}

export interface ImageInfo {
  ok: true;
  /** Width and height as displayed, after EXIF orientation. */
  width: number;
  height: number;
  format: string;
  bytes: number;
  hash: string;
}

export interface ProbeFailure {
  ok: false;
  reason: string;
  bytes: number;
}

export type ProbeResult = ImageInfo | ProbeFailure;

/** Reads, hashes and checks one image file; never throws, a bad file becomes a failure with a reason. */
export async function probeImage(file: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  let bytes = 0;
  try {
    bytes = (await stat(file)).size;
    if (bytes === 0) return { ok: false, reason: 'empty file (0 bytes)', bytes };
    if (bytes > maxFileBytes) return { ok: false, reason: `file of ${bytes} bytes is over the limit of ${maxFileBytes} bytes`, bytes };
    const data = await readFile(file);
    const hash = createHash('sha256').update(data).digest('hex');
    let metadata: sharp.Metadata;
    try {
      metadata = await sharp(data, { limitInputPixels: false }).metadata();
    } catch (error) {
      return { ok: false, reason: `not a readable image: ${messageOf(error)}`, bytes };
    }
    const { format, width, height } = metadata;
    if (!format || !ACCEPTED_FORMATS.has(format)) {
      return { ok: false, reason: `unsupported format ${format ?? 'unknown'}; accepted: ${[...ACCEPTED_FORMATS].join(', ')}`, bytes };
    }
    if (!width || !height) return { ok: false, reason: 'the header declares no width or height', bytes };
    if (width * height > maxPixels) {
      return {
        ok: false,
        reason: `${width}×${height} pixels (${formatPixels(width * height)}) is over the limit of ${formatPixels(maxPixels)}; raise maxPixels to accept it`,
        bytes,
      };
    }
    const problem = options.verify === 'header' ? checkEndMarker(format, data) : await checkDecode(data, maxPixels);
    if (problem) return { ok: false, reason: problem, bytes };
    const rotated = (metadata.orientation ?? 1) >= 5;
    return { ok: true, width: rotated ? height : width, height: rotated ? width : height, format, bytes, hash };
  } catch (error) {
    return { ok: false, reason: `cannot read the file: ${messageOf(error)}`, bytes };
  }
}

async function checkDecode(data: Buffer, maxPixels: number): Promise<string | undefined> {
  try {
    // failOn 'warning' (sharp's default) turns libjpeg's "corrupt data" warnings into errors.
    await sharp(data, { failOn: 'warning', limitInputPixels: maxPixels }).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
    return undefined;
  } catch (error) {
    return `corrupt image data: ${messageOf(error)}`;
  }
}

const JPEG_EOI = Buffer.from([0xff, 0xd9]);
const PNG_IEND = Buffer.from('IEND');

/** The cheap check of `header` mode: a truncated JPEG or PNG lacks its closing marker. */
function checkEndMarker(format: string, data: Buffer): string | undefined {
  // Some encoders pad after the marker; look in the last bytes rather than at the very end.
  const tail = data.subarray(Math.max(0, data.length - 64));
  if (format === 'jpeg' && tail.indexOf(JPEG_EOI) < 0) return 'truncated JPEG: no end-of-image marker';
  if (format === 'png' && tail.indexOf(PNG_IEND) < 0) return 'truncated PNG: no IEND chunk';
  return undefined;
}

function formatPixels(pixels: number): string {
  if (pixels >= 1e9) return `${(pixels / 1e9).toFixed(1)} gigapixels`;
  return pixels >= 1e6 ? `${(pixels / 1e6).toFixed(1)} megapixels` : `${pixels.toLocaleString('en-US')} pixels`;
}
