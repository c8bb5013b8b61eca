import { writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server';
import { ensureAppBuilt } from '../server/server-helpers';
import { colourDataset, type ColourDataset } from '../vlm/colour-dataset';
import { startFakeVlm, type FakeVlm } from '../vlm/fake-vlm-server';
import { artifact, closeBrowser, eventually, launchBrowser, openApp, readStore, requireChromium, waitForCurrent, waitForSaved, watchConsole } from './e2e-helpers';

/**
 * The VLM assist in the standalone app, in Chromium, keys only: `quicksort serve` on generated colour swatches
 * (3 of each of 8 colours labelled, 1 of each not), QUICKSORT_VLM_URL naming the loopback fake VLM. The
 * server asks about the unlabeled items by itself; the app shows each VLM suggestion with the examples it was
 * made from and its caption draft; Enter accepts, Shift+X turns a suggestion down. Screenshots light and dark.
 */

requireChromium();

const suggestionSource = (page: Page) => page.locator('.qs-suggestion').getAttribute('data-source', { timeout: 30000 });

describe('VLM suggestions in the standalone app (keys only)', () => {
  jest.setTimeout(240000);
  let data: ColourDataset;
  let fake: FakeVlm;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let consoleLines: string[] = [];
  const saved = { url: process.env.QUICKSORT_VLM_URL, model: process.env.QUICKSORT_VLM_MODEL };

  beforeAll(async () => {
    await ensureAppBuilt();
    data = await colourDataset(4, 3);
    fake = await startFakeVlm();
    // As a person configures it: the server reads the VLM's address from the environment.
    process.env.QUICKSORT_VLM_URL = fake.url;
    process.env.QUICKSORT_VLM_MODEL = 'fake-vlm';
    server = await startServer({ dataset: data.dir, port: 0, user: 'tester' });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    consoleLines = watchConsole(page);
  });

  afterAll(async () => {
    writeFileSync(artifact('e2e-vlm-console.txt'), consoleLines.join('\n'));
    await closeBrowser(browser);
    await server?.close();
    await fake?.close();
    data?.cleanup();
    for (const [key, value] of [['QUICKSORT_VLM_URL', saved.url], ['QUICKSORT_VLM_MODEL', saved.model]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('shows the VLM’s suggestion with the labelled examples it was shown, and its caption draft to review', async () => {
    await openApp(page, server.url);
    await page.locator('.qs-suggestion[data-source="vlm"] .qs-vlm-examples li img.qs-thumb-image').nth(7).waitFor({ timeout: 60000 });
    const current = await waitForCurrent(page, { state: 'ready' });
    const stored = await readStore(data.dir, (ds) => ds.item(current));
    expect(stored).toMatchObject({ labelSource: 'vlm', labeledBy: 'fake-vlm' });
    expect(await page.locator('.qs-suggested-label').innerText()).toBe(stored.label);
    expect(await page.locator('.qs-vlm-note').innerText()).toMatch(/fake-vlm suggests this, from 8 labelled examples/);
    // The examples are the person's labels; the fake answers with the nearest one's class.
    const examples = await page.locator('.qs-vlm-examples li span').allInnerTexts();
    expect(examples).toHaveLength(8);
    expect(examples).toContain(stored.label);
    // The draft waits in the list, not in the box: the box holds only what a person wrote.
    expect(await page.getByLabel('Caption', { exact: true }).inputValue()).toBe('');
    await page.locator('.qs-caption-list li.is-draft').first().waitFor({ timeout: 30000 });
    await page.screenshot({ path: artifact('e2e-vlm-focus.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: artifact('e2e-vlm-focus-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('turns a suggestion down with Shift+X (the head’s own suggestion shows), and Enter accepts the next one as the person’s label', async () => {
    const current = await waitForCurrent(page, { state: 'ready' });
    await page.keyboard.press('Shift+X');
    await waitForSaved(page);
    await eventually(() => readStore(data.dir, (ds) => ds.item(current)), (item) => item.label === null && item.labelSource === null, 'the VLM label turned down');
    await eventually(() => suggestionSource(page), (source) => source === 'head', 'the head’s suggestion in its place');
    // Labelled now, by a key: the next item, whose VLM suggestion Enter takes as it is.
    await page.keyboard.press('1');
    const next = await waitForCurrent(page, { not: current, state: 'ready' });
    await eventually(() => suggestionSource(page), (source) => source === 'vlm', 'the next item’s VLM suggestion');
    const shown = await page.locator('.qs-suggested-label').innerText();
    await page.keyboard.press('Enter');
    await waitForSaved(page);
    await eventually(() => readStore(data.dir, (ds) => ds.item(next)), (item) => item.labelSource === 'human' && item.label === shown, 'the suggestion accepted as the person’s label');
  });

  it('shows the VLM assist and its cost in the stats panel', async () => {
    await page.keyboard.press('Shift+S');
    const panel = page.locator('.qs-vlm[data-vlm="idle"]');
    await panel.waitFor({ timeout: 30000 });
    expect(await panel.innerText()).toMatch(/fake-vlm is idle: 8 items answered, 8 suggestions stored, 0 failed in this session\./);
    expect(await panel.innerText()).toMatch(/On this dataset: \d+ requests, \d+ images/);
    // The first round also checked the largest predicted group against the class's typical examples.
    expect(await panel.locator('.qs-vlm-verified li').first().innerText()).toMatch(/^Predicted \w+: \d+ of \d+ sampled look wrong to the VLM/);
    await page.screenshot({ path: artifact('e2e-vlm-stats.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: artifact('e2e-vlm-stats-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
