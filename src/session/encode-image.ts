import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { messageOf, NotFoundError } from '../errors';
import type { EncodedImage } from './image-cache';

/**
 * Reads and resizes an image file into a JPEG no larger than `size` on its longer side, upright (EXIF
 * orientation applied). Runs in sharp's thread pool: the labeling thread only waits for the result.
 * A file that cannot be read or decoded is a NotFoundError whose message the person sees (no server paths).
 */
export async function encodeImage(file: string, size: number, what: string): Promise<EncodedImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    // The person sees this: say what happened in words, not the server's path and errno.
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the file is gone from the dataset folder since the ingest' : code === 'EACCES' || code === 'EPERM' ? 'the file is not readable (permissions)' : messageOf(error);
    throw new NotFoundError(`${what} cannot be read: ${why}`);
  }
  try {
    // Keep THUMBNAIL_ENCODING (thumbnail-cache.ts) in step with these settings.
    const out = await sharp(bytes).rotate().resize(size, size, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 85 }).toBuffer({ resolveWithObject: true });
    return { bytes: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength), mime: 'image/jpeg', width: out.info.width, height: out.info.height };
  } catch (error) {
    throw new NotFoundError(`${what} cannot be decoded: ${messageOf(error)}`);
  }
}
