import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * The JupyterLab test bed: a JupyterLab 4.6 built from npm (jupyterlab/test-bed/build-host.js) served by
 * Debian's jupyter-server (jupyterlab/test-bed/serve.py), with Jupyter's folders in a temporary home, and our
 * kernel and extension installed into a temporary prefix by `quicksort jupyter install --prefix`, as a user
 * would. The widget manager goes into the same prefix, as `pip install jupyterlab_widgets` puts it there.
 */

export const REPO = path.join(__dirname, '..', '..');
export const TOOLS = path.join(REPO, 'jupyterlab');
export const PYTHON = '/usr/bin/python3';
export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(REPO, 'tests', 'artifacts');
const CLI = path.join(REPO, 'bin', 'quicksort.js');

/** DESIGN.md: Debian's Chromium, headless, with nothing reaching out to the network. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Where a missing tool is answered: the prerequisites script installs what the tests need (as root), or prints
 * the one apt-get command to run; `npm test` runs it first.
 */
const INSTALL_HINT = 'run `node scripts/test-prerequisites.js` (as root it installs what the tests need, else it prints the apt-get command; `npm test` runs it first)';

/**
 * Fails the suite, with what to install, when Debian's Chromium is missing. Whoever runs a browser suite asked
 * for it: a missing browser is a failure, never a quiet skip (leave a suite out by naming the others to jest).
 */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (Debian's chromium): ${INSTALL_HINT}`);
}

/** Fails the suite, with what to install, when the test bed cannot run here (see {@link requireChromium}). */
export function requireTestBed(): void {
  if (!existsSync(path.join(TOOLS, 'node_modules', '@jupyter', 'builder'))) throw new Error('the JupyterLab build tools are not installed: run `npm ci --prefix jupyterlab` (`npm test` runs it first)');
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: ${INSTALL_HINT}`);
  const probe = spawnSync(PYTHON, ['-c', 'import jupyter_server, jupyterlab_server'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`Debian's jupyter-server or jupyterlab-server is missing (${PYTHON}: ${probe.stderr.trim().split('\n').pop()}): ${INSTALL_HINT}`);
  requireChromium();
}

export interface HostBuild {
  out: string;
  lab: string;
  labextensions: string;
  skipped: boolean;
  seconds: number;
}

/**
 * Builds the test-bed JupyterLab (or finds it up to date), in a child process: rspack's ES modules do not load
 * inside jest's module system. About 15 s on two cores with the tools installed. Several suites use the test
 * bed and jest runs them in parallel workers: one builds at a time (the build rewrites one folder), the others
 * wait for it and then find it up to date.
 */
export async function buildTestBed(): Promise<HostBuild> {
  return withBuildLock(buildOnce);
}

const BUILD_LOCK = path.join(TOOLS, 'test-bed', 'build.lock');
const BUILD_WAIT_MS = 10 * 60_000;

/** Holds the build lock (a file made exclusively, naming its process) while `work` runs. */
async function withBuildLock<T>(work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BUILD_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(BUILD_LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock left by a process that is gone (killed mid-build) is taken over; an empty one is being written.
      const holder = readHolder();
      if (holder === null) continue;
      if (holder !== '' && !isRunning(Number(holder))) {
        rmSync(BUILD_LOCK, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${BUILD_WAIT_MS / 1000} s waiting for another suite's build of the test bed (${BUILD_LOCK})`);
      // Polls the holder (a process elsewhere): there is no event to wait on across processes.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(BUILD_LOCK, { force: true });
  }
}

/** The lock's process id as written, or null when the lock went meanwhile. */
function readHolder(): string | null {
  try {
    return readFileSync(BUILD_LOCK, 'utf8').trim();
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function buildOnce(): Promise<HostBuild> {
  const out = path.join(TOOLS, 'test-bed', 'build');
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(TOOLS, 'test-bed', 'build-host.js'), '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`building the test-bed JupyterLab failed (exit ${code}):\n${output.slice(-4000)}`);
  return { out, lab: path.join(out, 'lab'), labextensions: path.join(out, 'labextensions'), skipped: /up to date/.test(output), seconds: (Date.now() - started) / 1000 };
}

/** A private Jupyter home with a prefix on JUPYTER_PATH, like a virtual environment's share/jupyter. */
export function labHome(): { root: string; prefix: string; notebooks: string; env: NodeJS.ProcessEnv; cleanup(): void } {
  const root = mkdtempSync(path.join(tmpdir(), 'quicksort-lab-'));
  const prefix = path.join(root, 'prefix');
  const notebooks = path.join(root, 'notebooks');
  const dirs = { JUPYTER_DATA_DIR: path.join(root, 'data'), JUPYTER_CONFIG_DIR: path.join(root, 'config'), JUPYTER_RUNTIME_DIR: path.join(root, 'runtime') };
  for (const dir of [...Object.values(dirs), notebooks]) mkdirSync(dir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, ...dirs, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTER_PLATFORM_DIRS: '0', PYTHONWARNINGS: 'ignore' };
  return { root, prefix, notebooks, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Runs the CLI as a user would. */
export function quicksort(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 60000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `pip install jupyterlab_widgets`, test-bed style: the widget manager's prebuilt extension into the prefix. */
export function installWidgetManager(build: HostBuild, prefix: string): void {
  cpSync(build.labextensions, path.join(prefix, 'share', 'jupyter', 'labextensions'), { recursive: true });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningLab {
  url: string;
  token: string;
  log(): string;
  stop(): Promise<void>;
}

/** Starts the server on a free port and waits until it answers. */
export async function startLab(build: HostBuild, home: { notebooks: string; env: NodeJS.ProcessEnv }): Promise<RunningLab> {
  const port = await freePort();
  const token = `qs${Math.random().toString(36).slice(2)}`;
  let output = '';
  const child: ChildProcess = spawn(
    PYTHON,
    [
      path.join(TOOLS, 'test-bed', 'serve.py'),
      `--lab-dir=${build.lab}`,
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      `--ServerApp.token=${token}`,
      '--ServerApp.allow_root=True',
      '--ServerApp.open_browser=False',
      `--ServerApp.root_dir=${home.notebooks}`,
    ],
    { cwd: home.notebooks, env: home.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the test-bed server exited (${child.exitCode}):\n${output.slice(-3000)}`);
    try {
      const response = await fetch(`${url}/api/status?token=${token}`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the test-bed server did not answer within 30 s:\n${output.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    token,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A notebook file on the QuickSort kernel. */
export function writeNotebook(file: string, cells: string[]): void {
  const notebook = {
    cells: cells.map((source, index) => ({ cell_type: 'code', id: `cell-${index + 1}`, execution_count: null, metadata: {}, outputs: [], source })),
    metadata: { kernelspec: { name: 'quicksort', display_name: 'TypeScript (QuickSort)', language: 'typescript' }, language_info: { name: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  writeFileSync(file, `${JSON.stringify(notebook, null, 1)}\n`);
}

/** Collects console errors and page errors, to attach to failures. */
export function watchConsole(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') lines.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => lines.push(`pageerror: ${error.message}`));
  return lines;
}

/** Opens a notebook and waits until JupyterLab has restored and its kernel is idle. */
export async function openNotebook(page: Page, lab: RunningLab, name: string, workspace?: string): Promise<void> {
  // A workspace of its own keeps other notebooks (restored from the default workspace) off the page.
  await page.goto(`${lab.url}/lab/${workspace ? `workspaces/${workspace}/` : ''}tree/${name}?token=${lab.token}`);
  await page.waitForFunction(() => (window as unknown as { jupyterapp?: unknown }).jupyterapp !== undefined, null, { timeout: 60000 });
  await page.evaluate(() => (window as unknown as { jupyterapp: { restored: Promise<void> } }).jupyterapp.restored);
  await waitForKernelIdle(page);
}

/** The current notebook panel's kernel: connected and idle. */
export async function waitForKernelIdle(page: Page, timeout = 90000): Promise<void> {
  await page.waitForFunction(
    () => {
      const app = (window as unknown as { jupyterapp: { shell: { currentWidget: { sessionContext?: { session?: { kernel?: { status: string; connectionStatus: string } } } } | null } } }).jupyterapp;
      const kernel = app.shell.currentWidget?.sessionContext?.session?.kernel;
      return kernel?.status === 'idle' && kernel.connectionStatus === 'connected';
    },
    null,
    { timeout, polling: 200 },
  );
}

/** Runs cell `index` (0-based) by clicking it and pressing Shift+Enter in command mode, as a person would. */
export async function runCell(page: Page, index: number): Promise<void> {
  const cell = page.locator('.jp-Notebook .jp-Cell').nth(index);
  await cell.locator('.jp-InputPrompt').click();
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Enter');
}

/** The notebook's cells as the front end holds them: type and source, to prove keys changed nothing. */
export async function cellSnapshot(page: Page): Promise<{ type: string; source: string }[]> {
  return page.evaluate(() => {
    const app = (window as unknown as { jupyterapp: { shell: { currentWidget: { content: { model: { cells: { length: number; get(i: number): { type: string; sharedModel: { getSource(): string } } } } } } } } }).jupyterapp;
    const cells = app.shell.currentWidget.content.model.cells;
    const out: { type: string; source: string }[] = [];
    for (let i = 0; i < cells.length; i++) out.push({ type: cells.get(i).type, source: cells.get(i).sharedModel.getSource() });
    return out;
  });
}

/** Switches JupyterLab's theme with its own command and waits until the page wears it. */
export async function setTheme(page: Page, theme: 'JupyterLab Light' | 'JupyterLab Dark'): Promise<void> {
  await page.evaluate((name) => (window as unknown as { jupyterapp: { commands: { execute(id: string, args: object): Promise<unknown> } } }).jupyterapp.commands.execute('apputils:change-theme', { theme: name }), theme);
  await page.waitForFunction((name) => document.body.dataset.jpThemeName === name, theme, { timeout: 30000 });
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

/** Polls `read` until `accept` holds for its value; fails with the last value seen. */
export async function eventually<T>(read: () => Promise<T> | T, accept: (value: T) => boolean, what: string, timeout = 20000): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
