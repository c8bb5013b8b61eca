import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { ImageError, messageOf } from '../errors';
import type { PromptImage } from './types';

/** JPEG quality of prompt images: small on the wire, and no artefacts a model would notice at 448 px. */
const PROMPT_JPEG_QUALITY = 85;

/**
 * An image scaled to fit `maxSide` pixels on its longer side (never enlarged), upright (EXIF orientation
 * applied), flattened onto white (JPEG has no alpha) and encoded as a JPEG, ready for a prompt. Runs in sharp's
 * thread pool, off the caller's thread. The caller may cache the result: a prompt image is the same for every
 * request that shows it.
 *
 * A file that cannot be read or decoded is an ImageError naming the file.
 */
export async function promptImage(bytesOrPath: Uint8Array | string, maxSide: number): Promise<PromptImage> {
  if (!Number.isInteger(maxSide) || maxSide < 1) throw new ImageError(`maxSide must be a positive integer (got ${maxSide})`);
  const file = typeof bytesOrPath === 'string' ? bytesOrPath : undefined;
  const what = file ?? 'the image bytes';
  let bytes: Uint8Array;
  try {
    bytes = file !== undefined ? await readFile(file) : (bytesOrPath as Uint8Array);
  } catch (error) {
    throw new ImageError(`${what} cannot be read for a VLM prompt: ${messageOf(error)}`, file, { cause: error });
  }
  try {
    const out = await sharp(bytes)
      .rotate()
      .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: PROMPT_JPEG_QUALITY })
      .toBuffer();
    return { mime: 'image/jpeg', data: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
  } catch (error) {
    throw new ImageError(`${what} cannot be decoded for a VLM prompt: ${messageOf(error)}`, file, { cause: error });
  }
}
