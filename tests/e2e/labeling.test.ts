import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ensureAppBuilt } from '../server/server-helpers';
import {
  artifact,
  CLASSES,
  closeBrowser,
  currentItem,
  eventually,
  labeledSample,
  launchBrowser,
  openApp,
  openGridPage,
  readStore,
  requireChromium,
  SELECTORS,
  spawnServe,
  stopServe,
  waitForApp,
  waitForCurrent,
  waitForSaved,
  watchConsole,
  type ServeProcess,
} from './e2e-helpers';

/**
 * Issue 8: the standalone app, driven with the keyboard only, through the real CLI process
 * (`quicksort serve --json`): 30 labels, two undos, a grid page accepted with a correction, a caption and a
 * tag; a reload brings the view back; the store holds exactly that; SIGINT closes cleanly and the labels are
 * there for the next start.
 */

requireChromium();

const CAPTION = 'Two people on a field, seen from the side';
const TAG = 'needs-review';

describe('the standalone app through `quicksort serve` (keys only)', () => {
  jest.setTimeout(180000);
  let sample: Awaited<ReturnType<typeof labeledSample>>;
  let serve: ServeProcess | undefined;
  let browser: Browser;
  let page: Page;
  let consoleLines: string[] = [];
  /** What the test did, to compare with the store: item → label. */
  const labeled = new Map<number, string>();
  let pageIds: number[] = [];
  let corrected = 0;
  let captioned = 0;

  beforeAll(async () => {
    await ensureAppBuilt();
    sample = await labeledSample();
    serve = await spawnServe(sample.dir, 0, ['--user', 'tester']);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    consoleLines = watchConsole(page);
  });

  afterAll(async () => {
    writeFileSync(artifact('e2e-labeling-console.txt'), consoleLines.join('\n'));
    await closeBrowser(browser);
    if (serve) await stopServe(serve, 'SIGKILL');
    sample?.cleanup();
  });

  it('labels 30 items with class keys, each key showing the next item', async () => {
    await openApp(page, serve!.url);
    expect(await page.locator('.qs-class-key').evaluateAll((keys) => keys.map((key) => `${key.querySelector('kbd')?.textContent} ${key.querySelector('span')?.textContent}`))).toEqual(CLASSES.map((name, i) => `${i + 1} ${name}`));
    // No embeddings: items come in the store's order, and the header says so rather than offering rankers.
    expect(await page.getByLabel('Ranker: which item comes next').count()).toBe(0);
    expect(await page.locator('.qs-ranker').getAttribute('data-ranker')).toBe('order');
    let current = await waitForCurrent(page, { state: 'ready' });
    await page.screenshot({ path: artifact('e2e-focus.png') });
    for (let n = 0; n < 30; n++) {
      const key = String((n % CLASSES.length) + 1);
      await page.keyboard.press(key);
      labeled.set(current, CLASSES[n % CLASSES.length]!);
      current = await waitForCurrent(page, { not: current });
    }
    await waitForSaved(page);
    await eventually(() => readStore(sample.dir, (ds) => ds.stats().labeledByHuman), (n) => n === 30, '30 labels in the store');
  });

  it('undoes twice (u, then Ctrl+Z): the last labeled item is current again', async () => {
    const order = [...labeled.keys()];
    await page.keyboard.press('u');
    await waitForCurrent(page, { id: order[29] });
    await page.keyboard.press('Control+z');
    await waitForCurrent(page, { id: order[28] });
    labeled.delete(order[29]!);
    labeled.delete(order[28]!);
    await waitForSaved(page);
    await eventually(() => readStore(sample.dir, (ds) => ds.stats().labeledByHuman), (n) => n === 28, '28 labels in the store after two undos');
  });

  it('switches to the grid (g) and accepts a page: select all, a class key, one correction, Enter', async () => {
    const grid = await openGridPage(page);
    pageIds = (await page.locator('.qs-cell[data-item-id]').evaluateAll((cells) => cells.map((cell) => Number(cell.getAttribute('data-item-id')))));
    // Without embeddings the page has no prediction: every item needs a class, chosen by keys.
    expect(pageIds.length).toBeGreaterThan(1);
    await page.keyboard.press('Control+a');
    await page.waitForFunction((n) => document.querySelectorAll('.qs-cell.is-selected').length === n, pageIds.length);
    await page.keyboard.press('2');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('3');
    await page.waitForFunction(() => document.querySelectorAll('.qs-cell .qs-cell-caption')[1]?.textContent === '→ food');
    // Wait for the thumbnails before the picture.
    await page.waitForFunction(() => document.querySelectorAll('.qs-cell .qs-thumb-image').length === document.querySelectorAll('.qs-cell[data-item-id]').length, null, { timeout: 30000 });
    await page.screenshot({ path: artifact('e2e-grid.png') });
    const captions = await page.locator('.qs-cell .qs-cell-caption').allInnerTexts();
    expect(captions[1]).toBe('→ food');
    corrected = pageIds[1]!;
    await page.keyboard.press('Enter');
    for (const id of pageIds) labeled.set(id, id === corrected ? 'food' : 'vehicle');
    await waitForSaved(page);
    await eventually(() => readStore(sample.dir, (ds) => ds.stats().labeledByHuman), (n) => n === 28 + pageIds.length, 'the page in the store');
  });

  it('writes a caption (Shift+C) and a tag (Shift+T) on the current item, from the keyboard', async () => {
    await page.keyboard.press('g');
    captioned = await waitForCurrent(page, {});
    expect(labeled.has(captioned)).toBe(false);
    await page.keyboard.press('Shift+C');
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Caption');
    await page.keyboard.type(CAPTION);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.activeElement?.classList.contains('qs-app') === true);
    await page.keyboard.press('Shift+T');
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Add a tag');
    await page.keyboard.type(TAG);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.activeElement?.classList.contains('qs-app') === true);
    await waitForSaved(page);
    await eventually(() => readStore(sample.dir, (ds) => ds.item(captioned)), (item) => item.caption === CAPTION && item.tags.includes(TAG), 'the caption and the tag in the store');
  });

  it('comes back where it was after a reload: the grid with its filter, then the same focus item', async () => {
    // The grid, filtered to captioned items: the view state the page keeps.
    await page.keyboard.press('/');
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Filter the grid');
    await page.keyboard.type('captioned');
    await page.keyboard.press('Enter');
    await page.locator(`${SELECTORS.grid}[data-mode="browse"][data-count="1"]`).waitFor({ timeout: 30000 });
    // Reloaded at once: the view state must not be lost to a pending save.
    await page.reload();
    await waitForApp(page);
    await page.locator(`${SELECTORS.grid}[data-mode="browse"][data-count="1"]`).waitFor({ timeout: 30000 });
    expect(await page.locator('.qs-app').getAttribute('data-view')).toBe('grid');
    expect(await page.getByLabel('Filter the grid').inputValue()).toBe('captioned');
    expect(await page.locator('.qs-cell[data-item-id]').getAttribute('data-item-id')).toBe(String(captioned));
    await page.keyboard.press('g');
    await waitForCurrent(page, { id: captioned });
    expect(await page.getByLabel('Caption').inputValue()).toBe(CAPTION);
    expect(await page.locator('.qs-tag span').allInnerTexts()).toEqual([TAG]);
  });

  it('holds exactly what was done: 28 labels from the focus view, the page, the caption and the tag', async () => {
    const state = await readStore(sample.dir, (ds) => ({
      human: ds.items({ where: { labeled: true } }).map((item) => [item.id, item.label, item.labelSource, item.labeledBy] as const),
      captions: ds.items({ where: { hasCaption: true } }).map((item) => [item.id, item.caption] as const),
      tagged: ds.items().filter((item) => item.tags.length > 0).map((item) => [item.id, item.tags] as const),
      stats: ds.stats(),
    }));
    expect(labeled.size).toBe(28 + pageIds.length);
    expect(new Map(state.human.map(([id, label]) => [id, label]))).toEqual(labeled);
    expect(state.human.every(([, , source, by]) => source === 'human' && by === 'tester')).toBe(true);
    expect(state.captions).toEqual([[captioned, CAPTION]]);
    expect(state.tagged).toEqual([[captioned, [TAG]]]);
    expect(state.stats).toMatchObject({ labeledByHuman: labeled.size, skipped: 0, dontKnow: 0, deleted: 0 });
  });

  it('closes cleanly on SIGINT: the page is told, the process exits 0, the labels are there for the next start', async () => {
    const port = serve!.port;
    expect(await stopServe(serve!, 'SIGINT')).toBe(0);
    expect(serve!.stderr()).toMatch(/SIGINT: closing 1 client\(s\) and the store/);
    expect(serve!.stderr()).toMatch(/stopped/);
    await page.locator(SELECTORS.banner).filter({ hasText: 'The server stopped' }).waitFor({ timeout: 30000 });
    // The store was closed: SQLite folds its write-ahead log back into the database on the last close.
    expect(existsSync(path.join(sample.dir, '.quicksort', 'quicksort.db-wal'))).toBe(false);
    expect(await readStore(sample.dir, (ds) => ds.stats().labeledByHuman)).toBe(labeled.size);

    // Started again on the same port: a fresh token, so the waiting page says the link is stale.
    serve = await spawnServe(sample.dir, port, ['--user', 'tester']);
    await page.locator(SELECTORS.banner).filter({ hasText: 'token' }).waitFor({ timeout: 30000 });
    await openApp(page, serve.url);
    await page.locator('.qs-counts').filter({ hasText: `${labeled.size} labeled` }).waitFor({ timeout: 30000 });
    expect(await currentItem(page)).toBe(captioned);
  });
});
