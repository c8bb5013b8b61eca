import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The hook for the JupyterLab front-end extension (jupyterlab/, issue 9). Contract: the extension build
 * (jupyterlab/scripts/build-extension.js) writes a prebuilt (federated) extension to `jupyterlab/labextension/`,
 * shipped in the package — its package.json names
 * the extension and carries `jupyterlab._build`, as @jupyter/builder writes it — and `quicksort jupyter
 * install` copies that folder to `<data dir>/labextensions/<name>/`, where JupyterLab (and
 * jupyterlab_server's get_federated_extensions) finds prebuilt extensions.
 */
export const LAB_EXTENSION_BUILD = path.join('jupyterlab', 'labextension');

export interface LabExtension {
  /** The npm name, such as `@quicksort/widget`; also its folder under `labextensions/`. */
  name: string;
  /** The built folder to copy. */
  dir: string;
}

/** The built extension of the package, or why there is none. */
export function findLabExtension(packageRoot: string, dir = path.join(packageRoot, LAB_EXTENSION_BUILD)): LabExtension | { missing: string } {
  const manifest = path.join(dir, 'package.json');
  if (!existsSync(manifest)) return { missing: `no prebuilt JupyterLab extension at ${dir} (node jupyterlab/scripts/build-extension.js writes it there)` };
  try {
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; jupyterlab?: { _build?: unknown } };
    if (typeof json.name !== 'string' || json.name === '') return { missing: `${manifest} has no name` };
    if (!json.jupyterlab?._build) return { missing: `${manifest} has no jupyterlab._build: it is not a built extension (run node jupyterlab/scripts/build-extension.js)` };
    return { name: json.name, dir };
  } catch {
    return { missing: `${manifest} is not valid JSON` };
  }
}

/** The npm names JupyterLab's labextensions folders hold for the pieces the labeling widget needs. */
const WIDGET_MANAGER = '@jupyter-widgets/jupyterlab-manager';
const ANYWIDGET = 'anywidget';

export interface FoundPackage {
  name: string;
  version: string;
  dir: string;
  /** The data folder it was found in (a Jupyter search path entry), or JUPYTERLAB_DIR. */
  dataDir: string;
}

export interface LabCheck {
  /** What JupyterLab will find (the first on the search path), if anything. */
  found?: FoundPackage;
  /** Other copies further down the search path, which JupyterLab ignores. */
  shadowed: FoundPackage[];
  ok: boolean;
  /** Why not, and the command that fixes it. */
  problem?: string;
}

export interface LabEnvironment {
  /** JupyterLab 4 itself: its application folder (`<data dir>/lab/static/package.json`, or JUPYTERLAB_DIR). */
  jupyterLab: LabCheck;
  /** The widget manager (`pip install jupyterlab_widgets`), which provides IJupyterWidgetRegistry. */
  widgetManager: LabCheck;
  /** Our extension, as JupyterLab will load it. */
  extension: LabCheck;
  /** anywidget's front end, needed only for `frontEnd: "anywidget"`. */
  anywidget: LabCheck;
}

function readPackage(file: string): { name?: string; version?: string; jupyterlab?: { _build?: { load?: string } } } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every copy of a prebuilt extension on the search path, in the order JupyterLab looks (first wins). */
function findExtension(name: string, dataDirs: readonly string[]): FoundPackage[] {
  const found: FoundPackage[] = [];
  for (const dataDir of dataDirs) {
    const dir = path.join(dataDir, 'labextensions', ...name.split('/'));
    const json = readPackage(path.join(dir, 'package.json'));
    // jupyterlab_server's get_federated_extensions skips folders whose package.json has no jupyterlab._build.
    if (json?.name === name && json.jupyterlab?._build) found.push({ name, version: json.version ?? '?', dir, dataDir });
  }
  return found;
}

function majorOf(version: string): number {
  return Number.parseInt(version, 10);
}

/**
 * What JupyterLab on this search path will find for the labeling widget, and what is missing with the
 * command that fixes it. `built` is this package's built extension, to tell an installed copy that is stale.
 */
export function checkLabEnvironment(dataDirs: readonly string[], built: LabExtension | { missing: string }, env: NodeJS.ProcessEnv = process.env): LabEnvironment {
  // jupyterlab's get_app_dir: JUPYTERLAB_DIR, else <sys.prefix>/share/jupyter/lab (a data dir of the path).
  const appDirs = [...(env.JUPYTERLAB_DIR ? [{ dir: path.resolve(env.JUPYTERLAB_DIR), dataDir: path.resolve(env.JUPYTERLAB_DIR) }] : []), ...dataDirs.map((dataDir) => ({ dir: path.join(dataDir, 'lab'), dataDir }))];
  const labs: FoundPackage[] = [];
  for (const { dir, dataDir } of appDirs) {
    const json = readPackage(path.join(dir, 'static', 'package.json'));
    if (json?.version) labs.push({ name: 'jupyterlab', version: json.version, dir, dataDir });
  }
  const lab = labs[0];
  const jupyterLab: LabCheck = {
    found: lab,
    shadowed: labs.slice(1),
    ok: lab !== undefined && majorOf(lab.version) === 4,
    ...(lab === undefined
      ? { problem: "no JupyterLab application folder found (lab/static/package.json) on Jupyter's path: install JupyterLab 4 with `pip install 'jupyterlab>=4,<5'`" }
      : majorOf(lab.version) !== 4
        ? { problem: `JupyterLab ${lab.version} at ${lab.dir}: the extension needs JupyterLab 4; run \`pip install 'jupyterlab>=4,<5'\`` }
        : {}),
  };

  const managers = findExtension(WIDGET_MANAGER, dataDirs);
  const manager = managers[0];
  const widgetManager: LabCheck = {
    found: manager,
    shadowed: managers.slice(1),
    ok: manager !== undefined && majorOf(manager.version) === 5,
    ...(manager === undefined
      ? { problem: `the Jupyter widget manager (${WIDGET_MANAGER}) is not installed: run \`pip install 'jupyterlab_widgets>=3'\`` }
      : majorOf(manager.version) !== 5
        ? { problem: `${WIDGET_MANAGER} ${manager.version} at ${manager.dir} is not the JupyterLab 4 one (5.x): run \`pip install 'jupyterlab_widgets>=3'\`` }
        : {}),
  };

  const copies = findExtension('name' in built ? built.name : '@quicksort/jupyterlab', dataDirs);
  const active = copies[0];
  let stale: string | undefined;
  if (active && 'name' in built) {
    const load = (dir: string) => readPackage(path.join(dir, 'package.json'))?.jupyterlab?._build?.load;
    if (load(active.dir) !== load(built.dir)) stale = `the extension at ${active.dir} is not this package's build (${built.dir}): run \`npx quicksort jupyter install\` again`;
  }
  const extension: LabCheck = {
    found: active,
    shadowed: copies.slice(1),
    ok: active !== undefined && stale === undefined,
    ...(active === undefined ? { problem: 'the QuickSort JupyterLab extension is not installed: run `npx quicksort jupyter install`' } : stale ? { problem: stale } : {}),
  };

  const anywidgets = findExtension(ANYWIDGET, dataDirs);
  const anywidget: LabCheck = {
    found: anywidgets[0],
    shadowed: anywidgets.slice(1),
    ok: anywidgets[0] !== undefined,
    ...(anywidgets[0] === undefined ? { problem: 'anywidget is not installed (needed only for frontEnd: "anywidget"): `pip install anywidget`' } : {}),
  };
  return { jupyterLab, widgetManager, extension, anywidget };
}
