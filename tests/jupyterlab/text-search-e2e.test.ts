import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { Dataset } from '../../src/dataset';
import { captionedCocoMini } from '../helpers/captioned-dataset';
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
  requireTestBed,
  runCell,
  setTheme,
  startLab,
  waitForKernelIdle,
  watchConsole,
  writeNotebook,
  type RunningLab,
} from './test-bed';

/**
 * The app's search, "more like this", caption lists and text model state inside JupyterLab 4.6 (test bed),
 * in the light and the dark theme: a captioned, embedded coco-mini-train with its text model trained, opened
 * in a cell with `ds.widget()`, driven by keys only. A screenshot of each panel touched, in both themes.
 */

requireTestBed();

describe('finding by meaning in the app in JupyterLab (light and dark)', () => {
  jest.setTimeout(300000);
  const home = labHome();
  let data: Awaited<ReturnType<typeof captionedCocoMini>>;
  let lab: RunningLab;
  let browser: Browser;
  let page: Page;
  let consoleLines: string[] = [];
  const app = (): Locator => page.locator('.jp-OutputArea .quicksort-widget .qs-app').filter({ visible: true }).first();

  beforeAll(async () => {
    data = await captionedCocoMini();
    const build = await buildTestBed();
    const installed = quicksort(['jupyter', 'install', '--prefix', home.prefix, '--json'], home.env);
    if (installed.status !== 0) throw new Error(`quicksort jupyter install failed: ${installed.stderr}`);
    installWidgetManager(build, home.prefix);
    writeNotebook(path.join(home.notebooks, 'search.ipynb'), [
      ['import { QuickSort } from "quicksort";', `const ds = await QuickSort.open(${JSON.stringify(data.dir)}, { user: "tester" });`, '`${ds.stats().items} items`'].join('\n'),
      'ds.widget()',
    ]);
    lab = await startLab(build, home);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    consoleLines = watchConsole(page);
    await openNotebook(page, lab, 'search.ipynb');
    await runCell(page, 0);
    await waitForKernelIdle(page);
    await runCell(page, 1);
    await app().locator('.qs-stage[data-state="ready"]').waitFor({ timeout: 60000 });
  });

  afterAll(async () => {
    writeFileSync(artifact('jupyterlab-text-console.txt'), consoleLines.join('\n'));
    await browser?.close();
    await lab?.stop();
    home.cleanup();
    data?.cleanup();
  });

  /** Every panel this change touched, in the theme on screen: focus with its captions, search results, stats. */
  async function screenshotPanels(theme: string): Promise<void> {
    await app().click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Shift+F');
    await app().locator('.qs-caption-list[aria-label="From similar images"] li').first().waitFor({ timeout: 30000 });
    await app().screenshot({ path: artifact(`jupyterlab-text-focus-${theme}.png`) });
    await page.keyboard.press('Shift+Q');
    await page.keyboard.type('a plate of food on a table');
    await page.keyboard.press('Enter');
    await app().locator('.qs-grid-scroll[data-mode="found"] .qs-cell[data-item-id] .qs-score').first().waitFor({ timeout: 30000 });
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('.quicksort-widget .qs-grid-scroll .qs-cell[data-item-id]')].filter((cell) => (cell as HTMLElement).offsetParent !== null);
      return cells.length > 0 && cells.every((cell) => cell.querySelector('img.qs-thumb-image'));
    }, null, { timeout: 30000 });
    await app().screenshot({ path: artifact(`jupyterlab-text-search-${theme}.png`) });
    await page.keyboard.press('Shift+S');
    await app().locator('.qs-text-model[data-text-model="ready"]').waitFor({ timeout: 30000 });
    await app().screenshot({ path: artifact(`jupyterlab-text-stats-${theme}.png`) });
  }

  it('shows the trained text model, the item’s other captions and captions of similar images', async () => {
    await app().locator('.qs-text-badge[data-text-model="ready"]').waitFor({ timeout: 30000 });
    await app().locator('.qs-caption-list[aria-label="Other captions (4)"] li').nth(3).waitFor({ timeout: 30000 });
    await app().locator('.qs-caption-list[aria-label="From similar images"] li').nth(4).waitFor({ timeout: 30000 });
  });

  it('searches with Shift+Q and tags the first two results with Shift+T, one batch in the store', async () => {
    const cells = await cellSnapshot(page);
    await app().click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Shift+Q');
    await page.keyboard.type('a giraffe standing near a tree');
    await page.keyboard.press('Enter');
    const first = app().locator('.qs-grid-scroll[data-mode="found"] .qs-cell[data-item-id]');
    await first.nth(1).waitFor({ timeout: 30000 });
    const ids = (await first.evaluateAll((cells) => cells.slice(0, 2).map((cell) => Number(cell.getAttribute('data-item-id')))));
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+T');
    await page.keyboard.type('tall');
    await page.keyboard.press('Enter');
    const tags = async () => {
      const ds = await Dataset.open(data.dir, { readonly: true });
      try {
        return ids.map((id) => ds.item(id).tags.join());
      } finally {
        ds.close();
      }
    };
    await eventually(tags, (found) => found.every((t) => t === 'tall'), 'two items tagged in the store');
    // The notebook heard none of the keys: its cells are as they were.
    expect(await cellSnapshot(page)).toEqual(cells);
  });

  it('looks right in the light theme', async () => {
    await setTheme(page, 'JupyterLab Light');
    await screenshotPanels('light');
  });

  it('looks right in the dark theme', async () => {
    await setTheme(page, 'JupyterLab Dark');
    await screenshotPanels('dark');
  });
});
