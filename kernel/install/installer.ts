import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../engine';
import { packageInfo } from '../host/package-root';
import { currentEnvironment, dataDirFor, dataSearchPath, type InstallScope, type JupyterEnvironment, type PathOrigin } from './jupyter-paths';
import { DISPLAY_NAME, KERNEL_NAME, kernelSpec, LOGO_SVG, type KernelSpec } from './kernelspec';
import { checkLabEnvironment, findLabExtension, type LabEnvironment, type LabExtension } from './lab-extension';

/** The file, in the kernelspec folder, that lists what install wrote, so uninstall removes exactly that. */
export const INSTALL_RECORD = 'quicksort-install.json';

interface InstallRecord {
  version: string;
  installedAt: string;
  /** Files written, absolute. */
  files: string[];
  /** Folders created (that did not exist before), outermost first. */
  folders: string[];
  labExtension?: { name: string; dir: string };
}

export interface InstallOptions {
  scope: InstallScope;
  environment?: JupyterEnvironment;
  /** The Node that runs the kernel; this one by default. */
  node?: string;
  /** Where the built JupyterLab extension is; by default `jupyterlab/labextension` of the package. */
  labExtensionDir?: string;
  /** Replace a JupyterLab extension of the same name that quicksort did not install (`--force`). */
  force?: boolean;
}

export interface InstallReport {
  dataDir: string;
  kernelDir: string;
  kernelSpec: KernelSpec;
  files: string[];
  /** The installed extension, or why none was. */
  labExtension: { name: string; dir: string } | { missing: string };
}

/**
 * Writes the kernelspec (and the JupyterLab extension, once built) into the data folder of `scope`.
 * Installing again replaces the previous install of the same scope.
 *
 * @example
 * install({ scope: { kind: 'user' } }).kernelDir; // ~/.local/share/jupyter/kernels/quicksort
 */
export function install(options: InstallOptions): InstallReport {
  const environment = options.environment ?? currentEnvironment();
  const dataDir = dataDirFor(options.scope, environment);
  const kernelDir = path.join(dataDir, 'kernels', KERNEL_NAME);
  const previous = readRecord(kernelDir);
  if (!previous && existsSync(path.join(kernelDir, 'kernel.json'))) {
    throw new InvalidArgumentError(`a kernelspec ${KERNEL_NAME} that quicksort did not write is already at ${kernelDir}; remove it (jupyter kernelspec remove ${KERNEL_NAME}) or install to another place`);
  }
  // Refuse before writing anything: a refused install must not leave a kernelspec without its record.
  const found = findLabExtension(packageInfo().root, options.labExtensionDir);
  const labTarget = 'name' in found ? path.join(dataDir, 'labextensions', ...found.name.split('/')) : undefined;
  const foreignExtension = (dir: string) => existsSync(dir) && !previous?.labExtension;
  if (labTarget && foreignExtension(labTarget) && !options.force) {
    throw new InvalidArgumentError(`a JupyterLab extension ${(found as LabExtension).name} that quicksort did not install is already at ${labTarget}; remove it, install to another place, or pass --force to replace it`);
  }
  if (previous) removeRecorded(kernelDir, previous);

  const { root, version } = packageInfo();
  const record: InstallRecord = { version, installedAt: new Date().toISOString(), files: [], folders: [] };
  const folder = (dir: string) => record.folders.push(...makeFolders(dir));
  const write = (file: string, content: string | Buffer) => {
    folder(path.dirname(file));
    writeFileSync(file, content);
    record.files.push(file);
  };

  const spec = kernelSpec(root, version, options.node);
  write(path.join(kernelDir, 'kernel.json'), `${JSON.stringify(spec, null, 2)}\n`);
  write(path.join(kernelDir, 'logo-svg.svg'), LOGO_SVG);

  let labExtension: InstallReport['labExtension'] = found;
  if ('name' in found && labTarget) {
    const target = labTarget;
    // What is still there after removing our previous install is someone else's (checked above: --force).
    if (existsSync(target)) rmSync(target, { recursive: true, force: true });
    copyTree(found.dir, target, write, folder);
    record.labExtension = { name: found.name, dir: target };
    labExtension = { name: found.name, dir: target };
  }

  writeFileSync(path.join(kernelDir, INSTALL_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  return { dataDir, kernelDir, kernelSpec: spec, files: [...record.files, path.join(kernelDir, INSTALL_RECORD)], labExtension };
}

export interface UninstallReport {
  kernelDir: string;
  /** Files and folders removed; empty when nothing was installed there. */
  removed: string[];
}

/** Removes what {@link install} wrote for `scope`, and nothing else. */
export function uninstall(options: { scope: InstallScope; environment?: JupyterEnvironment }): UninstallReport {
  const dataDir = dataDirFor(options.scope, options.environment ?? currentEnvironment());
  const kernelDir = path.join(dataDir, 'kernels', KERNEL_NAME);
  const record = readRecord(kernelDir);
  if (!record) {
    if (existsSync(path.join(kernelDir, 'kernel.json'))) {
      throw new InvalidArgumentError(`the kernelspec at ${kernelDir} was not written by quicksort jupyter install (no ${INSTALL_RECORD}); remove it with jupyter kernelspec remove ${KERNEL_NAME}`);
    }
    return { kernelDir, removed: [] };
  }
  return { kernelDir, removed: removeRecorded(kernelDir, record) };
}

export interface KernelSpecStatus {
  dir: string;
  origin: PathOrigin;
  displayName: string;
  argv: string[];
  /** Whether the Node and the kernel script named by argv exist. */
  runnable: boolean;
  /** Set when quicksort jupyter install wrote it. */
  installedBy?: { version: string; installedAt: string };
  labExtension?: { name: string; dir: string };
}

export interface StatusReport {
  kernelName: string;
  displayName: string;
  /** Every QuickSort kernelspec on Jupyter's search path, in search order. */
  kernelSpecs: KernelSpecStatus[];
  /** The one Jupyter uses: the first. */
  active?: KernelSpecStatus;
  /** The JupyterLab extension of this package: built or not. */
  labExtension: LabExtension | { missing: string };
  /** Where Jupyter looks, in order. */
  searchPath: { dir: string; origin: PathOrigin }[];
  /** What JupyterLab on this path will find for the labeling widget, and what is missing (with the fix). */
  lab: LabEnvironment;
}

/** What is installed where. */
export function status(options: { environment?: JupyterEnvironment; labExtensionDir?: string } = {}): StatusReport {
  const searchPath = dataSearchPath(options.environment ?? currentEnvironment());
  const kernelSpecs: KernelSpecStatus[] = [];
  for (const { dir, origin } of searchPath) {
    const kernelDir = path.join(dir, 'kernels', KERNEL_NAME);
    const spec = readJson<Partial<KernelSpec>>(path.join(kernelDir, 'kernel.json'));
    if (!spec) continue;
    const argv = Array.isArray(spec.argv) ? spec.argv.map(String) : [];
    const record = readRecord(kernelDir);
    kernelSpecs.push({
      dir: kernelDir,
      origin,
      displayName: String(spec.display_name ?? ''),
      argv,
      runnable: argv.length >= 2 && isFile(argv[0]!) && isFile(argv[1]!),
      ...(record ? { installedBy: { version: record.version, installedAt: record.installedAt } } : {}),
      ...(record?.labExtension ? { labExtension: record.labExtension } : {}),
    });
  }
  const labExtension = findLabExtension(packageInfo().root, options.labExtensionDir);
  return {
    kernelName: KERNEL_NAME,
    displayName: DISPLAY_NAME,
    kernelSpecs,
    active: kernelSpecs[0],
    labExtension,
    searchPath,
    lab: checkLabEnvironment(searchPath.map((entry) => entry.dir), labExtension, (options.environment ?? currentEnvironment()).env),
  };
}

function readRecord(kernelDir: string): InstallRecord | undefined {
  const record = readJson<InstallRecord>(path.join(kernelDir, INSTALL_RECORD));
  return record && Array.isArray(record.files) && Array.isArray(record.folders) ? record : undefined;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Creates `dir` and its missing parents; returns those it created, outermost first. */
function makeFolders(dir: string): string[] {
  const missing: string[] = [];
  for (let current = dir; !existsSync(current); current = path.dirname(current)) {
    missing.unshift(current);
    if (path.dirname(current) === current) break;
  }
  if (missing.length > 0) mkdirSync(dir, { recursive: true });
  return missing;
}

function copyTree(from: string, to: string, write: (file: string, content: Buffer) => void, folder: (dir: string) => void): void {
  folder(to);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(source, target, write, folder);
    else if (entry.isFile()) write(target, readFileSync(source));
  }
}

/** Removes the recorded files, then the recorded folders that are empty (innermost first), then the record. */
function removeRecorded(kernelDir: string, record: InstallRecord): string[] {
  const removed: string[] = [];
  for (const file of record.files) {
    if (existsSync(file)) {
      rmSync(file, { force: true });
      removed.push(file);
    }
  }
  const recordFile = path.join(kernelDir, INSTALL_RECORD);
  if (existsSync(recordFile)) {
    rmSync(recordFile);
    removed.push(recordFile);
  }
  for (const folder of [...new Set(record.folders)].sort((a, b) => b.length - a.length)) {
    if (existsSync(folder) && readdirSync(folder).length === 0) {
      rmdirSync(folder);
      removed.push(folder);
    }
  }
  return removed;
}
