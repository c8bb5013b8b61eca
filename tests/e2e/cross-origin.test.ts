import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server';
import { CHROMIUM, CHROMIUM_ARGS } from '../jupyterlab/test-bed';
import { ensureAppBuilt } from '../server/server-helpers';
import { closeBrowser, labeledSample, requireChromium } from './e2e-helpers';

/**
 * The attacks the Host and Origin checks stop, made by Chromium itself, with the token in hand:
 * - a page of another origin (another port on this machine) opening the WebSocket and fetching /api/;
 * - DNS rebinding: a name of the attacker's that resolves to 127.0.0.1 (Chromium's --host-resolver-rules
 *   plays the rebound DNS), whose page then talks to the server as its own origin.
 * The server must have seen and refused each (its log says so), while --allow-origin lets a listed page in.
 */

requireChromium();

const REBOUND = 'rebound.test';

/** A page that tries the server's WebSocket and /api/info with the token given in its query, then shows what happened. */
const ATTACK_PAGE = `<!doctype html><title>elsewhere</title><script>
(async () => {
  const [server, token] = location.search.slice(1).split(',');
  const socket = await new Promise((resolve) => {
    const ws = new WebSocket('ws://' + server + '/api/socket?token=' + token);
    ws.onopen = () => { ws.close(); resolve('open'); };
    ws.onclose = (event) => resolve('closed ' + event.code);
  });
  const info = await fetch('http://' + server + '/api/info?token=' + token).then((response) => 'status ' + response.status, (error) => error.name);
  window.outcome = { socket, info };
})();
</script>`;

describe('pages of other origins and rebound names, in Chromium', () => {
  jest.setTimeout(120000);
  let sample: Awaited<ReturnType<typeof labeledSample>>;
  let server: RunningServer;
  let allowing: RunningServer;
  let elsewhere: Server;
  let elsewherePort: number;
  let browser: Browser;
  const logged: string[] = [];

  beforeAll(async () => {
    await ensureAppBuilt();
    sample = await labeledSample();
    elsewhere = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(ATTACK_PAGE));
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    elsewherePort = (elsewhere.address() as AddressInfo).port;
    server = await startServer({ dataset: sample.dir, port: 0, user: 'tester', log: (line) => logged.push(line) });
    allowing = await startServer({ dataset: sample.dir, port: 0, user: 'tester', allowOrigins: [`http://127.0.0.1:${elsewherePort}`] });
    // No HTTPS upgrade of the made-up name: it would only add a failed TLS attempt before the http:// load.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${REBOUND} 127.0.0.1`, '--disable-features=HttpsUpgrades'] });
  });

  afterAll(async () => {
    await closeBrowser(browser);
    await server?.close();
    await allowing?.close();
    await new Promise((resolve) => elsewhere?.close(resolve));
    sample?.cleanup();
  });

  /** Opens the attack page at `page` (an origin) against `target` (host:port) and returns what it saw. */
  async function attack(page: Page, from: string, target: string, token: string): Promise<{ socket: string; info: string }> {
    await page.goto(`${from}/?${target},${token}`);
    const outcome = await page.waitForFunction(() => (window as unknown as { outcome?: unknown }).outcome, null, { timeout: 30000 });
    return (await outcome.jsonValue()) as { socket: string; info: string };
  }

  it('a page of another origin gets neither the WebSocket nor /api/, token or not; the server saw and refused both', async () => {
    const page = await browser.newPage();
    try {
      const from = `http://127.0.0.1:${elsewherePort}`;
      expect(await attack(page, from, `127.0.0.1:${server.port}`, server.token)).toEqual({ socket: 'closed 1006', info: 'TypeError' });
      expect(logged).toContainEqual(`refused a WebSocket: Origin "${from}" is not this server's; to let a page served there in, start the server with --allow-origin`);
      expect(logged).toContainEqual(expect.stringMatching(new RegExp(`^refused GET /api/info: Origin "${from}"`)));
      expect(server.clients).toBe(0);
      // The same page, listed with --allow-origin: its WebSocket opens (so the refusal above was the Origin's).
      expect((await attack(page, from, `127.0.0.1:${allowing.port}`, allowing.token)).socket).toBe('open');
    } finally {
      await page.close();
    }
  });

  it('DNS rebinding: a name that resolves to 127.0.0.1 gets no page, no /api/ and no WebSocket', async () => {
    const page = await browser.newPage();
    try {
      const rebound = `${REBOUND}:${server.port}`;
      const response = await page.goto(`http://${rebound}/?token=${server.token}`);
      expect(response!.status()).toBe(403);
      expect(await page.locator('.qs-app').count()).toBe(0);
      // The rebound page is now of the server's port: same-origin requests, the answers readable.
      const answers = await page.evaluate(async (token) => {
        const info = (await fetch(`/api/info?token=${token}`)).status;
        const socket = await new Promise<string>((resolve) => {
          const ws = new WebSocket(`ws://${location.host}/api/socket?token=${token}`);
          ws.onopen = () => resolve('open');
          ws.onclose = (event) => resolve(`closed ${event.code}`);
        });
        return { info, socket };
      }, server.token);
      expect(answers).toEqual({ info: 403, socket: 'closed 1006' });
      expect(logged).toContainEqual(expect.stringMatching(new RegExp(`^refused GET /api/info: Host "${rebound}" is not a name of this server`)));
      for (const line of logged) expect(line).not.toContain(server.token);
    } finally {
      await page.close();
    }
  });
});
