import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server';
import { tempDir } from '../helpers/fixtures';
import { ensureAppBuilt } from '../server/server-helpers';
import { closeBrowser, labeledSample, launchBrowser, requireChromium, SELECTORS, waitForApp } from './e2e-helpers';

/**
 * What the browser gets without the right token, and for files outside the dataset. tests/server covers the
 * HTTP answers to every spelling of a path; here the page itself: it says what is wrong, opens no WebSocket,
 * and what a page can ask from that origin (fetch, <img>, WebSocket) is refused the same way.
 */

requireChromium();

describe('the standalone app refuses what it must, in the browser', () => {
  jest.setTimeout(120000);
  let sample: Awaited<ReturnType<typeof labeledSample>>;
  let outside: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let browser: Browser;
  let origin: string;
  let image: string;

  beforeAll(async () => {
    await ensureAppBuilt();
    sample = await labeledSample();
    outside = tempDir('quicksort-outside-');
    image = readdirSync(sample.dir).filter((name) => name.endsWith('.jpg')).sort()[0]!;
    writeFileSync(path.join(outside.dir, 'secret.jpg'), readFileSync(path.join(sample.dir, image)));
    symlinkSync(path.join(outside.dir, 'secret.jpg'), path.join(sample.dir, 'link-out.jpg'));
    server = await startServer({ dataset: sample.dir, port: 0, user: 'tester' });
    origin = `http://127.0.0.1:${server.port}`;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await closeBrowser(browser);
    await server?.close();
    sample?.cleanup();
    outside?.cleanup();
  });

  /** A fresh page, recording the WebSockets it opens. */
  async function newPage(): Promise<{ page: Page; sockets: string[] }> {
    const page = await browser.newPage();
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    return { page, sockets };
  }

  it('without a token: says to open the printed URL, renders no app, opens no WebSocket', async () => {
    const { page, sockets } = await newPage();
    try {
      await page.goto(`${origin}/`);
      await page.locator(SELECTORS.banner).filter({ hasText: 'This page needs its token' }).waitFor({ timeout: 30000 });
      expect(await page.locator('.qs-app').count()).toBe(0);
      expect(sockets).toEqual([]);
      expect(server.clients).toBe(0);
    } finally {
      await page.close();
    }
  });

  it('with a wrong token: says the token is not valid, renders no app, opens no WebSocket', async () => {
    const { page, sockets } = await newPage();
    try {
      // Another last character: 'A' alone would be the token itself one time in 16 (32 random bytes in
      // base64url end in one of 16 characters, 'A' among them).
      const wrong = `${server.token.slice(0, -1)}${server.token.endsWith('A') ? 'B' : 'A'}`;
      await page.goto(`${origin}/?token=${wrong}`);
      await page.locator(SELECTORS.banner).filter({ hasText: 'token is not valid for this server' }).waitFor({ timeout: 30000 });
      expect(await page.locator('.qs-app').count()).toBe(0);
      expect(sockets).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('from the page: files, info and the WebSocket need the token; files outside the folder stay out', async () => {
    const { page } = await newPage();
    try {
      await page.goto(server.url);
      await waitForApp(page);
      const answers = await page.evaluate(
        async ({ token, image }) => {
          const status = async (url: string, headers: Record<string, string> = {}) => (await fetch(url, { headers, cache: 'no-store' })).status;
          /** Whether an <img> of this URL shows anything. */
          const shows = (url: string) =>
            new Promise<boolean>((resolve) => {
              const element = new Image();
              element.onload = () => resolve(element.naturalWidth > 0);
              element.onerror = () => resolve(false);
              element.src = url;
            });
          /** How a WebSocket to this URL ends: 'open', or the close code it got without opening. */
          const socket = (url: string) =>
            new Promise<string>((resolve) => {
              const ws = new WebSocket(url);
              ws.onopen = () => {
                ws.close();
                resolve('open');
              };
              ws.onclose = (event) => resolve(`closed ${event.code}`);
            });
          const ws = `ws://${location.host}/api/socket`;
          return {
            file: await status(`/api/files/${image}`),
            fileWrongToken: await status(`/api/files/${image}?token=${token}x`),
            fileWrongBearer: await status(`/api/files/${image}`, { authorization: `Bearer ${token}x` }),
            fileWithToken: await status(`/api/files/${image}?token=${token}`),
            info: await status('/api/info'),
            imageWithoutToken: await shows(`/api/files/${image}`),
            imageWithToken: await shows(`/api/files/${image}?token=${token}`),
            linkOut: await status(`/api/files/link-out.jpg?token=${token}`),
            linkOutImage: await shows(`/api/files/link-out.jpg?token=${token}`),
            encodedSlash: await status(`/api/files/..%2flink-out.jpg?token=${token}`),
            encodedBackslash: await status(`/api/files/..%5c..%5csecret.jpg?token=${token}`),
            store: await status(`/api/files/.quicksort/quicksort.db?token=${token}`),
            socketWithoutToken: await socket(ws),
            socketWrongToken: await socket(`${ws}?token=${token}x`),
            socketWithToken: await socket(`${ws}?token=${token}`),
          };
        },
        { token: server.token, image },
      );
      expect(answers).toEqual({
        file: 401,
        fileWrongToken: 401,
        fileWrongBearer: 401,
        fileWithToken: 200,
        info: 401,
        imageWithoutToken: false,
        imageWithToken: true,
        linkOut: 403,
        linkOutImage: false,
        encodedSlash: 400,
        encodedBackslash: 400,
        store: 403,
        socketWithoutToken: 'closed 1006',
        socketWrongToken: 'closed 1006',
        socketWithToken: 'open',
      });
    } finally {
      await page.close();
    }
  });
});
