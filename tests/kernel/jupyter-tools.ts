import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Debian's Python and Jupyter (DESIGN.md: the `python3` first on PATH cannot see Debian's modules). */
export const PYTHON = '/usr/bin/python3';
export const JUPYTER = '/usr/bin/jupyter';

/** Fails with what to install when Debian's Jupyter tools are missing (.ci/run installs them). */
export function requireJupyterTools(): void {
  if (!existsSync(JUPYTER) || !existsSync(PYTHON)) {
    throw new Error(`${JUPYTER} is missing: install Debian's jupyter-nbconvert, jupyter-client and jupyter-core (apt-get install jupyter-nbconvert jupyter-client), as .ci/run does`);
  }
}

/**
 * A private Jupyter home: JUPYTER_PATH, JUPYTER_DATA_DIR, JUPYTER_CONFIG_DIR and JUPYTER_RUNTIME_DIR in a
 * temporary folder, so kernelspecs elsewhere on the machine do not interfere.
 */
export function jupyterHome(): { root: string; prefix: string; env: NodeJS.ProcessEnv; cleanup: () => void } {
  const root = mkdtempSync(path.join(tmpdir(), 'quicksort-jupyter-home-'));
  const prefix = path.join(root, 'prefix');
  const dirs = { JUPYTER_DATA_DIR: path.join(root, 'data'), JUPYTER_CONFIG_DIR: path.join(root, 'config'), JUPYTER_RUNTIME_DIR: path.join(root, 'runtime') };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const env = { ...process.env, ...dirs, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTER_PLATFORM_DIRS: '0', PYTHONWARNINGS: 'ignore' };
  return { root, prefix, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
