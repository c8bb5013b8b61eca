import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../engine';

/**
 * Where Jupyter looks for data (kernelspecs in `kernels/`, prebuilt JupyterLab extensions in `labextensions/`),
 * following jupyter_core.paths: JUPYTER_PATH first, then the user's data folder, then the Python
 * environment's (`sys.prefix/share/jupyter`), then the system's.
 */

/** Where `quicksort jupyter install` writes. */
export type InstallScope = { kind: 'user' } | { kind: 'sys-prefix' } | { kind: 'prefix'; prefix: string };

export type PathOrigin = 'JUPYTER_PATH' | 'user' | 'sys-prefix' | 'system';

export interface JupyterEnvironment {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  home: string;
}

export function currentEnvironment(): JupyterEnvironment {
  return { env: process.env, platform: process.platform, home: os.homedir() };
}

/** jupyter_core's jupyter_data_dir(): JUPYTER_DATA_DIR, else the platform's per-user folder. */
export function userDataDir({ env, platform, home }: JupyterEnvironment = currentEnvironment()): string {
  if (env.JUPYTER_DATA_DIR) return path.resolve(env.JUPYTER_DATA_DIR);
  if (platform === 'darwin') return path.join(home, 'Library', 'Jupyter');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'jupyter');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'jupyter');
}

/** The system folders (jupyter_core's SYSTEM_JUPYTER_PATH). */
export function systemDataDirs({ env, platform }: JupyterEnvironment = currentEnvironment()): string[] {
  if (platform === 'win32') return [path.join(env.PROGRAMDATA ?? 'C:\\ProgramData', 'jupyter')];
  return ['/usr/local/share/jupyter', '/usr/share/jupyter'];
}

/**
 * The prefix of the Python environment Jupyter runs in (its `sys.prefix`): an active virtualenv or conda
 * environment, else the interpreter of the `jupyter` command on PATH, asked directly.
 * @throws InvalidArgumentError when there is no Jupyter to ask.
 */
export function sysPrefix(environment: JupyterEnvironment = currentEnvironment()): string {
  const { env } = environment;
  if (env.VIRTUAL_ENV) return path.resolve(env.VIRTUAL_ENV);
  if (env.CONDA_PREFIX) return path.resolve(env.CONDA_PREFIX);
  const jupyter = findOnPath('jupyter', environment);
  const python = jupyter ? interpreterOf(jupyter) : undefined;
  if (python) {
    const result = spawnSync(python, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8', env });
    const prefix = result.status === 0 ? result.stdout.trim() : '';
    if (prefix) return prefix;
  }
  throw new InvalidArgumentError(
    '--sys-prefix needs the Python environment Jupyter runs in, but no virtualenv or conda environment is active and no `jupyter` command was found on PATH; use --user or --prefix PATH',
  );
}

/** The data folder of an install scope (`<prefix>/share/jupyter` for prefixes). */
export function dataDirFor(scope: InstallScope, environment: JupyterEnvironment = currentEnvironment()): string {
  switch (scope.kind) {
    case 'user':
      return userDataDir(environment);
    case 'sys-prefix':
      return path.join(sysPrefix(environment), 'share', 'jupyter');
    case 'prefix':
      if (!scope.prefix) throw new InvalidArgumentError('--prefix needs a folder, such as --prefix /opt/jupyter');
      return path.join(path.resolve(scope.prefix), 'share', 'jupyter');
  }
}

/** Jupyter's data search path in order, each with where it comes from; the sys-prefix entry when it can be found. */
export function dataSearchPath(environment: JupyterEnvironment = currentEnvironment()): { dir: string; origin: PathOrigin }[] {
  const entries: { dir: string; origin: PathOrigin }[] = [];
  const jupyterPath = environment.env.JUPYTER_PATH;
  if (jupyterPath) {
    for (const dir of jupyterPath.split(path.delimiter).filter(Boolean)) entries.push({ dir: path.resolve(dir), origin: 'JUPYTER_PATH' });
  }
  entries.push({ dir: userDataDir(environment), origin: 'user' });
  try {
    entries.push({ dir: path.join(sysPrefix(environment), 'share', 'jupyter'), origin: 'sys-prefix' });
  } catch {
    // No Jupyter environment to ask: that entry does not exist here.
  }
  for (const dir of systemDataDirs(environment)) entries.push({ dir, origin: 'system' });
  const seen = new Set<string>();
  return entries.filter((entry) => !seen.has(entry.dir) && seen.add(entry.dir));
}

function findOnPath(command: string, { env, platform }: JupyterEnvironment): string | undefined {
  const names = platform === 'win32' ? [`${command}.exe`, `${command}.cmd`] : [command];
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of names) {
      const file = path.join(dir, name);
      if (existsSync(file)) return file;
    }
  }
  return undefined;
}

/** The Python interpreter a console script runs with, from its `#!` line. */
function interpreterOf(script: string): string | undefined {
  try {
    const firstLine = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
    const match = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(firstLine);
    if (!match) return undefined;
    // `#!/usr/bin/env python3` names the interpreter in its argument.
    return path.basename(match[1]!) === 'env' ? match[2] : match[1];
  } catch {
    return undefined;
  }
}
