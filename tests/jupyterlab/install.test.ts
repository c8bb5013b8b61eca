import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { quicksort, TOOLS } from './test-bed';

/**
 * `quicksort jupyter install|uninstall|status` for the JupyterLab extension, into temporary prefixes: the exact
 * files written and removed, a foreign extension of the same name left alone unless --force, and a status
 * that says what JupyterLab will find and what to run for what is missing.
 */

const BUILT = path.join(TOOLS, 'labextension');
const NAME = JSON.parse(readFileSync(path.join(BUILT, 'package.json'), 'utf8')).name as string;

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

function home() {
  const root = mkdtempSync(path.join(tmpdir(), 'quicksort-install-'));
  const prefix = path.join(root, 'prefix');
  const data = path.join(root, 'data');
  mkdirSync(data, { recursive: true });
  // No user or system folders of this machine in the way: JUPYTER_DATA_DIR is the user folder here.
  const env: NodeJS.ProcessEnv = { ...process.env, JUPYTER_DATA_DIR: data, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTERLAB_DIR: '' };
  delete env.VIRTUAL_ENV;
  delete env.CONDA_PREFIX;
  return { root, prefix, data, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

function run(args: string[], env: NodeJS.ProcessEnv) {
  const result = quicksort(['jupyter', ...args], env);
  return { ...result, json: result.status === 0 && args.includes('--json') ? JSON.parse(result.stdout) : undefined };
}

const kernelFiles = ['share/jupyter/kernels/quicksort/kernel.json', 'share/jupyter/kernels/quicksort/logo-svg.svg', 'share/jupyter/kernels/quicksort/quicksort-install.json'];
const extensionFiles = () => filesUnder(BUILT).map((file) => path.join('share/jupyter/labextensions', NAME, file));

describe('quicksort jupyter install/uninstall/status with the JupyterLab extension', () => {
  let h: ReturnType<typeof home>;
  beforeEach(() => (h = home()));
  afterEach(() => h.cleanup());

  it('installs the kernelspec and the prebuilt extension, and nothing else, into --prefix', () => {
    const installed = run(['install', '--prefix', h.prefix, '--json'], h.env);
    expect(installed.status).toBe(0);
    expect(installed.json.labExtension).toEqual({ name: NAME, dir: path.join(h.prefix, 'share/jupyter/labextensions', NAME) });
    expect(filesUnder(h.prefix)).toEqual([...kernelFiles, ...extensionFiles()].sort());
    // Byte for byte what the build shipped; jupyterlab._build is what JupyterLab loads it by.
    for (const file of filesUnder(BUILT)) {
      expect(readFileSync(path.join(h.prefix, 'share/jupyter/labextensions', NAME, file))).toEqual(readFileSync(path.join(BUILT, file)));
    }
  });

  it('uninstalls exactly what install wrote, leaving other extensions and files in place', () => {
    const other = path.join(h.prefix, 'share/jupyter/labextensions/other-extension/package.json');
    mkdirSync(path.dirname(other), { recursive: true });
    writeFileSync(other, '{"name":"other-extension"}');
    const installed = run(['install', '--prefix', h.prefix, '--json'], h.env);
    expect(installed.status).toBe(0);
    const written = installed.json.files.map((file: string) => path.relative(h.prefix, file)).sort();
    expect(written).toEqual([...kernelFiles, ...extensionFiles()].sort());

    const removed = run(['uninstall', '--prefix', h.prefix, '--json'], h.env);
    expect(removed.status).toBe(0);
    const removedFiles = removed.json.removed.filter((entry: string) => !existsSync(entry) && path.extname(entry) !== '' ).map((file: string) => path.relative(h.prefix, file));
    expect(removedFiles.sort()).toEqual(expect.arrayContaining(written));
    // Only the foreign extension is left: the folders install created are gone, the ones it found remain.
    expect(filesUnder(h.prefix)).toEqual(['share/jupyter/labextensions/other-extension/package.json']);
    expect(existsSync(path.join(h.prefix, 'share/jupyter/labextensions', NAME.split('/')[0]!))).toBe(false);
    expect(existsSync(path.join(h.prefix, 'share/jupyter/kernels'))).toBe(false);
    // A second uninstall finds nothing.
    expect(run(['uninstall', '--prefix', h.prefix, '--json'], h.env).json.removed).toEqual([]);
  });

  it('reinstalls over its own install, but not over a foreign extension of the same name without --force', () => {
    expect(run(['install', '--prefix', h.prefix], h.env).status).toBe(0);
    expect(run(['install', '--prefix', h.prefix], h.env).status).toBe(0);
    expect(run(['uninstall', '--prefix', h.prefix], h.env).status).toBe(0);

    const foreign = path.join(h.prefix, 'share/jupyter/labextensions', NAME);
    mkdirSync(foreign, { recursive: true });
    writeFileSync(path.join(foreign, 'package.json'), JSON.stringify({ name: NAME, version: '9.9.9', jupyterlab: { _build: { load: 'static/remoteEntry.foreign.js' } } }));
    const refused = run(['install', '--prefix', h.prefix], h.env);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/that quicksort did not install is already at .*--force/s);
    expect(JSON.parse(readFileSync(path.join(foreign, 'package.json'), 'utf8')).version).toBe('9.9.9');

    const forced = run(['install', '--prefix', h.prefix, '--force', '--json'], h.env);
    expect(forced.status).toBe(0);
    expect(filesUnder(foreign)).toEqual(filesUnder(BUILT));
    expect(run(['uninstall', '--prefix', h.prefix], h.env).status).toBe(0);
    expect(filesUnder(h.prefix)).toEqual([]);
  });

  it('installs into --user (JUPYTER_DATA_DIR) and --sys-prefix (the active virtualenv)', () => {
    expect(run(['install', '--user'], h.env).status).toBe(0);
    expect(filesUnder(h.data)).toEqual([...kernelFiles, ...extensionFiles()].map((file) => path.relative('share/jupyter', file)).sort());
    expect(run(['uninstall', '--user'], h.env).status).toBe(0);
    expect(filesUnder(h.data)).toEqual([]);

    const venv = path.join(h.root, 'venv');
    mkdirSync(venv);
    const env = { ...h.env, VIRTUAL_ENV: venv };
    expect(run(['install', '--sys-prefix'], env).status).toBe(0);
    expect(filesUnder(venv)).toEqual([...kernelFiles, ...extensionFiles()].sort());
    expect(run(['uninstall', '--sys-prefix'], env).status).toBe(0);
    expect(filesUnder(venv)).toEqual([]);
  });

  it('status says what JupyterLab will find, and the command for each missing piece', () => {
    let status = run(['status', '--json'], h.env);
    expect(status.status).toBe(0);
    expect(status.json.lab.jupyterLab).toMatchObject({ ok: false, problem: expect.stringContaining("pip install 'jupyterlab>=4,<5'") });
    expect(status.json.lab.widgetManager).toMatchObject({ ok: false, problem: expect.stringContaining("pip install 'jupyterlab_widgets>=3'") });
    expect(status.json.lab.extension).toMatchObject({ ok: false, problem: expect.stringContaining('quicksort jupyter install') });

    // A JupyterLab 4 application folder and the widget manager in the prefix, as pip would put them.
    const jupyter = path.join(h.prefix, 'share', 'jupyter');
    mkdirSync(path.join(jupyter, 'lab', 'static'), { recursive: true });
    writeFileSync(path.join(jupyter, 'lab', 'static', 'package.json'), JSON.stringify({ name: '@jupyterlab/application-top', version: '4.6.6' }));
    const manager = path.join(jupyter, 'labextensions', '@jupyter-widgets', 'jupyterlab-manager');
    mkdirSync(manager, { recursive: true });
    writeFileSync(path.join(manager, 'package.json'), JSON.stringify({ name: '@jupyter-widgets/jupyterlab-manager', version: '5.0.16', jupyterlab: { _build: { load: 'static/remoteEntry.x.js' } } }));
    expect(run(['install', '--prefix', h.prefix], h.env).status).toBe(0);
    status = run(['status', '--json'], h.env);
    expect(status.json.lab.jupyterLab).toMatchObject({ ok: true, found: { version: '4.6.6' } });
    expect(status.json.lab.widgetManager).toMatchObject({ ok: true, found: { version: '5.0.16' } });
    expect(status.json.lab.extension).toMatchObject({ ok: true, found: { name: NAME, dir: path.join(jupyter, 'labextensions', NAME) } });
    const text = run(['status'], h.env).stdout;
    expect(text).toMatch(/ok {6}JupyterLab 4: 4\.6\.6/);
    expect(text).toMatch(/ok {6}QuickSort extension/);

    // An installed copy that is not this package's build (an older install) is reported with the fix.
    const installedManifest = path.join(jupyter, 'labextensions', NAME, 'package.json');
    const manifest = JSON.parse(readFileSync(installedManifest, 'utf8'));
    manifest.jupyterlab._build.load = 'static/remoteEntry.old.js';
    writeFileSync(installedManifest, JSON.stringify(manifest));
    expect(run(['status', '--json'], h.env).json.lab.extension).toMatchObject({ ok: false, problem: expect.stringContaining('run `npx quicksort jupyter install` again') });

    // JupyterLab 3 is named as the problem.
    writeFileSync(path.join(jupyter, 'lab', 'static', 'package.json'), JSON.stringify({ name: '@jupyterlab/application-top', version: '3.6.7' }));
    expect(run(['status'], h.env).stdout).toMatch(/MISSING JupyterLab 4: 3\.6\.7 .* needs JupyterLab 4/);
    expect(statSync(h.prefix).isDirectory()).toBe(true);
  });
});
