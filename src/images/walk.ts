import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { messageOf } from '../errors';
import { isWithinFolder } from '../paths';
import { IMAGE_EXTENSIONS } from './formats';

export type WalkEntry =
  | { kind: 'file'; uri: string; file: string; bytes: number; mtimeMs: number }
  | { kind: 'refused'; uri: string; reason: string };

/**
 * Yields the image files under `root`, depth first in name order, with paths relative to it. Hidden entries
 * (the `.quicksort` folder among them) are passed over. A symbolic link is followed only when it points to
 * a file inside the root; one that leads outside is refused with a reason, and linked folders are not
 * entered (no loops, no escapes). An image or folder whose name is not valid UTF-8 is refused, named with
 * `\xNN` for its bad bytes.
 */
export async function* walkImages(root: string): AsyncGenerator<WalkEntry> {
  const realRoot = await realpath(root);
  yield* walkFolder(realRoot, realRoot, '');
}

async function* walkFolder(realRoot: string, folder: string, prefix: string): AsyncGenerator<WalkEntry> {
  let entries: Dirent<Buffer>[];
  try {
    // Raw bytes: a name that is not valid UTF-8 would come back as text with U+FFFD in it, a path no file has.
    entries = await readdir(folder, { withFileTypes: true, encoding: 'buffer' });
  } catch (error) {
    yield { kind: 'refused', uri: prefix || '.', reason: `cannot read the folder: ${messageOf(error)}` };
    return;
  }
  const named = entries.map((entry) => ({ entry, name: entry.name.toString('utf8') }));
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { entry, name } of named) {
    if (name.startsWith('.')) continue;
    if (!Buffer.from(name, 'utf8').equals(entry.name)) {
      const refusal = invalidName(entry, prefix);
      if (refusal) yield refusal;
      continue;
    }
    const uri = prefix ? `${prefix}/${name}` : name;
    const file = path.join(folder, name);
    if (entry.isDirectory()) {
      yield* walkFolder(realRoot, file, uri);
      continue;
    }
    const isImageName = IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
    if (!isImageName) continue;
    if (entry.isSymbolicLink()) {
      const target = await realpath(file).catch(() => undefined);
      if (!target) {
        yield { kind: 'refused', uri, reason: 'broken symbolic link' };
        continue;
      }
      if (!isWithinFolder(realRoot, target)) {
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

/**
 * The refusal of an image or folder whose name is not valid UTF-8. Such a file cannot be stored faithfully
 * (the store keys items by their uri as text, and exports, COCO and the app all carry names as text), so it
 * is reported, with its bytes, instead of being ingested under a name that is not its own.
 */
function invalidName(entry: Dirent<Buffer>, prefix: string): WalkEntry | undefined {
  const name = nameWithByteEscapes(entry.name);
  const isFolder = entry.isDirectory();
  if (!isFolder && !IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase())) return undefined;
  const bytes = [...entry.name].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  const what = isFolder ? 'folder name' : 'file name';
  const consequence = isFolder ? '; nothing in it is ingested' : '';
  return {
    kind: 'refused',
    uri: prefix ? `${prefix}/${name}` : name,
    reason: `${what} is not valid UTF-8 (bytes ${bytes})${consequence}; rename it to a UTF-8 name (convmv does it in bulk) and ingest again`,
  };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The name as text, each byte that is not part of a valid UTF-8 sequence written `\xNN`. */
function nameWithByteEscapes(raw: Buffer): string {
  let text = '';
  for (let i = 0; i < raw.length; ) {
    const length = [1, 2, 3, 4].find((n) => i + n <= raw.length && decodes(raw.subarray(i, i + n)));
    if (length) {
      text += raw.toString('utf8', i, i + length);
      i += length;
    } else {
      text += `\\x${raw[i]!.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return text;
}

function decodes(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
