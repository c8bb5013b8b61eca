import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '../errors';

/** Links followed before a path is called a loop (Linux's own limit, MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * Where a write to `file` would land: symlinks resolved all the way, also for a path that does not exist
 * yet (the real path of its deepest existing folder, then the rest) and for a link that points at nothing
 * (a write through it creates its target).
 *
 * @example
 * await realPathOf('out/labels.arrow'); // '/data/photos/.quicksort/labels.arrow' when out -> photos/.quicksort
 */
export async function realPathOf(file: string): Promise<string> {
  return resolve(path.resolve(file), 0);
}

async function resolve(file: string, links: number): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    // does not exist (or is a dangling link): resolve what does
  }
  const parent = path.dirname(file);
  if (parent === file) return file;
  const realParent = await resolve(parent, links);
  const here = path.join(realParent, path.basename(file));
  const info = await lstat(here).catch(() => undefined);
  if (!info?.isSymbolicLink()) return here;
  if (links >= MAX_LINKS) throw new InvalidArgumentError(`${file} is a loop of symbolic links; choose another output path`);
  return resolve(path.resolve(realParent, await readlink(here)), links + 1);
}
