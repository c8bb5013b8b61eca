import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DISPLAY_NAME, install, status, uninstall, type JupyterEnvironment } from '../../dist/kernel/install';
import { JUPYTER, jupyterHome, requireJupyterTools } from './jupyter-tools';

const BIN = path.join(__dirname, '..', '..', 'bin', 'quicksort.js');

function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? [`${file}/`, ...listTree(file)] : [file];
  });
}

/** A built JupyterLab extension as the widget build will write it (package.json with jupyterlab._build). */
function fakeExtension(root: string): string {
  const dir = path.join(root, 'built-extension');
  mkdirSync(path.join(dir, 'static'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@quicksort/widget', version: '0.1.0', jupyterlab: { _build: { load: 'static/remoteEntry.abc.js', extension: './extension' } } }));
  writeFileSync(path.join(dir, 'static', 'remoteEntry.abc.js'), '/* federated entry */');
  return dir;
}

describe('installing the kernel into Jupyter', () => {
  let home: ReturnType<typeof jupyterHome>;
  let environment: JupyterEnvironment;
  beforeEach(() => {
    home = jupyterHome();
    environment = { env: home.env, platform: 'linux', home: home.root };
  });
  afterEach(() => home.cleanup());

  it('writes a kernelspec that Jupyter lists, with this Node running dist/kernel/main.js', () => {
    requireJupyterTools();
    const report = install({ scope: { kind: 'prefix', prefix: home.prefix }, environment });
    expect(report.kernelDir).toBe(path.join(home.prefix, 'share', 'jupyter', 'kernels', 'quicksort'));
    const spec = JSON.parse(readFileSync(path.join(report.kernelDir, 'kernel.json'), 'utf8'));
    expect(spec).toMatchObject({ display_name: 'TypeScript (QuickSort)', language: 'typescript', interrupt_mode: 'signal' });
    expect(spec.argv).toEqual([process.execPath, path.join(__dirname, '..', '..', 'dist', 'kernel', 'main.js'), '--connection-file', '{connection_file}']);
    expect(existsSync(spec.argv[1])).toBe(true);

    const listed = spawnSync(JUPYTER, ['kernelspec', 'list', '--json'], { encoding: 'utf8', env: home.env });
    expect(listed.status).toBe(0);
    const kernelspecs = JSON.parse(listed.stdout).kernelspecs;
    expect(kernelspecs.quicksort).toMatchObject({ resource_dir: report.kernelDir, spec: { display_name: DISPLAY_NAME } });
  });

  it('installs for the user in JUPYTER_DATA_DIR, and uninstall removes exactly what install wrote', () => {
    const dataDir = home.env.JUPYTER_DATA_DIR!;
    writeFileSync(path.join(dataDir, 'someone-elses-file.txt'), 'keep me');
    const before = listTree(dataDir);
    const extension = fakeExtension(home.root);
    const report = install({ scope: { kind: 'user' }, environment, labExtensionDir: extension });
    expect(report.kernelDir).toBe(path.join(dataDir, 'kernels', 'quicksort'));
    expect(report.labExtension).toEqual({ name: '@quicksort/widget', dir: path.join(dataDir, 'labextensions', '@quicksort', 'widget') });
    expect(readFileSync(path.join(dataDir, 'labextensions', '@quicksort', 'widget', 'static', 'remoteEntry.abc.js'), 'utf8')).toBe('/* federated entry */');

    const state = status({ environment, labExtensionDir: extension });
    expect(state.active).toMatchObject({ dir: report.kernelDir, origin: 'user', runnable: true, displayName: DISPLAY_NAME, labExtension: { name: '@quicksort/widget' } });
    expect(state.labExtension).toMatchObject({ name: '@quicksort/widget' });

    // Installing again replaces the previous install.
    install({ scope: { kind: 'user' }, environment, labExtensionDir: extension });
    const removed = uninstall({ scope: { kind: 'user' }, environment }).removed;
    expect(removed).toEqual(expect.arrayContaining([path.join(report.kernelDir, 'kernel.json'), path.join(dataDir, 'labextensions')]));
    expect(listTree(dataDir)).toEqual(before);
    expect(uninstall({ scope: { kind: 'user' }, environment }).removed).toEqual([]);
  });

  it('says where things are: JUPYTER_PATH shadows the user install, a broken kernelspec is flagged', () => {
    install({ scope: { kind: 'user' }, environment });
    const prefixed = install({ scope: { kind: 'prefix', prefix: home.prefix }, environment });
    const report = status({ environment });
    expect(report.kernelSpecs.map((spec) => spec.origin)).toEqual(['JUPYTER_PATH', 'user']);
    expect(report.active?.dir).toBe(prefixed.kernelDir);
    // The package ships its prebuilt JupyterLab extension (jupyterlab/labextension, issue 9).
    expect(report.labExtension).toMatchObject({ name: '@quicksort/jupyterlab', dir: expect.stringMatching(/jupyterlab\/labextension$/) });

    const specFile = path.join(prefixed.kernelDir, 'kernel.json');
    const spec = JSON.parse(readFileSync(specFile, 'utf8'));
    spec.argv[1] = '/nowhere/main.js';
    writeFileSync(specFile, JSON.stringify(spec));
    expect(status({ environment }).active?.runnable).toBe(false);
  });

  it('refuses to overwrite or remove a kernelspec it did not write', () => {
    const foreign = path.join(home.prefix, 'share', 'jupyter', 'kernels', 'quicksort');
    mkdirSync(foreign, { recursive: true });
    writeFileSync(path.join(foreign, 'kernel.json'), '{"argv": ["x"], "display_name": "someone else"}');
    expect(() => install({ scope: { kind: 'prefix', prefix: home.prefix }, environment })).toThrow(/quicksort did not write/);
    expect(() => uninstall({ scope: { kind: 'prefix', prefix: home.prefix }, environment })).toThrow(/not written by quicksort jupyter install/);
    expect(readFileSync(path.join(foreign, 'kernel.json'), 'utf8')).toMatch(/someone else/);
  });

  it('runs as `quicksort jupyter install|status|uninstall`', () => {
    const quicksort = (...args: string[]) => spawnSync(process.execPath, [BIN, 'jupyter', ...args], { encoding: 'utf8', env: home.env });
    const installed = quicksort('install', '--prefix', home.prefix, '--json');
    expect(installed.status).toBe(0);
    expect(JSON.parse(installed.stdout).kernelDir).toBe(path.join(home.prefix, 'share', 'jupyter', 'kernels', 'quicksort'));
    const shown = quicksort('status');
    expect(shown.stdout).toMatch(/kernel "TypeScript \(QuickSort\)" in .*prefix\/share\/jupyter\/kernels\/quicksort \[JUPYTER_PATH\] \(used by Jupyter\)/);
    expect(JSON.parse(quicksort('status', '--json').stdout).active.origin).toBe('JUPYTER_PATH');
    expect(quicksort('uninstall', '--prefix', home.prefix).stdout).toMatch(/removed \d+ files and folders/);
    expect(existsSync(home.prefix)).toBe(false);
    const both = quicksort('install', '--user', '--prefix', home.prefix);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/choose one of --user, --sys-prefix and --prefix/);
  });
});
