import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import WebSocket from 'ws';
import { Dataset } from '../../src/dataset';
import { accessRules, OriginCheck, startServer, type RunningServer } from '../../src/server';
import { spawnServe, stopServe } from '../e2e/e2e-helpers';
import { sampleCopy } from '../helpers/fixtures';
import { ensureAppBuilt, json, rawGet } from './server-helpers';

/**
 * Host and Origin checks (DNS rebinding, cross-site WebSocket hijacking) and the token kept out of every answer
 * and log line. Clients are real: node's http with the headers a browser or an attacker would send, and the
 * `ws` client.
 */

/** How a WebSocket handshake ends: 'open', or the HTTP status it was refused with. */
function handshake(url: string, headers: Record<string, string> = {}): Promise<number | 'open'> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => {
      resolve('open');
      socket.close();
    });
    socket.once('error', (error) => reject(error));
  });
}

/** The body of a refused WebSocket handshake. */
function refusalBody(url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => resolve(body));
    });
    socket.once('open', () => reject(new Error(`the WebSocket at ${url} was accepted`)));
    socket.once('error', () => undefined);
  });
}

const bound = (address: string, port: number): AddressInfo => ({ address, port, family: address.includes(':') ? 'IPv6' : 'IPv4' });

describe('which Host and Origin names a server answers', () => {
  it('bound to loopback: 127.0.0.1, localhost and [::1] at its port, nothing else', () => {
    const check = new OriginCheck(accessRules(), bound('127.0.0.1', 8765), '127.0.0.1');
    expect([...check.hosts].sort()).toEqual(['127.0.0.1:8765', '[::1]:8765', 'localhost:8765']);
    expect([...check.origins].sort()).toEqual(['http://127.0.0.1:8765', 'http://[::1]:8765', 'http://localhost:8765']);
    expect(new OriginCheck(accessRules(), bound('::1', 9), 'localhost').hosts).toEqual(new Set(['localhost:9', '[::1]:9', '127.0.0.1:9']));
  });

  it('bound to one address: that address and the name it was asked by; to every address: the interfaces, localhost and the host name', () => {
    const one = new OriginCheck(accessRules(), bound('10.1.2.3', 8765), 'box.lan');
    expect([...one.hosts].sort()).toEqual(['10.1.2.3:8765', 'box.lan:8765']);
    const any = new OriginCheck(accessRules(), bound('0.0.0.0', 8765), '0.0.0.0');
    const addresses = Object.values(networkInterfaces()).flat().map((info) => (info!.family === 'IPv6' ? `[${info!.address}]` : info!.address));
    expect([...any.hosts].sort()).toEqual([...new Set([...addresses, 'localhost', hostname().toLowerCase()].map((name) => `${name}:8765`))].sort());
    expect(any.hosts.has('0.0.0.0:8765')).toBe(false);
    // On port 80 a browser leaves the port out.
    expect(new OriginCheck(accessRules(), bound('127.0.0.1', 80), '127.0.0.1').origins.has('http://localhost')).toBe(true);
  });

  it('adds --allow-host names (exactly with a port, on any port without one) and --allow-origin origins, normalised; refuses what cannot match', () => {
    const rules = accessRules({ allowHosts: ['Labeling.Example.org', 'proxy:443', '[fd00::1]'], allowOrigins: ['http://LOCALHOST:8888/', 'https://lab.example.org'] });
    const check = new OriginCheck(rules, bound('127.0.0.1', 8765), '127.0.0.1');
    expect(check.hosts).toEqual(new Set(['127.0.0.1:8765', 'localhost:8765', '[::1]:8765', 'proxy:443']));
    expect(check.anyPort).toEqual(new Set(['labeling.example.org', '[fd00::1]']));
    const refusal = (host: string, origin?: string) => check.refusal({ headers: { host, ...(origin ? { origin } : {}) } } as IncomingMessage, true);
    for (const [host, origin] of [
      ['labeling.example.org', 'https://labeling.example.org'],
      ['labeling.example.org:8443', 'http://labeling.example.org:8443'],
      ['[fd00::1]:8765', undefined],
      ['proxy:443', 'https://proxy'],
      ['localhost:8765', 'http://localhost:8888'],
      ['localhost:8765', 'https://lab.example.org'],
    ] as const) expect(refusal(host, origin)).toBeUndefined();
    expect(refusal('proxy:8080')).toMatch(/is not a name of this server/);
    expect(refusal('localhost:8765', 'http://evil.example.org')).toMatch(/is not this server's/);
    expect(refusal('localhost:8765', 'null')).toMatch(/is not this server's/);
    for (const origin of ['localhost:8888', 'http://localhost:8888/lab', 'ftp://files.example.org', 'http://localhost:8888?x=1', 'http://user@localhost', '*', 'null']) {
      expect(() => accessRules({ allowOrigins: [origin] })).toThrow(new RegExp(`--allow-origin ${JSON.stringify(origin).replace(/[?*.]/g, '\\$&')} is not an origin: give scheme://host\\[:port\\]`));
    }
    for (const host of ['http://box.lan', 'box.lan/x', 'a b', '']) expect(() => accessRules({ allowHosts: [host] })).toThrow(/--allow-host .* is not a host name/);
  });
});

describe('quicksort serve: Host and Origin checks, and the token kept to itself', () => {
  jest.setTimeout(60000);
  let data: ReturnType<typeof sampleCopy>;
  let server: RunningServer;
  let allowing: RunningServer;
  const logged: string[] = [];

  beforeAll(async () => {
    await ensureAppBuilt();
    data = sampleCopy();
    const ds = await Dataset.open(data.dir, { user: 'ann' });
    await ds.ingest();
    ds.close();
    server = await startServer({ dataset: data.dir, port: 0, log: (line) => logged.push(line) });
    allowing = await startServer({ dataset: data.dir, port: 0, allowOrigins: ['http://localhost:8888'], allowHosts: ['labeling.example.org'] });
  });
  afterAll(async () => {
    await server?.close();
    await allowing?.close();
    data?.cleanup();
  });

  const socketUrl = (running: RunningServer) => `ws://127.0.0.1:${running.port}/api/socket?token=${running.token}`;
  const bearer = (running: RunningServer) => ({ authorization: `Bearer ${running.token}` });

  it('refuses a WebSocket from a page of another origin (403), with the right token', async () => {
    expect(await handshake(socketUrl(server), { Origin: 'http://evil.example' })).toBe(403);
    expect(await handshake(socketUrl(server), { Origin: 'http://127.0.0.1:8888' })).toBe(403);
    expect(await handshake(socketUrl(server), { Origin: 'null' })).toBe(403);
    expect(JSON.parse(await refusalBody(socketUrl(server), { Origin: 'http://evil.example' }))).toEqual({
      error: 'forbidden',
      reason: 'Origin "http://evil.example" is not this server\'s; to let a page served there in, start the server with --allow-origin',
    });
    expect(logged).toContainEqual(expect.stringMatching(/^refused a WebSocket: Origin "http:\/\/evil.example"/));
    expect(server.clients).toBe(0);
  });

  it('refuses every request on a name that is not the server\'s (DNS rebinding): the page, /api/, the WebSocket', async () => {
    const rebound = { host: `evil.example:${server.port}` };
    expect((await rawGet(server.port, '/', rebound)).status).toBe(403);
    expect((await rawGet(server.port, '/labeling-app.js', rebound)).status).toBe(403);
    const info = await rawGet(server.port, '/api/info', { ...rebound, ...bearer(server) });
    expect(info.status).toBe(403);
    expect(json(info).reason).toBe(`Host "evil.example:${server.port}" is not a name of this server; if it is one, start the server with --allow-host`);
    expect(await handshake(socketUrl(server), { Host: rebound.host })).toBe(403);
    expect(await handshake(socketUrl(server), { Host: rebound.host, Origin: `http://${rebound.host}` })).toBe(403);
    // The right name at another port is another server.
    expect((await rawGet(server.port, '/', { host: `127.0.0.1:${server.port + 1}` })).status).toBe(403);
  });

  it('accepts its own origins and names, and clients that send no Origin (curl, scripts), with the token', async () => {
    for (const name of ['127.0.0.1', 'localhost', '[::1]']) {
      const own = `${name}:${server.port}`;
      expect(await handshake(socketUrl(server), { Host: own, Origin: `http://${own}` })).toBe('open');
      expect((await rawGet(server.port, '/api/info', { host: own, origin: `http://${own}`, ...bearer(server) })).status).toBe(200);
      expect((await rawGet(server.port, '/', { host: own })).status).toBe(200);
    }
    expect(await handshake(socketUrl(server))).toBe('open');
    expect((await rawGet(server.port, '/api/info', bearer(server))).status).toBe(200);
    // A foreign Origin on /api/ is refused like on the WebSocket, and the token is still needed with the right one.
    expect((await rawGet(server.port, '/api/info', { origin: 'http://evil.example', ...bearer(server) })).status).toBe(403);
    expect((await rawGet(server.port, '/api/info', { origin: `http://127.0.0.1:${server.port}` })).status).toBe(401);
    expect(await handshake(`ws://127.0.0.1:${server.port}/api/socket`, { Origin: `http://127.0.0.1:${server.port}` })).toBe(401);
  });

  it('--allow-origin lets a listed page in (a JupyterLab at localhost:8888), --allow-host a listed name; nothing more', async () => {
    expect(await handshake(socketUrl(allowing), { Origin: 'http://localhost:8888' })).toBe('open');
    expect((await rawGet(allowing.port, '/api/info', { origin: 'http://localhost:8888', ...bearer(allowing) })).status).toBe(200);
    expect(await handshake(socketUrl(allowing), { Origin: 'http://localhost:8889' })).toBe(403);
    expect(await handshake(socketUrl(server), { Origin: 'http://localhost:8888' })).toBe(403);
    const named = `labeling.example.org:${allowing.port}`;
    expect(await handshake(socketUrl(allowing), { Host: named, Origin: `http://${named}` })).toBe('open');
    expect((await rawGet(allowing.port, '/', { host: named })).status).toBe(200);
    // Given without a port, the name is a reverse proxy's too: its own port or none, over http or https.
    expect((await rawGet(allowing.port, '/', { host: 'labeling.example.org' })).status).toBe(200);
    expect(await handshake(socketUrl(allowing), { Host: 'labeling.example.org', Origin: 'https://labeling.example.org' })).toBe('open');
    expect((await rawGet(allowing.port, '/', { host: 'other.example.org' })).status).toBe(403);
    expect(await handshake(socketUrl(allowing), { Host: 'labeling.example.org', Origin: 'https://evil.example.org' })).toBe(403);
  });

  it('never shows the token: wrong tokens, foreign origins, the token in a path, failures', async () => {
    const token = server.token;
    const answers = [
      await rawGet(server.port, `/api/info?token=${token}x`),
      await rawGet(server.port, '/api/info', { authorization: `Bearer ${token}x` }),
      await rawGet(server.port, `/api/info?token=${token}`, { origin: 'http://evil.example' }),
      await rawGet(server.port, `/api/info?token=${token}`, { host: 'evil.example' }),
      // A link whose ? was escaped: the token lands in the path, which answers quote.
      await rawGet(server.port, `/%3Ftoken=${token}`),
      await rawGet(server.port, `/api/nothing%3Ftoken=${token}`, bearer(server)),
      await rawGet(server.port, `/api/files/a%3Ftoken=${token}`, bearer(server)),
      await rawGet(server.port, `/api/files/${token}.jpg`, bearer(server)),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([401, 401, 403, 403, 404, 404, 403, 404]);
    expect(json(answers[4]!).reason).toBe('nothing at /%3Ftoken=<token>');
    const bodies = [
      ...answers.map((answer) => `${JSON.stringify(answer.headers)}\n${answer.body.toString('utf8')}`),
      await refusalBody(`${socketUrl(server)}x`),
      await refusalBody(socketUrl(server), { Origin: `http://${token}.example` }),
      await refusalBody(`ws://127.0.0.1:${server.port}/%3Ftoken=${token}?token=${token}`),
    ];
    for (const body of bodies) expect(body).not.toContain(token);
    expect(bodies.join('\n')).toMatch(/<token>/);

    // A failure inside a request: the store closed under a running server answers 500 and logs it.
    const ds = await Dataset.open(data.dir);
    const lines: string[] = [];
    const failing = await startServer({ dataset: ds, port: 0, log: (line) => lines.push(line) });
    ds.close();
    const failed = await rawGet(failing.port, `/api/info?token=${failing.token}`);
    expect(failed.status).toBe(500);
    expect(failed.body.toString('utf8')).not.toContain(failing.token);
    expect(lines).toContainEqual(expect.stringMatching(/^request GET \/api\/info failed: /));
    await rawGet(failing.port, `/api/info?token=${failing.token}`, { origin: `http://${failing.token}.example` });
    expect(lines).toContainEqual(expect.stringMatching(/^refused GET \/api\/info: Origin "http:\/\/<token>.example"/));
    for (const line of [...lines, ...logged]) {
      expect(line).not.toContain(failing.token);
      expect(line).not.toContain(token);
    }
    await failing.close().catch(() => undefined);
  });
});

describe('quicksort serve --allow-origin, --allow-host: the process', () => {
  jest.setTimeout(60000);
  let data: ReturnType<typeof sampleCopy>;

  beforeAll(async () => {
    await ensureAppBuilt();
    data = sampleCopy();
    const ds = await Dataset.open(data.dir);
    await ds.ingest();
    ds.close();
  });
  afterAll(() => data?.cleanup());

  it('takes repeated flags and comma lists; refuses the rest, and its stderr never shows the token', async () => {
    const serve = await spawnServe(data.dir, 0, ['--allow-origin', 'http://localhost:8888,http://localhost:8889', '--allow-origin', 'https://lab.example.org', '--allow-host', 'box.lan']);
    try {
      const url = `ws://127.0.0.1:${serve.port}/api/socket?token=${serve.token}`;
      for (const origin of ['http://localhost:8888', 'http://localhost:8889', 'https://lab.example.org', `http://box.lan:${serve.port}`]) expect(await handshake(url, { Origin: origin })).toBe('open');
      expect(await handshake(url, { Origin: 'http://localhost:8890' })).toBe(403);
      expect(await handshake(url, { Host: `box.lan:${serve.port}` })).toBe('open');
      expect((await rawGet(serve.port, `/api/info?token=${serve.token}`, { host: `evil.example:${serve.port}` })).status).toBe(403);
      expect((await rawGet(serve.port, `/api/nothing%3Ftoken=${serve.token}x`, { origin: 'http://evil.example' })).status).toBe(403);
    } finally {
      expect(await stopServe(serve)).toBe(0);
    }
    expect(serve.stderr()).toMatch(/refused a WebSocket: Origin "http:\/\/localhost:8890"/);
    expect(serve.stderr()).toMatch(/refused GET \/api\/nothing%3Ftoken=<token>: Origin "http:\/\/evil.example"/);
    expect(serve.stderr()).not.toContain(serve.token);

    await expect(spawnServe(data.dir, 0, ['--allow-origin', 'localhost:8888'])).rejects.toThrow(/exited \(2\) before printing its URL:\nquicksort: --allow-origin "localhost:8888" is not an origin: give scheme:\/\/host\[:port\] and nothing after it, like http:\/\/localhost:8888/);
    await expect(spawnServe(data.dir, 0, ['--allow-host', 'http://box.lan'])).rejects.toThrow(/exited \(2\) before printing its URL:\nquicksort: --allow-host "http:\/\/box.lan" is not a host name/);
  });
});
