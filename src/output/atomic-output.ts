import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExportError, InvalidArgumentError, messageOf } from '../errors';

export interface PrepareOptions {
  /** Replace an existing output (default: refuse it). */
  force?: boolean;
  /** For a folder: the names `force` may replace; a folder holding anything else is refused. */
  replaceable?: (name: string) => boolean;
  /** The flag that named the output, for messages (default `--out`). */
  flag?: string;
}

/**
 * An output written under a temporary name in its own folder and renamed into place when complete, so a
 * reader never sees half a file, and a failed export leaves nothing behind. No fsync: an export is derived
 * data that can be written again, and the rename already keeps partial files away from readers.
 *
 * @example
 * const output = await AtomicOutput.prepare('labels.arrow', 'file', { force: false });
 * try { await writeTo(output.tempPath); await output.commit(); } catch (e) { await output.discard(); throw e; }
 */
export class AtomicOutput {
  private settled = false;

  private constructor(
    readonly finalPath: string,
    readonly tempPath: string,
    readonly target: 'file' | 'folder',
  ) {}

  /**
   * Checks the output before any work: refuses an existing output unless `force`, creates the parent
   * folders, removes the temporaries of killed exports of the same output, and creates the temporary file or
   * folder (the real test that the folder is writable, which holds for root too). Whether the output may be
   * written at all (not onto the dataset) is the caller's check, with `ProtectedPaths` (./protected-paths).
   */
  static async prepare(out: string, target: 'file' | 'folder', options: PrepareOptions = {}): Promise<AtomicOutput> {
    const flag = options.flag ?? '--out';
    if (typeof out !== 'string' || out.trim() === '') throw new InvalidArgumentError(`the output path (${flag}) is empty; name a file or folder to write`);
    const finalPath = path.resolve(out);
    const existing = await lstat(finalPath).catch(() => undefined);
    if (existing) {
      const isFolder = existing.isDirectory();
      if (target === 'file' && isFolder) {
        throw new ExportError(`${finalPath} is a folder, and this format writes one file; name a file path with ${flag}`);
      }
      if (target === 'folder' && !isFolder) {
        throw new ExportError(`${finalPath} is a file, and this format writes a folder of shards; name a folder with ${flag}`);
      }
      if (!options.force) {
        throw new ExportError(`${finalPath} already exists; pass --force (force: true) to replace it, or choose another ${flag}`);
      }
      if (isFolder) await checkReplaceable(finalPath, options.replaceable);
    }

    const parent = path.dirname(finalPath);
    try {
      await mkdir(parent, { recursive: true });
    } catch (error) {
      throw new ExportError(`cannot create the output folder ${parent}: ${describeFsError(error)}; choose another ${flag}`, { cause: error });
    }
    await removeStalePartials(parent, path.basename(finalPath));
    const tempPath = path.join(parent, `.${path.basename(finalPath)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`);
    try {
      if (target === 'folder') await mkdir(tempPath);
      else await (await open(tempPath, 'wx')).close();
    } catch (error) {
      throw new ExportError(`cannot write in the output folder ${parent}: ${describeFsError(error)}; choose another ${flag}`, { cause: error });
    }
    return new AtomicOutput(finalPath, tempPath, target);
  }

  /** Moves the complete output into place (replacing an old one, which `prepare` allowed). */
  async commit(): Promise<void> {
    if (this.settled) throw new Error('the output was already committed or discarded');
    try {
      if (this.target === 'file') {
        // rename(2) replaces an existing file atomically.
        await rename(this.tempPath, this.finalPath);
      } else {
        const old = await lstat(this.finalPath).catch(() => undefined);
        const trash = `${this.tempPath}.old`;
        if (old) await rename(this.finalPath, trash);
        await rename(this.tempPath, this.finalPath);
        if (old) await rm(trash, { recursive: true, force: true });
      }
      this.settled = true;
    } catch (error) {
      throw new ExportError(`cannot move the finished export into place at ${this.finalPath}: ${describeFsError(error)}`, { cause: error });
    }
  }

  /** Removes the temporary output; safe to call after a failure at any point, and more than once. */
  async discard(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await rm(this.tempPath, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The process id in a temporary name's tail: `PID-HEX.partial`, then nothing, `.old`, or a nested temporary. */
const PARTIAL_TAIL = /^(\d+)-[0-9a-f]+\.partial(?:\.|$)/;

/**
 * Removes what exports of `base` that were killed before they could clean up left in `folder` (their
 * temporary file or folder, a replaced folder not yet removed, a COCO bridge's temporary inside theirs), so
 * that no hidden copy stays for ever. Only a dead process's: another running export's is still in use.
 */
async function removeStalePartials(folder: string, base: string): Promise<void> {
  const names = await readdir(folder).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const prefix = [`.${base}.`, `..${base}.`].find((candidate) => name.startsWith(candidate));
      const pid = prefix === undefined ? undefined : PARTIAL_TAIL.exec(name.slice(prefix.length))?.[1];
      if (pid === undefined || isAlive(Number(pid))) return;
      await rm(path.join(folder, name), { recursive: true, force: true }).catch(() => undefined);
    }),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `--force` replaces a folder only when everything in it is what an export writes, so a mistyped --out
 * cannot wipe a folder of other files.
 */
async function checkReplaceable(folder: string, replaceable: ((name: string) => boolean) | undefined): Promise<void> {
  const foreign = (await readdir(folder)).filter((name) => !replaceable?.(name));
  if (foreign.length > 0) {
    throw new ExportError(
      `${folder} holds files this export did not write (${foreign.slice(0, 5).map((name) => JSON.stringify(name)).join(', ')}` +
        `${foreign.length > 5 ? `, … ${foreign.length - 5} more` : ''}), so --force will not replace it; choose an empty or new folder`,
    );
  }
}

export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return `a part of the path is a file, not a folder (${code})`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'EROFS':
      return 'the file system is read-only (EROFS)';
    case 'ENOSPC':
      return 'no space left on the device (ENOSPC)';
    case 'ENOENT':
      return 'no such file or folder (ENOENT)';
    default:
      return messageOf(error);
  }
}
