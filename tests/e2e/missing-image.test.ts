import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { Dataset } from '../../src/dataset';
import { startServer, type RunningServer } from '../../src/server';
import { ensureAppBuilt } from '../server/server-helpers';
import { artifact, closeBrowser, labeledSample, launchBrowser, openApp, readStore, requireChromium, waitForCurrent, waitForSaved, watchConsole } from './e2e-helpers';

/**
 * Images that vanished from disk after ingest: the app shows a placeholder with the reason and labeling goes
 * on — the next key labels the item and the next one shows. Two ways to vanish: deleted since the last ingest
 * (the engine finds out when it reads the file), and deleted before a re-ingest (the store marks it missing).
 */

requireChromium();

describe('the standalone app with image files deleted after ingest', () => {
  jest.setTimeout(120000);
  let sample: Awaited<ReturnType<typeof labeledSample>>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let consoleLines: string[] = [];
  const [first, unreadable, third, markedMissing] = [1, 2, 3, 4];

  beforeAll(async () => {
    await ensureAppBuilt();
    sample = await labeledSample();
    expect(sample.ids.slice(0, 4)).toEqual([first, unreadable, third, markedMissing]);
    const uris = await readStore(sample.dir, (ds) => new Map(ds.items().map((item) => [item.id, item.uri])));
    // Deleted, then ingested again: the store knows it is missing.
    rmSync(path.join(sample.dir, uris.get(markedMissing)!));
    const ds = await Dataset.open(sample.dir, { user: 'tester' });
    try {
      expect((await ds.ingest()).missing).toBe(1);
    } finally {
      ds.close();
    }
    // Deleted since the last ingest: only reading it tells.
    rmSync(path.join(sample.dir, uris.get(unreadable)!));
    server = await startServer({ dataset: sample.dir, port: 0, user: 'tester' });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    consoleLines = watchConsole(page);
  });

  afterAll(async () => {
    writeFileSync(artifact('e2e-missing-image-console.txt'), consoleLines.join('\n'));
    await closeBrowser(browser);
    await server?.close();
    sample?.cleanup();
  });

  const placeholderReason = () => page.locator('.qs-stage .qs-placeholder-reason').innerText({ timeout: 30000 });

  it('shows a placeholder with the reason, and the next key labels the item and moves on', async () => {
    await openApp(page, server.url);
    await waitForCurrent(page, { id: first, state: 'ready' });
    await page.keyboard.press('1');

    await waitForCurrent(page, { id: unreadable, state: 'error' });
    expect(await page.locator('.qs-stage .qs-placeholder').getAttribute('aria-label')).toMatch(/^Image unavailable: .*cannot be read/);
    expect(await placeholderReason()).toMatch(/cannot be read: the file is gone from the dataset folder since the ingest/);
    await page.screenshot({ path: artifact('e2e-missing-image.png') });
    await page.keyboard.press('2');

    await waitForCurrent(page, { id: third, state: 'ready' });
    await page.keyboard.press('3');

    await waitForCurrent(page, { id: markedMissing, state: 'error' });
    expect(await placeholderReason()).toBe('the image file was not found at the last ingest');
    await page.keyboard.press('1');

    const next = await waitForCurrent(page, { not: markedMissing, state: 'ready' });
    expect(next).toBeGreaterThan(markedMissing);
    await waitForSaved(page);
    const labels = await readStore(sample.dir, (ds) => ds.items({ where: { labeled: true } }).map((item) => [item.id, item.label]));
    expect(labels).toEqual([
      [first, 'animal'],
      [unreadable, 'vehicle'],
      [third, 'food'],
      [markedMissing, 'animal'],
    ]);
    // No error reached the page's console: a missing file is a state of the item, not a failure of the app.
    expect(consoleLines.filter((line) => line.startsWith('pageerror'))).toEqual([]);
  });

  it('shows them as small placeholders in the grid too', async () => {
    await page.keyboard.press('/');
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Filter the grid');
    await page.keyboard.type('labeled');
    await page.keyboard.press('Enter');
    await page.locator('.qs-grid-scroll[data-mode="browse"][data-count="4"]').waitFor({ timeout: 30000 });
    for (const id of [unreadable, markedMissing]) {
      await page.locator(`.qs-cell[data-item-id="${id}"] .qs-placeholder-compact`).waitFor({ timeout: 30000 });
    }
    for (const id of [first, third]) {
      await page.locator(`.qs-cell[data-item-id="${id}"] img.qs-thumb-image`).waitFor({ timeout: 30000 });
    }
  });
});
