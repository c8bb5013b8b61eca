import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { messageOf } from '../errors';
import { IMAGE_EXTENSIONS } from './formats';

export type WalkEntry =
  | { kind: 'file'; uri: string; file: string; bytes: number; mtimeMs: number }
  | { kind: 'refused'; uri: string; reason: string };

/**
 * Yields the image files under `root`, depth first in name order, with paths relative to it. Hidden entries
 * (the `.quicksort` folder among them) are passed over. A symbolic link is followed only when it points to
 * a file inside the root; one that leads outside is refused with a reason, and linked folders are not
 * entered (no loops, no escapes).
 */
export async function* walkImages(root: string): AsyncGenerator<WalkEntry> {
  const realRoot = await realpath(root);
  yield* walkFolder(realRoot, realRoot, '');
}

async function* walkFolder(realRoot: string, folder: string, prefix: string): AsyncGenerator<WalkEntry> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    yield { kind: 'refused', uri: prefix || '.', reason: `cannot read the folder: ${messageOf(error)}` };
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const uri = prefix ? `${prefix}/${entry.name}` : entry.name;
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) {
      yield* walkFolder(realRoot, file, uri);
      continue;
    }
    const isImageName = IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase());
    if (!isImageName) continue;
    if (entry.isSymbolicLink()) {
      const target = await realpath(file).catch(() => undefined);
      if (!target) {
        yield { kind: 'refused', uri, reason: 'broken symbolic link' };
        continue;
      }
      if (!isInside(realRoot, target)) {
        yield { kind: 'refused', uri, reason: `symbolic link points outside the dataset folder (to ${target}); not followed` };
        continue;
      }
    } else if (!entry.isFile()) continue;
    try {
      const info = await stat(file);
      if (!info.isFile()) continue;
      yield { kind: 'file', uri, file, bytes: info.size, mtimeMs: info.mtimeMs };
    } catch (error) {
      yield { kind: 'refused', uri, reason: `cannot stat the file: ${messageOf(error)}` };
    }
  }
}

/** True when `target` (a real path) is `root` or lies below it. */
export function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
