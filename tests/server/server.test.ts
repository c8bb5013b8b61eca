import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { Dataset } from '../../src/dataset';
import { decodeFrame as decodeServerFrame, encodeEnvelope, startServer, tokenMatches, type RunningServer } from '../../src/server';
import type { ServerMessage } from '../../src/session';
import { decodeFrame, encodeFrame } from '../../widget/src/standalone/frames';
import { sampleCopy, tempDir } from '../helpers/fixtures';
import { ensureAppBuilt, json, rawGet } from './server-helpers';

/** A WebSocket client of the session protocol, reading frames the way the page does. */
type Received = { message: ServerMessage; buffers: DataView[] };

class SocketClient {
  readonly inbox: Received[] = [];
  private nextId = 1;
  private readonly waiters = new Set<{ match: (entry: Received) => boolean; resolve: (entry: Received) => void }>();
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, binary: boolean) => {
      const frame = decodeFrame(binary ? new Uint8Array(data).buffer : data.toString('utf8'));
      const entry = { message: frame.message as ServerMessage, buffers: frame.buffers };
      this.inbox.push(entry);
      for (const waiter of [...this.waiters]) {
        if (!waiter.match(entry)) continue;
        this.waiters.delete(waiter);
        waiter.resolve(entry);
      }
    });
  }
  static open(url: string): Promise<SocketClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new SocketClient(socket)));
      socket.once('error', reject);
    });
  }
  send(message: Record<string, unknown>): number {
    const requestId = this.nextId++;
    this.socket.send(JSON.stringify({ requestId, ...message }));
    return requestId;
  }
  /** The first message received (so far or to come) that matches; the test's timeout bounds the wait. */
  received(match: (entry: Received) => boolean): Promise<Received> {
    const found = this.inbox.find(match);
    return found ? Promise.resolve(found) : new Promise((resolve) => this.waiters.add({ match, resolve }));
  }
  reply(requestId: number): Promise<Received> {
    return this.received((entry) => (entry.message as { requestId?: number }).requestId === requestId);
  }
}

/** What a WebSocket handshake is answered with, when it is refused. */
function refusedUpgrade(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => reject(new Error(`the WebSocket at ${url} was accepted`)));
    socket.once('error', () => undefined);
  });
}

describe('quicksort serve: the HTTP and WebSocket host', () => {
  jest.setTimeout(60000);
  let data: ReturnType<typeof sampleCopy>;
  let outside: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let base: string;

  beforeAll(async () => {
    await ensureAppBuilt();
    data = sampleCopy();
    outside = tempDir('quicksort-outside-');
    writeFileSync(path.join(outside.dir, 'secret.jpg'), readFileSync(path.join(data.dir, readFileSyncFirst(data.dir))));
    writeFileSync(path.join(data.dir, 'notes.txt'), 'not an image');
    // Links inside the dataset that lead out of it: one file, one folder.
    symlinkSync(path.join(outside.dir, 'secret.jpg'), path.join(data.dir, 'link-out.jpg'));
    symlinkSync(outside.dir, path.join(data.dir, 'folder-out'));
    mkdirSync(path.join(data.dir, 'sub'));
    writeFileSync(path.join(data.dir, 'sub', 'inner image.jpg'), readFileSync(path.join(data.dir, readFileSyncFirst(data.dir))));
    const ds = await Dataset.open(data.dir, { user: 'ann' });
    await ds.ingest();
    ds.addClass('cat');
    ds.close();
    // Links that stay inside the folder but lead into its hidden state folder: the store, under an image's name.
    symlinkSync(path.join(data.dir, '.quicksort', 'quicksort.db'), path.join(data.dir, 'store.jpg'));
    symlinkSync(path.join(data.dir, '.quicksort'), path.join(data.dir, 'state'));
    writeFileSync(path.join(data.dir, '.quicksort', 'cached.jpg'), readFileSync(path.join(data.dir, readFileSyncFirst(data.dir))));
    server = await startServer({ dataset: data.dir, port: 0, user: 'ann' });
    base = `127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.close();
    data?.cleanup();
    outside?.cleanup();
  });

  it('binds to 127.0.0.1 and prints a URL with a fresh token', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(40);
    const other = await startServer({ dataset: data.dir, port: 0 });
    expect(other.token).not.toBe(server.token);
    await other.close();
    expect(server.hasEmbeddings).toBe(false); // never embedded: it runs without
  });

  it('refuses every /api/ request without the right token (401); tokens compare by digest', async () => {
    for (const rawPath of ['/api/info', '/api/socket', '/api/files/x.jpg', '/api/nothing', '/api']) {
      expect((await rawGet(server.port, rawPath)).status).toBe(401);
      expect((await rawGet(server.port, `${rawPath}?token=wrong`)).status).toBe(401);
      expect((await rawGet(server.port, rawPath, { authorization: `Bearer ${server.token}x` })).status).toBe(401);
    }
    const refused = await rawGet(server.port, '/api/info');
    expect(refused.headers['www-authenticate']).toMatch(/Bearer/);
    expect(json(refused)).toMatchObject({ error: 'unauthorized', reason: expect.stringMatching(/token/) });
    expect((await rawGet(server.port, `/api/info?token=${server.token}`)).status).toBe(200);
    const info = json(await rawGet(server.port, '/api/info', { authorization: `Bearer ${server.token}` }));
    expect(info).toMatchObject({ dataset: data.dir, protocol: 1, items: expect.any(Number), hasEmbeddings: false });
    expect(tokenMatches(undefined, 'abc')).toBe(false);
    expect(tokenMatches('', 'abc')).toBe(false);
    expect(tokenMatches('abcd', 'abc')).toBe(false);
    expect(tokenMatches('abc', 'abc')).toBe(true);
  });

  it('serves the app without a token, with a strict content policy, and nothing else', async () => {
    const page = await rawGet(server.port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body.toString()).toMatch(/standalone\.js/);
    const app = await rawGet(server.port, '/labeling-app.js');
    expect(app.status).toBe(200);
    expect(app.headers['content-type']).toMatch(/javascript/);
    expect((await rawGet(server.port, '/labeling-app.css')).status).toBe(200);
    expect((await rawGet(server.port, '/../package.json')).status).toBe(404);
    expect((await rawGet(server.port, '/widget/build.js')).status).toBe(404);
    expect((await rawGet(server.port, '/', {}, 'POST')).status).toBe(405);
  });

  it('serves image files of the dataset folder by their path', async () => {
    const auth = { authorization: `Bearer ${server.token}` };
    const name = readFileSyncFirst(data.dir);
    const image = await rawGet(server.port, `/api/files/${name}`, auth);
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/jpeg');
    expect(image.body.equals(readFileSync(path.join(data.dir, name)))).toBe(true);
    expect((await rawGet(server.port, '/api/files/sub/inner%20image.jpg', auth)).status).toBe(200);
    expect((await rawGet(server.port, '/api/files/sub/missing.jpg', auth)).status).toBe(404);
    // A dataset opened through a link, from inside a hidden folder: only what lies under it counts.
    const mounted = path.join(outside.dir, '.mounted');
    symlinkSync(data.dir, mounted);
    const other = await startServer({ dataset: mounted, port: 0 });
    try {
      expect((await rawGet(other.port, `/api/files/${name}`, { authorization: `Bearer ${other.token}` })).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('refuses paths out of the dataset folder: ../, encoded variants, symbolic links, the store, other files', async () => {
    const auth = { authorization: `Bearer ${server.token}` };
    const cases: [string, number][] = [
      ['/api/files/../secret.jpg', 400],
      ['/api/files/sub/../../secret.jpg', 400],
      ['/api/files/%2e%2e/secret.jpg', 400],
      ['/api/files/%2E%2E/%2e%2e/etc/passwd.jpg', 400],
      ['/api/files/..%2fsecret.jpg', 400],
      ['/api/files/..%2Fsecret.jpg', 400],
      ['/api/files/sub%2f..%2f..%2fsecret.jpg', 400],
      ['/api/files/..%5csecret.jpg', 400],
      ['/api/files/..\\secret.jpg', 400],
      ['/api/files//etc/passwd', 400],
      ['/api/files/a.jpg%00.txt', 400],
      ['/api/files/%252e%252e/secret.jpg', 404],
      ['/api/files/link-out.jpg', 403],
      ['/api/files/folder-out/secret.jpg', 403],
      ['/api/files/.quicksort/quicksort.db', 403],
      ['/api/files/notes.txt', 403],
      ['/api/files/%E0%A4%A', 400],
      ['/api/files/.%2e/secret.jpg', 400],
      ['/api/files/%2e./secret.jpg', 400],
      ['/api/files/sub/%2e/inner%20image.jpg', 400],
      ['/api/files/%c0%ae%c0%ae/secret.jpg', 400],
      ['/api/files/store.jpg', 403],
      ['/api/files/state/cached.jpg', 403],
    ];
    for (const [rawPath, status] of cases) {
      const response = await rawGet(server.port, rawPath, auth);
      expect([rawPath, response.status]).toEqual([rawPath, status]);
      expect(response.body.toString()).not.toContain('JFIF');
    }
    expect(json(await rawGet(server.port, '/api/files/link-out.jpg', auth)).reason).toMatch(/outside the dataset folder \(through a symbolic link\)/);
    expect(json(await rawGet(server.port, '/api/files/store.jpg', auth)).reason).toMatch(/hidden files and folders .* through a symbolic link/);
  });

  it('refuses WebSockets without the token (401) and elsewhere than /api/socket', async () => {
    expect(await refusedUpgrade(`ws://${base}/api/socket`)).toBe(401);
    expect(await refusedUpgrade(`ws://${base}/api/socket?token=nope`)).toBe(401);
    expect(await refusedUpgrade(`ws://${base}/other?token=${server.token}`)).toBe(404);
  });

  it('carries the session protocol: JSON text frames, images as one binary frame with their bytes', async () => {
    const client = await SocketClient.open(`ws://${base}/api/socket?token=${server.token}`);
    const welcome = await client.reply(client.send({ type: 'hello', prefetch: 3 }));
    expect(welcome.message).toMatchObject({ type: 'welcome', user: 'ann', dataset: data.dir, classes: [{ name: 'cat', key: '1' }] });
    const queue = (await client.received((entry) => entry.message.type === 'queue')).message as Extract<ServerMessage, { type: 'queue' }>;
    expect(queue.items).toHaveLength(4);
    const current = queue.items[0]!.id;
    const image = await client.reply(client.send({ type: 'image', itemId: current, maxSize: 64 }));
    expect(image.message).toMatchObject({ type: 'image', itemId: current, mime: 'image/jpeg' });
    expect(image.buffers).toHaveLength(1);
    expect(image.buffers[0]!.getUint8(0)).toBe(0xff);
    expect(await client.reply(client.send({ type: 'label', itemId: current, label: 'cat' }))).toMatchObject({ message: { type: 'ack' } });
    // A frame the session cannot read is refused with the reason, and the connection stays up.
    client.socket.send('{not json');
    expect((await client.received((entry) => entry.message.type === 'refused')).message).toMatchObject({ type: 'refused', code: 'protocol' });
    expect(server.clients).toBe(1);
    const ds = await Dataset.open(data.dir, { readonly: true });
    expect(ds.item(current).label).toBe('cat');
    ds.close();
    client.socket.close();
  });

  it('frames: the server and the page read each other', () => {
    const bytes = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([255])];
    const encoded = encodeEnvelope({ message: { type: 'image', requestId: 4, note: 'é' }, buffers: bytes });
    expect(encoded.binary).toBe(true);
    const buffer = encoded.data as Buffer;
    const frame = decodeFrame(new Uint8Array(buffer).buffer);
    expect(frame.message).toEqual({ type: 'image', requestId: 4, note: 'é' });
    expect(frame.buffers.map((view) => [...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)])).toEqual([[1, 2, 3], [], [255]]);
    expect(encodeEnvelope({ message: { type: 'ack', requestId: 1 } })).toEqual({ data: '{"type":"ack","requestId":1}', binary: false });

    const fromPage = encodeFrame({ type: 'hello', requestId: 1 }, [new Uint8Array([9, 8])]) as ArrayBuffer;
    const read = decodeServerFrame(Buffer.from(fromPage), true);
    expect(read.message).toEqual({ type: 'hello', requestId: 1 });
    expect([...read.buffers![0]!]).toEqual([9, 8]);
    expect(encodeFrame({ type: 'stats', requestId: 2 })).toBe('{"type":"stats","requestId":2}');
    expect(() => decodeServerFrame(Buffer.from([0, 0, 0, 99, 1]), true)).toThrow(/header says 99 bytes/);
  });

  it('closes clients with 1001 (going away) and the store on shutdown', async () => {
    const own = await startServer({ dataset: data.dir, port: 0 });
    const client = await SocketClient.open(`ws://127.0.0.1:${own.port}/api/socket?token=${own.token}`);
    await client.reply(client.send({ type: 'hello' }));
    const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
    await own.close();
    expect(await closed).toBe(1001);
    expect(() => own.dataset.stats()).toThrow();
    await expect(rawGet(own.port, '/')).rejects.toThrow();
  });

  it('says what to do when the port is taken or the app is not built', async () => {
    await expect(startServer({ dataset: data.dir, port: server.port })).rejects.toThrow(new RegExp(`port ${server.port} on 127.0.0.1 is in use; choose another with --port`));
    await expect(startServer({ dataset: data.dir, port: 0, appDir: outside.dir })).rejects.toThrow(/the labeling app is not built .* run `npm run build`/);
  });
});

/** The first sample image's name. */
function readFileSyncFirst(dir: string): string {
  return readdirSync(dir).filter((name) => name.endsWith('.jpg')).sort()[0]!;
}
