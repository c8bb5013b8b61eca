import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The hook for the JupyterLab front-end extension (built by the widget issue, not yet here). Contract: the
 * widget build writes a prebuilt (federated) extension to `widget/labextension/` — its package.json names
 * the extension and carries `jupyterlab._build`, as @jupyter/builder writes it — and `quicksort jupyter
 * install` copies that folder to `<data dir>/labextensions/<name>/`, where JupyterLab (and
 * jupyterlab_server's get_federated_extensions) finds prebuilt extensions.
 */
export const LAB_EXTENSION_BUILD = path.join('widget', 'labextension');

export interface LabExtension {
  /** The npm name, such as `@quicksort/widget`; also its folder under `labextensions/`. */
  name: string;
  /** The built folder to copy. */
  dir: string;
}

/** The built extension of the package, or why there is none. */
export function findLabExtension(packageRoot: string, dir = path.join(packageRoot, LAB_EXTENSION_BUILD)): LabExtension | { missing: string } {
  const manifest = path.join(dir, 'package.json');
  if (!existsSync(manifest)) return { missing: `no prebuilt JupyterLab extension at ${dir} (the widget build writes it there)` };
  try {
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; jupyterlab?: { _build?: unknown } };
    if (typeof json.name !== 'string' || json.name === '') return { missing: `${manifest} has no name` };
    if (!json.jupyterlab?._build) return { missing: `${manifest} has no jupyterlab._build: it is not a built extension (run the widget build)` };
    return { name: json.name, dir };
  } catch {
    return { missing: `${manifest} is not valid JSON` };
  }
}
