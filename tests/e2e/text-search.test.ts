import { writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { Dataset } from '../../src/dataset';
import { startServer, type RunningServer } from '../../src/server';
import { captionedCocoMini } from '../helpers/captioned-dataset';
import { ensureAppBuilt } from '../server/server-helpers';
import { artifact, closeBrowser, eventually, launchBrowser, openApp, readStore, requireChromium, waitForCurrent, waitForSaved, watchConsole } from './e2e-helpers';

/**
 * Search in plain language, "more like this", the caption editor and bulk tags in the standalone app, in
 * Chromium, keys only: coco-mini-train embedded, its COCO captions imported and the text model trained
 * before `quicksort serve` starts. Screenshots of each panel touched, light and dark.
 */

requireChromium();

/** Waits until the grid lists found items, every cell with its item, its thumbnail and a score. */
async function foundCells(page: Page): Promise<{ id: number; score: number }[]> {
  await page.waitForFunction(
    () => {
      const scroller = document.querySelector('.qs-grid-scroll[data-mode="found"]');
      const cells = [...document.querySelectorAll('.qs-grid-scroll .qs-cell[data-item-id]')];
      return scroller !== null && Number(scroller.getAttribute('data-count')) > 0 && cells.length > 0 && cells.every((cell) => cell.querySelector('.qs-score') && cell.querySelector('img.qs-thumb-image'));
    },
    null,
    { timeout: 30000 },
  );
  return page.locator('.qs-grid-scroll .qs-cell[data-item-id]').evaluateAll((cells) =>
    cells.map((cell) => ({ id: Number(cell.getAttribute('data-item-id')), score: Number(cell.querySelector('.qs-score')!.textContent) })),
  );
}

describe('search, more like this and captions in the standalone app (keys only)', () => {
  jest.setTimeout(240000);
  let data: Awaited<ReturnType<typeof captionedCocoMini>>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let consoleLines: string[] = [];

  beforeAll(async () => {
    await ensureAppBuilt();
    data = await captionedCocoMini('seeder');
    server = await startServer({ dataset: data.dir, port: 0, user: 'tester' });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    consoleLines = watchConsole(page);
  });

  afterAll(async () => {
    writeFileSync(artifact('e2e-text-search-console.txt'), consoleLines.join('\n'));
    await closeBrowser(browser);
    await server?.close();
    data?.cleanup();
  });

  it('shows the trained text model, the item’s captions and captions of similar images beside the caption box', async () => {
    await openApp(page, server.url);
    await page.locator('.qs-text-badge[data-text-model="ready"]').waitFor({ timeout: 30000 });
    const current = await waitForCurrent(page, { state: 'ready' });
    // The item's five COCO captions: one in the box, four listed; then five captions of other images.
    await page.locator('.qs-caption-list[aria-label="From similar images"] li').nth(4).waitFor({ timeout: 30000 });
    const own = await readStore(data.dir, (ds) => ds.item(current).captions.map((c) => c.text));
    expect(own).toHaveLength(5);
    expect(await page.getByLabel('Caption', { exact: true }).inputValue()).toBe(own[0]);
    const others = await page.locator('.qs-caption-list[aria-label="Other captions (4)"] .qs-caption-text').allInnerTexts();
    expect(others).toEqual(own.slice(1));
    const similar = await page.locator('.qs-caption-list[aria-label="From similar images"] .qs-caption-text').allInnerTexts();
    expect(similar.filter((text) => own.includes(text))).toEqual([]);
    await page.screenshot({ path: artifact('e2e-text-focus.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: artifact('e2e-text-focus-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('searches in plain language with Shift+Q: the grid lists the best items first, with their scores, as the engine ranks them', async () => {
    await page.keyboard.press('Shift+Q');
    await page.keyboard.type('unlabeled a giraffe standing near a tree');
    await page.keyboard.press('Enter');
    const cells = await foundCells(page);
    for (let i = 1; i < cells.length; i++) expect(cells[i]!.score).toBeLessThanOrEqual(cells[i - 1]!.score);
    const ds = await Dataset.open(data.dir, { readonly: true });
    const expected = await Promise.resolve(ds.search('a giraffe standing near a tree', { k: 5, where: { labeled: false } })).finally(() => ds.close());
    expect(cells.slice(0, 5).map((cell) => cell.id)).toEqual(expected.map((hit) => hit.id));
    expect(await page.locator('.qs-grid-info').innerText()).toMatch(/^80 found “a giraffe standing near a tree” · unlabeled/);
    await page.screenshot({ path: artifact('e2e-text-search.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: artifact('e2e-text-search-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('labels, tags and captions the found selection, each as one batch, undone with one key', async () => {
    const cells = await foundCells(page);
    const chosen = cells.slice(0, 3).map((cell) => cell.id);
    // The keyboard cursor starts on the first cell: Shift+→ twice selects three.
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('1');
    await waitForSaved(page);
    await eventually(() => readStore(data.dir, (ds) => chosen.map((id) => ds.item(id).label)), (labels) => labels.every((l) => l === 'animal'), 'three labels');

    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowLeft');
    await page.keyboard.press('Shift+ArrowLeft');
    await page.keyboard.press('Shift+T');
    await page.keyboard.type('tall, outdoor');
    await page.keyboard.press('Enter');
    await waitForSaved(page);
    const tagged = cells.slice(0, 2).map((cell) => cell.id);
    await eventually(() => readStore(data.dir, (ds) => tagged.map((id) => ds.item(id).tags)), (tags) => tags.every((t) => t.join() === 'tall,outdoor'), 'two items tagged');

    await page.keyboard.press('u');
    await waitForSaved(page);
    await eventually(() => readStore(data.dir, (ds) => tagged.map((id) => ds.item(id).tags.length)), (counts) => counts.every((n) => n === 0), 'the tags undone');
    // The labels stay: undo took back only the last batch.
    expect(await readStore(data.dir, (ds) => chosen.map((id) => ds.item(id).label))).toEqual(['animal', 'animal', 'animal']);
  });

  it('finds more like this from the item in focus with Shift+M', async () => {
    await page.keyboard.press('g');
    await page.locator('.qs-focus').waitFor({ timeout: 30000 });
    const current = await waitForCurrent(page, { state: 'ready' });
    await page.keyboard.press('Shift+M');
    const cells = await foundCells(page);
    expect(cells.map((cell) => cell.id)).not.toContain(current);
    const name = await readStore(data.dir, (ds) => ds.item(current).uri.split('/').pop());
    expect(await page.locator('.qs-grid-info').innerText()).toMatch(new RegExp(`^79 found like ${name!.replace('.', '\\.')}`));
    await page.screenshot({ path: artifact('e2e-text-more-like-this.png') });
  });

  it('shows the text model in the stats panel', async () => {
    await page.keyboard.press('Shift+S');
    const panel = page.locator('.qs-text-model[data-text-model="ready"]');
    await panel.waitFor({ timeout: 30000 });
    expect(await panel.innerText()).toMatch(/Trained on 400 captions of 80 images/);
    await page.screenshot({ path: artifact('e2e-text-stats.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: artifact('e2e-text-stats-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
