import { stat } from 'node:fs/promises';
import path from 'node:path';
import { OutputError } from '../errors';
import { isWithinFolder } from '../paths';
import { COCO_LINK_META_KEY, EMBEDDING_CACHE_FILE_NAME, STATE_FOLDER, THUMBNAIL_CACHE_FILE_NAME, type Store } from '../store';
import { VLM_CACHE_FILE_NAME } from '../vlm/vlm-cache';
import { realPathOf } from './real-path';

/** SQLite's companions of a database file: a write to one of them corrupts the database. */
const SQLITE_SIDE_FILES = ['', '-wal', '-shm', '-journal'];

/** What a dataset is, to the guard: its folder and its store. `Dataset` and an export's source have this shape. */
export interface GuardedDataset {
  readonly root: string;
  readonly store: Store;
}

export interface OutputCheckOptions {
  /** The flag that named the output, for the message (default `--out`). */
  flag?: string;
  /** File names in the state folder that this output may replace: its own default there (`map.svg`). */
  allowInState?: readonly string[];
}

interface Guarded {
  /** Real path. */
  file: string;
  what: string;
  identity?: { dev: number; ino: number };
}

/**
 * What no output may overwrite, whatever `--force` says: the store with its WAL and the state folder with
 * everything in it (embeddings, thumbnails), the dataset folder itself, every image of the dataset, and the
 * COCO file it was imported from. Paths are compared real (symlinks resolved), and an existing output also by
 * device and inode (a hard link); an image is found by one store lookup of its uri, so the check costs the
 * same at 100k images as at 10.
 *
 * @example
 * const guard = await ProtectedPaths.of(ds);
 * await guard.check('labels.arrow'); // throws OutputError for ds.root/.quicksort/quicksort.db, or a link to it
 */
export class ProtectedPaths {
  private constructor(
    private readonly store: Store,
    private readonly roots: readonly string[],
    private readonly stateFolder: string,
    private readonly files: readonly Guarded[],
  ) {}

  /** Gathers the dataset's protected paths; `also` adds files to protect (the COCO file's new place). */
  static async of(dataset: GuardedDataset, also: readonly { file: string; what: string }[] = []): Promise<ProtectedPaths> {
    const root = path.resolve(dataset.root);
    const stateFolder = await realPathOf(path.join(root, STATE_FOLDER));
    const named: { file: string; what: string }[] = [
      { file: root, what: 'the dataset folder' },
      { file: path.join(root, STATE_FOLDER), what: "the dataset's state folder" },
      ...sqliteFiles(dataset.store.file, "the dataset's store"),
      ...sqliteFiles(path.join(path.dirname(dataset.store.file), THUMBNAIL_CACHE_FILE_NAME), 'the thumbnail cache'),
      ...sqliteFiles(path.join(path.dirname(dataset.store.file), VLM_CACHE_FILE_NAME), "the VLM's answer cache"),
      ...sqliteFiles(path.join(root, STATE_FOLDER, EMBEDDING_CACHE_FILE_NAME), 'the embedding cache'),
      ...cocoFiles(dataset.store),
      ...also,
    ];
    const files = await Promise.all(
      named.map(async ({ file, what }): Promise<Guarded> => {
        const real = await realPathOf(file);
        const info = await stat(real).catch(() => undefined);
        return { file: real, what, identity: info && { dev: info.dev, ino: info.ino } };
      }),
    );
    // The folder as given and as it really is: an item's uri is relative to both.
    const roots = [...new Set([root, await realPathOf(root)])];
    return new ProtectedPaths(dataset.store, roots, stateFolder, files);
  }

  /**
   * Throws an {@link OutputError} when writing `out` (a file, or a folder of files) would overwrite or
   * replace a protected path: `out` is one, leads to one through symlinks or a hard link, lies in the state
   * folder, or is a folder holding one.
   */
  async check(out: string, options: OutputCheckOptions = {}): Promise<void> {
    const given = path.resolve(out);
    const real = await realPathOf(given);
    const refuse = (protectedPath: string, what: string): never => {
      const through = real === given ? '' : ` (which leads to ${real})`;
      throw new OutputError(
        `the output ${given}${through} would overwrite ${what}, ${protectedPath}; this is refused even with --force — choose another ${options.flag ?? '--out'}`,
        given,
        protectedPath,
      );
    };

    for (const guarded of this.files) {
      if (real === guarded.file) refuse(guarded.file, guarded.what);
      if (isWithinFolder(real, guarded.file)) refuse(guarded.file, `a folder holding ${guarded.what}`);
    }
    if (isWithinFolder(this.stateFolder, real) && !(path.dirname(real) === this.stateFolder && options.allowInState?.includes(path.basename(real)))) {
      refuse(this.stateFolder, "the dataset's state folder (its store, caches and indexes)");
    }
    const info = await stat(real).catch(() => undefined);
    if (info) {
      const same = this.files.find((guarded) => guarded.identity?.dev === info.dev && guarded.identity.ino === info.ino);
      if (same) refuse(same.file, `${same.what} (the same file, by a hard link)`);
    }
    for (const candidate of new Set([given, real])) {
      for (const root of this.roots) {
        if (!isWithinFolder(root, candidate) || candidate === root) continue;
        const uri = path.relative(root, candidate).split(path.sep).join('/');
        const item = this.store.fileState(uri);
        if (item) refuse(candidate, `the image of item ${item.id} (${uri})`);
      }
    }
  }
}

/**
 * Refuses an output that would overwrite what `dataset` is made of; see {@link ProtectedPaths}. For many
 * outputs of one dataset, build the {@link ProtectedPaths} once and call `check` on each.
 *
 * @example
 * await assertSafeOutput(flags.out, ds, { flag: '--out' });
 */
export async function assertSafeOutput(out: string, dataset: GuardedDataset, options: OutputCheckOptions = {}): Promise<void> {
  await (await ProtectedPaths.of(dataset)).check(out, options);
}

function sqliteFiles(file: string, what: string): { file: string; what: string }[] {
  return SQLITE_SIDE_FILES.map((suffix) => ({ file: `${path.resolve(file)}${suffix}`, what: suffix ? `${what}'s ${suffix.slice(1)} file` : what }));
}

/** The COCO files an import read (recorded in the store by src/coco), which its export rewrites elsewhere. */
function cocoFiles(store: Store): { file: string; what: string }[] {
  const text = store.getMeta(COCO_LINK_META_KEY);
  if (text === undefined) return [];
  let link: { source?: unknown; annotationsFile?: unknown };
  try {
    link = JSON.parse(text) as typeof link;
  } catch {
    return []; // src/coco reports a broken link where it reads it
  }
  const files: { file: string; what: string }[] = [];
  if (typeof link.source === 'string') files.push({ file: link.source, what: 'the COCO file the dataset was imported from' });
  if (typeof link.annotationsFile === 'string' && link.annotationsFile !== link.source) {
    files.push({ file: link.annotationsFile, what: 'the COCO annotations file the dataset was imported with' });
  }
  return files;
}
