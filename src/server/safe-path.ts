import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isWithinFolder } from '../paths';

/** Image types served from the dataset folder; nothing else is (not the store, not other files). */
export const IMAGE_TYPES: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
};

/** A request for a file that is refused, with the HTTP status and the reason to send back. */
export class PathRefused extends Error {
  constructor(
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'PathRefused';
  }
}

/**
 * The file a URL path names inside `root`, or a PathRefused. `rawPath` is the path as it came on the wire,
 * still percent-encoded, so each check sees what the client really sent:
 *
 * 1. encoded separators (`%2f`, `%5c`), NUL and backslashes are refused before decoding, so no segment can
 *    smuggle a separator past the split;
 * 2. each segment is decoded once, and empty, `.`, `..` (also spelled `%2e%2e`) and hidden (`.quicksort`)
 *    segments are refused;
 * 3. only image types are served;
 * 4. the joined path must lie inside the folder, and so must its real path after symlinks are followed, with
 *    no hidden segment in it either (a link to the store named like an image).
 */
export async function resolveInside(root: string, rawPath: string): Promise<{ file: string; type: string; bytes: number }> {
  if (/%2f|%5c|%00/i.test(rawPath) || rawPath.includes('\\') || rawPath.includes('\0')) {
    throw new PathRefused(400, 'encoded slashes, backslashes and NUL bytes are not allowed in a file path');
  }
  let segments: string[];
  try {
    segments = rawPath.split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    throw new PathRefused(400, 'the file path is not valid percent-encoding');
  }
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new PathRefused(400, 'empty, "." and ".." path segments are not allowed');
  }
  if (segments.some((segment) => segment.startsWith('.'))) throw new PathRefused(403, 'hidden files and folders (like .quicksort) are not served');
  const type = IMAGE_TYPES[path.extname(segments[segments.length - 1]!).toLowerCase()];
  if (!type) throw new PathRefused(403, `only image files are served (${Object.keys(IMAGE_TYPES).join(', ')})`);

  const candidate = path.resolve(root, ...segments);
  if (!isWithinFolder(root, candidate)) throw new PathRefused(403, 'the path leads outside the dataset folder');
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(candidate), realpath(root)]);
  } catch {
    throw new PathRefused(404, 'no such file in the dataset folder');
  }
  // A link to the folder itself is no file in it, and is refused like one that leads out.
  if (real === realRoot || !isWithinFolder(realRoot, real)) throw new PathRefused(403, 'the path leads outside the dataset folder (through a symbolic link)');
  // A link inside the folder may still lead into its hidden state (the store behind a name like store.jpg).
  if (path.relative(realRoot, real).split(path.sep).some((segment) => segment.startsWith('.'))) {
    throw new PathRefused(403, 'hidden files and folders (like .quicksort) are not served, not even through a symbolic link');
  }
  const info = await stat(real);
  if (!info.isFile()) throw new PathRefused(404, 'no such file in the dataset folder');
  return { file: real, type, bytes: info.size };
}
