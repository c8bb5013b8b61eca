import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { Dataset } from '../../src/dataset';
import { sampleCopy } from '../helpers/fixtures';
import { REPO } from '../jupyterlab/test-bed';

/**
 * Browser tests of the standalone app (`quicksort serve`): Debian's Chromium driven by playwright-core, the
 * same launch as the JupyterLab test bed (tests/jupyterlab/test-bed.ts). A missing Chromium fails them with the
 * command that installs it.
 */
export { artifact, eventually, launchBrowser, requireChromium, watchConsole } from '../jupyterlab/test-bed';

const CLI = path.join(REPO, 'bin', 'quicksort.js');

export const CLASSES = ['animal', 'vehicle', 'food'];

/** A copy of the sample images (36), ingested, with three classes on keys 1, 2, 3. */
export async function labeledSample(user = 'tester'): Promise<{ dir: string; ids: number[]; cleanup: () => void }> {
  const copy = sampleCopy();
  const ds = await Dataset.open(copy.dir, { user });
  try {
    await ds.ingest();
    for (const name of CLASSES) ds.addClass(name);
    return { dir: copy.dir, ids: ds.items().map((item) => item.id), cleanup: copy.cleanup };
  } finally {
    ds.close();
  }
}

/** Reads the store as it stands (readonly, beside a running server). */
export async function readStore<T>(dir: string, read: (ds: Dataset) => T): Promise<T> {
  const ds = await Dataset.open(dir, { readonly: true });
  try {
    return read(ds);
  } finally {
    ds.close();
  }
}

export interface ServeProcess {
  url: string;
  port: number;
  token: string;
  child: ChildProcess;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
}

/** `quicksort serve --dataset DIR --port P --json`, as a person runs it; resolves once it printed its URL. */
export async function spawnServe(dataset: string, port = 0, extra: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--dataset', dataset, '--port', String(port), '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(stdout.slice(0, end));
    });
    void exited.then((code) => reject(new Error(`quicksort serve exited (${code}) before printing its URL:\n${stderr}`)));
  });
  const printed = JSON.parse(line) as { url: string; port: number; token: string };
  return { ...printed, child, stderr: () => stderr, exited };
}

/** Stops a serve process with a signal and waits for it to exit (SIGKILL after `graceMs`, reported as such). */
export async function stopServe(serve: ServeProcess, signal: NodeJS.Signals = 'SIGINT', graceMs = 30000): Promise<number | string> {
  if (serve.child.exitCode !== null || serve.child.signalCode !== null) return serve.exited;
  serve.child.kill(signal);
  const timer = setTimeout(() => serve.child.kill('SIGKILL'), graceMs);
  try {
    return await serve.exited;
  } finally {
    clearTimeout(timer);
  }
}

// ---- the page ------------------------------------------------------------------------------------------

export const SELECTORS = {
  ready: '.qs-app[data-status="ready"]',
  stage: '.qs-stage',
  grid: '.qs-grid-scroll',
  banner: '#banner',
};

/** Opens the app and waits until it is connected and holds the keyboard. */
export async function openApp(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await waitForApp(page);
}

export async function waitForApp(page: Page): Promise<void> {
  await page.locator(SELECTORS.ready).waitFor({ timeout: 60000 });
  // The standalone page focuses the app once React mounted it: keys typed now go to it.
  await page.waitForFunction(() => document.activeElement?.classList.contains('qs-app') === true, null, { timeout: 30000 });
}

/** The item the focus view shows (its data-item-id), or null when none. */
export async function currentItem(page: Page): Promise<number | null> {
  const value = await page.locator(SELECTORS.stage).getAttribute('data-item-id', { timeout: 30000 });
  return value ? Number(value) : null;
}

/** Waits until the focus view shows a given item (or any other item than `not`), in a given image state. */
export async function waitForCurrent(page: Page, want: { id?: number; not?: number | null; state?: string }, timeout = 30000): Promise<number> {
  const handle = await page.waitForFunction(
    ({ id, not, state }) => {
      const stage = document.querySelector('.qs-stage');
      const value = stage?.getAttribute('data-item-id');
      if (!stage || !value) return false;
      const current = Number(value);
      if (id !== undefined && current !== id) return false;
      if (not !== undefined && not !== null && current === not) return false;
      if (state !== undefined && stage.getAttribute('data-state') !== state) return false;
      return current;
    },
    { id: want.id, not: want.not, state: want.state },
    { timeout, polling: 50 },
  );
  return (await handle.jsonValue()) as number;
}

/** Waits until nothing the app sent is waiting for the engine's confirmation. */
export async function waitForSaved(page: Page): Promise<void> {
  await page.locator('.qs-saving').waitFor({ state: 'detached', timeout: 30000 });
}

export async function closeBrowser(browser: Browser | undefined): Promise<void> {
  await browser?.close().catch(() => undefined);
}

/** Switches to the grid (g) and waits until every cell of the model's page is on screen with its item. */
export async function openGridPage(page: Page): Promise<Locator> {
  await page.keyboard.press('g');
  const grid = page.locator(`${SELECTORS.grid}[data-mode="page"]`);
  await grid.waitFor({ timeout: 30000 });
  await page.waitForFunction(() => {
    const scroller = document.querySelector('.qs-grid-scroll');
    const count = Number(scroller?.getAttribute('data-count') ?? 0);
    return count > 0 && document.querySelectorAll('.qs-grid-scroll .qs-cell[data-item-id]').length === count;
  }, null, { timeout: 30000 });
  return grid;
}
