import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { Dataset } from '../../src/dataset';
import { colourDataset, type ColourDataset } from '../vlm/colour-dataset';
import { startFakeVlm, type FakeVlm } from '../vlm/fake-vlm-server';
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
 * The VLM assist inside JupyterLab 4.6 (test bed), light and dark: generated colour swatches (3 of each of 8
 * colours labelled, 1 not) opened with `ds.widget()` on a kernel whose environment names the loopback fake
 * VLM (QUICKSORT_VLM_URL); the engine asks about the unlabeled items by itself and the app shows each
 * suggestion with its examples and caption draft. Keys only; a screenshot of each panel touched, both themes.
 */

requireTestBed();

describe('VLM suggestions in the app in JupyterLab (light and dark)', () => {
  jest.setTimeout(300000);
  const home = labHome();
  let data: ColourDataset;
  let fake: FakeVlm;
  let lab: RunningLab;
  let browser: Browser;
  let page: Page;
  let consoleLines: string[] = [];
  const app = (): Locator => page.locator('.jp-OutputArea .quicksort-widget .qs-app').filter({ visible: true }).first();

  beforeAll(async () => {
    data = await colourDataset(4, 3);
    fake = await startFakeVlm();
    home.env.QUICKSORT_VLM_URL = fake.url;
    home.env.QUICKSORT_VLM_MODEL = 'fake-vlm';
    const build = await buildTestBed();
    const installed = quicksort(['jupyter', 'install', '--prefix', home.prefix, '--json'], home.env);
    if (installed.status !== 0) throw new Error(`quicksort jupyter install failed: ${installed.stderr}`);
    installWidgetManager(build, home.prefix);
    writeNotebook(path.join(home.notebooks, 'vlm.ipynb'), [
      ['import { QuickSort } from "quicksort";', `const ds = await QuickSort.open(${JSON.stringify(data.dir)}, { user: "tester" });`, '`${ds.stats().items} items`'].join('\n'),
      'ds.widget()',
    ]);
    lab = await startLab(build, home);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    consoleLines = watchConsole(page);
    await openNotebook(page, lab, 'vlm.ipynb');
    await runCell(page, 0);
    await waitForKernelIdle(page);
    await runCell(page, 1);
    await app().locator('.qs-stage[data-state="ready"]').waitFor({ timeout: 60000 });
  });

  afterAll(async () => {
    writeFileSync(artifact('jupyterlab-vlm-console.txt'), consoleLines.join('\n'));
    await browser?.close();
    await lab?.stop();
    home.cleanup();
    await fake?.close();
    data?.cleanup();
  });

  /** Every panel this change touched, in the theme on screen: focus with the VLM's suggestion, stats. */
  async function screenshotPanels(theme: string): Promise<void> {
    await app().click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Shift+F');
    await app().locator('.qs-suggestion[data-source="vlm"] .qs-vlm-examples li img.qs-thumb-image').first().waitFor({ timeout: 30000 });
    await app().screenshot({ path: artifact(`jupyterlab-vlm-focus-${theme}.png`) });
    await page.keyboard.press('Shift+S');
    await app().locator('.qs-vlm[data-vlm="idle"]').waitFor({ timeout: 30000 });
    await app().screenshot({ path: artifact(`jupyterlab-vlm-stats-${theme}.png`) });
  }

  it('shows the VLM’s suggestion with its examples; Shift+X turns it down in the store, and the notebook hears no key', async () => {
    await app().locator('.qs-suggestion[data-source="vlm"] .qs-vlm-examples li').nth(7).waitFor({ timeout: 60000 });
    const current = Number(await app().locator('.qs-stage').getAttribute('data-item-id'));
    const cells = await cellSnapshot(page);
    await app().click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Shift+X');
    const read = async () => {
      const ds = await Dataset.open(data.dir, { readonly: true });
      try {
        return ds.item(current);
      } finally {
        ds.close();
      }
    };
    await eventually(read, (item) => item.label === null && item.labelSource === null, 'the VLM label turned down in the store');
    // A class key labels it: the next item, with its own VLM suggestion, comes on screen for the screenshots.
    await page.keyboard.press('1');
    await eventually(read, (item) => item.labelSource === 'human', 'the item labelled by its key');
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
