import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { Dataset } from '../../src/dataset';
import {
  artifact,
  buildTestBed,
  cellSnapshot,
  eventually,
  installWidgetManager,
  labHome,
  launchBrowser,
  openNotebook,
  quicksort,
  REPO,
  requireTestBed,
  runCell,
  startLab,
  waitForKernelIdle,
  watchConsole,
  writeNotebook,
  type HostBuild,
  type RunningLab,
} from './test-bed';

/**
 * The proof: in a real JupyterLab 4.6 that loads prebuilt extensions from a labextensions folder, with
 * our kernel and extension installed by `quicksort jupyter install --prefix`, a notebook cell shows the
 * labeling app; keys typed in it label items in the store and never reach the notebook's shortcuts; a reload
 * brings the widget back; a kernel restart and a re-run resume from the store.
 */

requireTestBed();

const CLASSES = ['animal', 'vehicle', 'food'];

/**
 * How to read the app the shipped extension carries (labextension/build-info.json): the labeling app from
 * widget/, or the test stub while that is not built. Ready, the current item, where keys go.
 */
const SHIPPED_APP = JSON.parse(readFileSync(path.join(REPO, 'jupyterlab', 'labextension', 'build-info.json'), 'utf8')).app as string;
const APP = SHIPPED_APP.includes('stub-labeling-app')
  ? { stub: true, ready: '[data-ready="true"]', current: '[data-current]', currentAttribute: 'data-current', focus: '[tabindex]', help: '[data-help]' }
  : { stub: false, ready: '.qs-app[data-status="ready"]', current: '.qs-stage[data-state="ready"]', currentAttribute: 'data-item-id', focus: '.qs-app', help: '.qs-overlay[aria-label="Keyboard help"]' };
const STUB_APP = path.join(__dirname, 'fixtures', 'stub-labeling-app.js');

/** The sample dataset and the notebook that labels it. */
function notebookCells(dataset: string): string[] {
  return [
    [
      'import { QuickSort } from "quicksort";',
      `const ds = await QuickSort.open(${JSON.stringify(dataset)}, { user: "tester" });`,
      'await ds.ingest();',
      `for (const name of ${JSON.stringify(CLASSES)}) if (!ds.classes().some((c) => c.name === name)) ds.addClass(name);`,
      '`${ds.stats().items} items`',
    ].join('\n'),
    'ds.widget()',
    '`labeled=${ds.stats().labeledByHuman}`',
  ];
}

describe('the labeling app in JupyterLab 4.6 (test bed)', () => {
  jest.setTimeout(240000);
  const home = labHome();
  const dataset = path.join(home.root, 'sample');
  let build: HostBuild;
  let lab: RunningLab;
  let browser: Browser;
  let page: Page;
  let consoleLines: string[] = [];

  beforeAll(async () => {
    cpSync(path.join(REPO, 'examples', 'sample', 'images'), dataset, { recursive: true });
    build = await buildTestBed();
    const installed = quicksort(['jupyter', 'install', '--prefix', home.prefix, '--json'], home.env);
    if (installed.status !== 0) throw new Error(`quicksort jupyter install failed: ${installed.stderr}`);
    installWidgetManager(build, home.prefix);
    writeNotebook(path.join(home.notebooks, 'labeling.ipynb'), notebookCells(dataset));
    cpSync(path.join(REPO, 'notebooks', '02-labeling.ipynb'), path.join(home.notebooks, '02-labeling.ipynb'));
    lab = await startLab(build, home);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    consoleLines = watchConsole(page);
  });

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
    home.cleanup();
  });

  const widget = () => page.locator('.jp-OutputArea .quicksort-widget').filter({ visible: true }).first();
  const storeCounts = async () => {
    const ds = await Dataset.open(dataset, { readonly: true });
    try {
      return ds.stats().labeledByHuman;
    } finally {
      ds.close();
    }
  };

  it('loads our extension and the widget manager as prebuilt extensions, and shows the app in a cell on our kernel', async () => {
    await openNotebook(page, lab, 'labeling.ipynb');
    const plugins = await page.evaluate(() => {
      const app = (window as unknown as { jupyterapp: { listPlugins(): string[]; isPluginActivated(id: string): boolean } }).jupyterapp;
      return app.listPlugins().filter((id) => id.startsWith('@quicksort/') || id.startsWith('@jupyter-widgets/')).map((id) => [id, app.isPluginActivated(id)]);
    });
    expect(plugins).toEqual(expect.arrayContaining([['@quicksort/jupyterlab:plugin', true], ['@jupyter-widgets/jupyterlab-manager:plugin', true]]));
    await runCell(page, 0);
    await waitForKernelIdle(page);
    await runCell(page, 1);
    await widget().locator(APP.ready).waitFor({ timeout: 60000 });
    await widget().locator(APP.current).first().waitFor({ timeout: 60000 });
    await page.screenshot({ path: artifact('jupyterlab-widget.png') });
  });

  it('runs notebooks/02-labeling.ipynb: the sample dataset in a temporary folder, and the app', async () => {
    const example = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await openNotebook(example, lab, '02-labeling.ipynb', 'example');
      const codeCells = await example.locator('.jp-Notebook .jp-Cell').evaluateAll((cells) => cells.map((cell, index) => (cell.classList.contains('jp-CodeCell') ? index : -1)).filter((index) => index >= 0));
      // The setup cell and the app cell; the last one removes the copy.
      await runCell(example, codeCells[0]!);
      await waitForKernelIdle(example);
      await runCell(example, codeCells[1]!);
      await example.locator('.jp-OutputArea .quicksort-widget ' + APP.ready).filter({ visible: true }).first().waitFor({ timeout: 60000 });
      await example.screenshot({ path: artifact('jupyterlab-02-labeling.png') });
      await example.evaluate(() => (window as unknown as { jupyterapp: { commands: { execute(id: string): Promise<unknown> } } }).jupyterapp.commands.execute('kernelmenu:shutdown'));
    } finally {
      await example.close();
    }
  });

  it('renders the anywidget flavour with anywidget\'s own front end (npm anywidget 0.11.0, prebuilt), labels reaching the store', async () => {
    const second = path.join(home.root, 'sample-anywidget');
    cpSync(path.join(REPO, 'examples', 'sample', 'images'), second, { recursive: true });
    writeNotebook(path.join(home.notebooks, 'anywidget.ipynb'), [
      [
        'import { QuickSort } from "quicksort";',
        'import { labelingWidget } from "quicksort/kernel";',
        'import * as fs from "node:fs";',
        `const ds = await QuickSort.open(${JSON.stringify(second)}, { user: "tester" });`,
        'await ds.ingest();',
        `for (const name of ${JSON.stringify(CLASSES)}) ds.addClass(name);`,
        // The package's app (dist/widget) when built, as a user gets it; else the stub, passed explicitly.
        APP.stub ? `labelingWidget(ds, { frontEnd: "anywidget", app: { esm: fs.readFileSync(${JSON.stringify(STUB_APP)}, "utf8") } })` : 'ds.widget({ frontEnd: "anywidget" })',
      ].join('\n'),
    ]);
    const other = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const otherConsole = watchConsole(other);
    try {
      await openNotebook(other, lab, 'anywidget.ipynb', 'anywidget');
      await runCell(other, 0);
      const app = other.locator(`.jp-OutputArea ${APP.ready}`).filter({ visible: true }).first();
      await app.waitFor({ timeout: 60000 });
      // anywidget's AnyView rendered it, not our extension's view.
      expect(await other.locator('.jp-OutputArea .quicksort-widget').count()).toBe(0);
      expect(await other.evaluate(() => (window as unknown as { jupyterapp: { isPluginActivated(id: string): boolean } }).jupyterapp.isPluginActivated('anywidget:plugin'))).toBe(true);
      const count = async () => {
        const ds = await Dataset.open(second, { readonly: true });
        try {
          return ds.stats().labeledByHuman;
        } finally {
          ds.close();
        }
      };
      await app.click();
      await other.keyboard.press('2');
      await eventually(count, (labeled) => labeled === 1, 'a label through anywidget');
      await other.screenshot({ path: artifact('jupyterlab-anywidget.png') });
      await other.evaluate(() => (window as unknown as { jupyterapp: { commands: { execute(id: string): Promise<unknown> } } }).jupyterapp.commands.execute('kernelmenu:shutdown'));
    } finally {
      await other.screenshot({ path: artifact('jupyterlab-anywidget.png') });
      writeFileSync(artifact('jupyterlab-anywidget-console.txt'), otherConsole.join('\n'));
      await other.close();
    }
  });

  it('labels by keyboard inside the widget, into the store', async () => {
    const before = await storeCounts();
    const app = widget().locator(APP.focus).first();
    await app.click();
    for (const key of ['1', '2', '3']) {
      const current = await widget().locator(APP.current).first().getAttribute(APP.currentAttribute);
      await page.keyboard.press(key);
      await page.waitForFunction(
        ([selector, attribute, shown]) => {
          const element = [...document.querySelectorAll(`.quicksort-widget ${selector}`)].find((node) => (node as HTMLElement).offsetParent !== null);
          return element !== undefined && element.getAttribute(attribute!) !== shown;
        },
        [APP.current, APP.currentAttribute, current] as const,
        { timeout: 20000 },
      );
    }
    await eventually(storeCounts, (count) => count === before + 3, 'three labels in the store');
  });

  it('shows the grid with its thumbnails, which come over comms in batches as data: URLs', async () => {
    await widget().locator(APP.focus).first().click();
    await page.keyboard.press('g');
    await page.waitForFunction(
      () => {
        const cells = [...document.querySelectorAll('.quicksort-widget .qs-cell[data-item-id]')].filter((cell) => (cell as HTMLElement).offsetParent !== null);
        const images = cells.map((cell) => cell.querySelector('img.qs-thumb-image')?.getAttribute('src') ?? '');
        return cells.length > 0 && images.every((src) => src.startsWith('data:image/jpeg;base64,'));
      },
      null,
      { timeout: 30000 },
    );
    await page.keyboard.press('g');
    await widget().locator(APP.focus).first().waitFor({ timeout: 20000 });
  });

  it('keeps notebook shortcuts (a, b, d d, x, m, Enter) from acting on keys typed inside the widget', async () => {
    const before = await cellSnapshot(page);
    await widget().locator(APP.focus).first().click();
    for (const key of ['a', 'b', 'd', 'd', 'x', 'm', 'Enter']) await page.keyboard.press(key);
    // Keys are handled in order: once the help that `h` opens is on screen, JupyterLab has had every key before it.
    await page.keyboard.press('h');
    await widget().locator(APP.help).first().waitFor({ timeout: 20000 });
    expect(await cellSnapshot(page)).toEqual(before);
    await page.keyboard.press('h');
    await widget().locator(APP.help).first().waitFor({ state: 'detached', timeout: 20000 });
  });

  it('answers other cells while the widget is open: ds.stats() sees the labels', async () => {
    await runCell(page, 2);
    const expected = `labeled=${await storeCounts()}`;
    await eventually(() => page.locator('.jp-Cell').nth(2).locator('.jp-OutputArea-output').first().innerText(), (text) => text.includes(expected), `the cell to print ${expected}`, 60000);
  });

  it('brings the widget back after a page reload (jupyter.widget.control)', async () => {
    // Saved with JupyterLab's command: the app keeps every key typed inside it, Ctrl+S included.
    await page.evaluate(() => (window as unknown as { jupyterapp: { commands: { execute(id: string): Promise<unknown> } } }).jupyterapp.commands.execute('docmanager:save'));
    await eventually(() => page.evaluate(() => (window as unknown as { jupyterapp: { shell: { currentWidget: { context: { model: { dirty: boolean } } } } } }).jupyterapp.shell.currentWidget.context.model.dirty), (dirty) => dirty === false, 'the notebook to be saved');
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { jupyterapp?: { restored: Promise<void> } }).jupyterapp !== undefined, null, { timeout: 60000 });
    try {
      await widget().locator(APP.ready).waitFor({ timeout: 60000 });
    } finally {
      await page.screenshot({ path: artifact('jupyterlab-widget-after-reload.png') });
      writeFileSync(artifact('jupyterlab-console.txt'), consoleLines.join('\n'));
    }
  });

  it('resumes from the store after a kernel restart and a re-run of the cells', async () => {
    const labeled = await storeCounts();
    await page.evaluate(async () => {
      const app = (window as unknown as { jupyterapp: { shell: { currentWidget: { sessionContext: { session: { kernel: { restart(): Promise<void> } } } } } } }).jupyterapp;
      await app.shell.currentWidget.sessionContext.session.kernel.restart();
    });
    await waitForKernelIdle(page);
    await runCell(page, 0);
    await waitForKernelIdle(page);
    await runCell(page, 1);
    await widget().locator(APP.ready).waitFor({ timeout: 60000 });
    await widget().locator(APP.focus).first().click();
    await page.keyboard.press('1');
    await eventually(storeCounts, (count) => count === labeled + 1, 'one more label after the restart');
    writeFileSync(artifact('jupyterlab-console.txt'), consoleLines.join('\n'));
  });
});
