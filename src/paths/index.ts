import path from 'node:path';

/**
 * Whether `file` is `folder` itself or lies below it; both absolute, and resolved alike (both real paths,
 * or both as given). Judged by path segments, so a child named `..x` is inside and `../x` is not. A caller
 * that wants strictly below also checks `file !== folder`.
 *
 * @example
 * isWithinFolder('/data/photos', '/data/photos/..x.jpg'); // true
 * isWithinFolder('/data/photos', '/data/photos-old/a.jpg'); // false
 */
export function isWithinFolder(folder: string, file: string): boolean {
  const relative = path.relative(folder, file);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}
