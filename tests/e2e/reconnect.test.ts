import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { tempDir } from '../helpers/fixtures';
import { ensureAppBuilt } from '../server/server-helpers';
import {
  artifact,
  closeBrowser,
  currentItem,
  eventually,
  labeledSample,
  launchBrowser,
  openApp,
  readStore,
  requireChromium,
  spawnServe,
  stopServe,
  waitForCurrent,
  waitForSaved,
  watchConsole,
  type ServeProcess,
} from './e2e-helpers';

/**
 * Issue 17, reconnect and resend: `quicksort serve` as a real process, labels typed in the app, the server
 * killed with SIGKILL while some labels have no answer — two committed whose acks never reached the page (the
 * page's socket is routed, and those acks dropped), two sent while the server was stopped (SIGSTOP) and never
 * read, one typed while the page was reconnecting — then started again on the same port with the same token
 * (--token-file). The page reconnects by itself, says hello, resends what had no answer with the same
 * idempotency keys, and the store holds every label typed exactly once.
 */

requireChromium();

describe('the standalone app reconnects and resends after the server was killed', () => {
  jest.setTimeout(180000);
  let sample: Awaited<ReturnType<typeof labeledSample>>;
  let secrets: ReturnType<typeof tempDir>;
  let serve: ServeProcess | undefined;
  let browser: Browser;
  let page: Page;
  let consoleLines: string[] = [];
  /** While set, the acks of labels the server sends are not passed on to the page (lost on the way). */
  let dropAcks = false;
  const typed = new Map<number, string>();

  const serveArgs = () => ['--user', 'tester', '--token-file', path.join(secrets.dir, 'serve.token')];

  beforeAll(async () => {
    await ensureAppBuilt();
    sample = await labeledSample();
    secrets = tempDir();
    serve = await spawnServe(sample.dir, 0, serveArgs());
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    consoleLines = watchConsole(page);
    // The page's socket passes through here, to the real server: each reconnect is routed the same way.
    await page.routeWebSocket(/\/api\/socket/, (socket) => {
      const server = socket.connectToServer();
      socket.onMessage((message) => server.send(message));
      server.onMessage((message) => {
        if (dropAcks && typeof message === 'string' && (JSON.parse(message) as { type?: string }).type === 'ack') return;
        socket.send(message);
      });
    });
  });

  afterAll(async () => {
    writeFileSync(artifact('e2e-reconnect-console.txt'), consoleLines.join('\n'));
    await closeBrowser(browser);
    if (serve) {
      serve.child.kill('SIGCONT');
      await stopServe(serve, 'SIGKILL');
    }
    sample?.cleanup();
    secrets?.cleanup();
  });

  /** Presses a class key on the current item and waits until the next one is shown (optimistic: no answer needed). */
  async function label(key: '1' | '2' | '3', name: string): Promise<void> {
    const item = await currentItem(page);
    expect(item).not.toBeNull();
    await page.keyboard.press(key);
    await waitForCurrent(page, { not: item });
    typed.set(item!, name);
  }

  const humanLabels = (dir: string) =>
    readStore(dir, (ds) => ds.store.events().filter((event) => event.kind === 'label' && event.user === 'tester').map((event) => ({ itemId: event.itemId!, label: (event.payload as { label: string }).label })));

  it('labels with acks lost, the server stopped and killed, the page showing the unsent', async () => {
    await openApp(page, serve!.url);
    await label('1', 'animal');
    await label('2', 'vehicle');
    await waitForSaved(page);

    // Committed, but the page never hears so.
    dropAcks = true;
    await label('3', 'food');
    await label('1', 'animal');
    await eventually(() => humanLabels(sample.dir), (labels) => labels.length === 4, 'the two labels whose acks were dropped, in the store');
    await page.locator('.qs-saving', { hasText: 'saving 2' }).waitFor({ timeout: 30000 });

    // Sent to a server that reads nothing any more, then killed: never committed.
    serve!.child.kill('SIGSTOP');
    await label('2', 'vehicle');
    await label('3', 'food');
    await page.locator('.qs-saving', { hasText: 'saving 4' }).waitFor({ timeout: 30000 });
    serve!.child.kill('SIGKILL');
    expect(await serve!.exited).toBe('SIGKILL');

    await page.locator('.qs-app[data-connection="reconnecting"]').waitFor({ timeout: 30000 });
    // Typed while the page has no server: kept, shown as unsent.
    await label('1', 'animal');
    await page.locator('.qs-unsent[data-unsent="5"]').waitFor({ timeout: 30000 });
    expect(await page.locator('.qs-connection').textContent()).toBe('reconnecting…5 unsent');
    await page.locator('.qs-bar').screenshot({ path: artifact('e2e-reconnect-header.png') });
    expect(await humanLabels(sample.dir)).toHaveLength(4);
  });

  it('reconnects by itself to the restarted server and resends: every label typed is in the store exactly once', async () => {
    dropAcks = false;
    const before = serve!;
    serve = await spawnServe(sample.dir, before.port, serveArgs());
    expect(serve.url).toBe(before.url);

    await page.locator('.qs-app[data-connection="connected"]').waitFor({ timeout: 60000 });
    await waitForSaved(page);
    const labels = await eventually(() => humanLabels(sample.dir), (found) => found.length >= typed.size, 'every label typed, in the store');
    expect(labels).toHaveLength(typed.size);
    expect(new Map(labels.map((entry) => [entry.itemId, entry.label]))).toEqual(typed);
    const items = await readStore(sample.dir, (ds) => [...typed.keys()].map((id) => ds.item(id)));
    expect(items.map((item) => [item.id, item.label, item.labeledBy])).toEqual([...typed].map(([id, name]) => [id, name, 'tester']));

    // The page goes on as before: the next label is saved and acknowledged.
    await label('2', 'vehicle');
    await waitForSaved(page);
    await eventually(() => humanLabels(sample.dir), (found) => found.length === typed.size, 'the label typed after the reconnect');
    expect(consoleLines.filter((line) => line.startsWith('pageerror'))).toEqual([]);
    expect(await stopServe(serve, 'SIGINT')).toBe(0);
    serve = undefined;
  });
});
