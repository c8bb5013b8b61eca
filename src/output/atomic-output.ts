import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExportError, InvalidArgumentError, messageOf } from '../errors';

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
   * folders, and creates the temporary file or folder (the real test that the folder is writable, which
   * holds for root too).
   */
  static async prepare(
    out: string,
    target: 'file' | 'folder',
    options: { force?: boolean; replaceable?: (name: string) => boolean } = {},
  ): Promise<AtomicOutput> {
    if (typeof out !== 'string' || out.trim() === '') throw new InvalidArgumentError('the output path (--out) is empty; name a file or folder to write');
    const finalPath = path.resolve(out);
    const existing = await lstat(finalPath).catch(() => undefined);
    if (existing) {
      const isFolder = existing.isDirectory();
      if (target === 'file' && isFolder) {
        throw new ExportError(`${finalPath} is a folder, and this format writes one file; name a file path with --out`);
      }
      if (target === 'folder' && !isFolder) {
        throw new ExportError(`${finalPath} is a file, and this format writes a folder of shards; name a folder with --out`);
      }
      if (!options.force) {
        throw new ExportError(`${finalPath} already exists; pass --force (force: true) to replace it, or choose another --out`);
      }
      if (isFolder) await checkReplaceable(finalPath, options.replaceable);
    }

    const parent = path.dirname(finalPath);
    try {
      await mkdir(parent, { recursive: true });
    } catch (error) {
      throw new ExportError(`cannot create the output folder ${parent}: ${describeFsError(error)}; choose another --out`, { cause: error });
    }
    const tempPath = path.join(parent, `.${path.basename(finalPath)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`);
    try {
      if (target === 'folder') await mkdir(tempPath);
      else await (await open(tempPath, 'wx')).close();
    } catch (error) {
      throw new ExportError(`cannot write in the output folder ${parent}: ${describeFsError(error)}; choose another --out`, { cause: error });
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
