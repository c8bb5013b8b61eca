import WebSocket from 'ws';
import { Dataset } from '../../src/dataset';
import { DEFAULT_LIMITS, startServer, type RunningServer } from '../../src/server';
import { spawnServe, stopServe } from '../e2e/e2e-helpers';
import { sampleCopy } from '../helpers/fixtures';
import { ensureAppBuilt, json, rawGet } from './server-helpers';

/**
 * quicksort serve's limits on a real server and a real `ws` client: the message rate per connection (with the
 * server's clock held still, so every count is exact and nothing waits on a refill), the message size, request
 * bodies, and every log line of the run checked for tokens.
 */

type Reply = { type: string; requestId: number; code?: string; reason?: string; retryable?: boolean };

/** A raw client: sends frames as given, keeps every text reply, and tells how the connection closed. */
class RawClient {
  readonly replies: Reply[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly waiters: (() => void)[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, binary: boolean) => {
      if (!binary) this.replies.push(JSON.parse(data.toString('utf8')) as Reply);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
    socket.on('error', () => undefined);
  }
  static open(url: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }
  /** Resolves once a reply to every one of these request ids has come. */
  async answers(ids: number[]): Promise<Map<number, Reply>> {
    for (;;) {
      const byId = new Map(this.replies.filter((reply) => reply.requestId !== undefined && ids.includes(reply.requestId) && reply.type !== 'queue').map((reply) => [reply.requestId, reply]));
      if (byId.size === ids.length) return byId;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe('quicksort serve: limits on each connection, and no token in any log line', () => {
  jest.setTimeout(60000);
  let data: ReturnType<typeof sampleCopy>;
  let server: RunningServer;
  let now = 0;
  const logged: string[] = [];
  let socketUrl: string;
  let firstItem: number;

  beforeAll(async () => {
    await ensureAppBuilt();
    data = sampleCopy();
    const ds = await Dataset.open(data.dir, { user: 'ann' });
    await ds.ingest();
    ds.addClass('cat', '1');
    firstItem = ds.store.items()[0]!.id;
    ds.close();
    server = await startServer({ dataset: data.dir, port: 0, embeddings: false, log: (line) => logged.push(line), clock: () => now });
    socketUrl = `ws://127.0.0.1:${server.port}/api/socket?token=${server.token}`;
  });
  afterAll(async () => {
    await server?.close();
    data?.cleanup();
  });

  it('refuses messages past the burst as rate_limited and retryable, applies none of them, and accepts again after the refill', async () => {
    const client = await RawClient.open(socketUrl);
    const { burst, perSecond } = DEFAULT_LIMITS;
    // A burst of cheap requests (unknown types, refused by the session itself), then a label over the limit.
    for (const id of range(0, burst)) client.socket.send(JSON.stringify({ type: 'nothing', requestId: id }));
    client.socket.send(JSON.stringify({ type: 'label', requestId: burst, itemId: firstItem, label: 'cat' }));
    for (const id of range(burst + 1, 9)) client.socket.send(JSON.stringify({ type: 'nothing', requestId: id }));
    const first = await client.answers(range(0, burst + 10));
    for (const id of range(0, burst)) expect(first.get(id)!.code).not.toBe('rate_limited');
    for (const id of range(burst, 10)) {
      expect(first.get(id)).toEqual({
        type: 'refused', requestId: id, code: 'rate_limited', retryable: true,
        reason: `too many messages: this connection may send ${burst} at once and ${perSecond} a second after that; nothing was applied, send it again in a moment`,
      });
    }
    expect(server.dataset.stats().labeledByHuman).toBe(0);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);

    // A second later by the server's clock: perSecond more, then refused again.
    now += 1000;
    client.socket.send(JSON.stringify({ type: 'label', requestId: 1000, itemId: firstItem, label: 'cat' }));
    for (const id of range(1001, perSecond)) client.socket.send(JSON.stringify({ type: 'nothing', requestId: id }));
    const second = await client.answers(range(1000, perSecond + 1));
    expect(second.get(1000)).toMatchObject({ type: 'ack' });
    expect(range(1001, perSecond - 1).map((id) => second.get(id)!.code)).not.toContain('rate_limited');
    expect(second.get(1000 + perSecond)).toMatchObject({ code: 'rate_limited', retryable: true });
    expect(server.dataset.stats().labeledByHuman).toBe(1);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    client.socket.close();
    await client.closed;
  });

  it('closes a connection that keeps flooding after its refusals with 1008 and says why, in the close and the log', async () => {
    now += 60_000;
    const client = await RawClient.open(socketUrl);
    const { burst, floodRefusals } = DEFAULT_LIMITS;
    const total = burst + floodRefusals + 50;
    for (const id of range(0, total)) client.socket.send(JSON.stringify({ type: 'nothing', requestId: id }));
    expect(await client.closed).toEqual({ code: 1008, reason: 'kept sending far over the rate limit after being refused; reconnect and send slower' });
    const limited = client.replies.filter((reply) => reply.code === 'rate_limited');
    expect(limited).toHaveLength(floodRefusals);
    expect(logged).toContainEqual('closed a client (1008): kept sending far over the rate limit after being refused; reconnect and send slower');
    // Other connections are not held to this one's rate.
    const other = await RawClient.open(socketUrl);
    other.socket.send(JSON.stringify({ type: 'hello', requestId: 1 }));
    expect((await other.answers([1])).get(1)).toMatchObject({ type: 'welcome' });
    other.socket.close();
    await other.closed;
  });

  it('closes a connection that sends a message over the size limit with 1009 and its reason; a message just under it is read', async () => {
    const { maxMessageBytes } = DEFAULT_LIMITS;
    const client = await RawClient.open(socketUrl);
    const padding = (bytes: number) => 'x'.repeat(bytes - JSON.stringify({ type: 'nothing', requestId: 1, padding: '' }).length);
    client.socket.send(JSON.stringify({ type: 'nothing', requestId: 1, padding: padding(maxMessageBytes) }));
    expect((await client.answers([1])).get(1)).toMatchObject({ type: 'refused', code: 'protocol' });
    client.socket.send(JSON.stringify({ type: 'nothing', requestId: 2, padding: padding(maxMessageBytes + 1) }));
    expect(await client.closed).toEqual({ code: 1009, reason: `a message was over the limit of ${maxMessageBytes} bytes` });
    expect(client.replies.map((reply) => reply.requestId)).not.toContain(2);
    expect(logged).toContainEqual(`closed a client (1009): a message was over the limit of ${maxMessageBytes} bytes`);
  });

  it('reads no request body: a request with one is answered 413 and its connection closed', async () => {
    const answer = await rawGet(server.port, '/api/info', { authorization: `Bearer ${server.token}`, 'content-length': '5' });
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(json(answer)).toEqual({ error: 'payload_too_large', reason: 'no request here takes a body' });
    expect((await rawGet(server.port, '/api/info', { authorization: `Bearer ${server.token}` })).status).toBe(200);
  });

  it('never logs a token: refusals and failures whose URLs carry the right one, a wrong one, an old one', async () => {
    const token = server.token;
    const old = 'an-old-token-from-yesterday';
    await rawGet(server.port, `/api/info?token=${token}`, { origin: 'http://evil.example' });
    await rawGet(server.port, `/api/info%3Ftoken=${old}`, { host: `evil.example:${server.port}` });
    await rawGet(server.port, `/api/files/x%3Ftoken%3D${token}`, { origin: `http://${token}.example` });
    await rawGet(server.port, `/api/nothing%3Ftoken=${old}&user=ann`, { origin: 'http://evil.example', authorization: `Bearer ${old}` });
    const refusedSocket = new WebSocket(`${socketUrl}`, { headers: { Origin: `http://x.example/?token=${old}` } });
    await new Promise((resolve) => refusedSocket.once('error', resolve));
    // A failure inside a request: the store closed under a running server.
    const ds = await Dataset.open(data.dir);
    const failing = await startServer({ dataset: ds, port: 0, log: (line) => logged.push(line) });
    ds.close();
    expect((await rawGet(failing.port, `/api/info?token=${failing.token}`)).status).toBe(500);
    expect((await rawGet(failing.port, `/api/info%3Ftoken=${failing.token}`, { origin: 'http://evil.example' })).status).toBe(403);
    await failing.close().catch(() => undefined);

    expect(logged.filter((line) => line.startsWith('refused')).length).toBeGreaterThanOrEqual(5);
    expect(logged).toContainEqual(expect.stringMatching(/^request GET \/api\/info failed: /));
    expect(logged).toContainEqual(`refused GET /api/nothing%3Ftoken=<token>&user=ann: Origin "http://evil.example" is not this server's; to let a page served there in, start the server with --allow-origin`);
    for (const line of logged) {
      for (const secret of [token, failing.token, old, encodeURIComponent(token)]) expect(line).not.toContain(secret);
      expect(line).not.toMatch(/token(=|%3D)(?!<token>)/i);
    }
  });
});

describe('quicksort serve, the process: its stderr never shows a token', () => {
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

  it('through refusals with tokens in their URLs, an oversize message and the shutdown', async () => {
    const serve = await spawnServe(data.dir, 0);
    const old = 'an-old-token-from-yesterday';
    try {
      expect((await rawGet(serve.port, `/api/info%3Ftoken=${old}`, { origin: `http://${serve.token}.example` })).status).toBe(403);
      expect((await rawGet(serve.port, `/x%3Ftoken%3D${serve.token}`, { host: 'evil.example' })).status).toBe(403);
      const client = await RawClient.open(`ws://127.0.0.1:${serve.port}/api/socket?token=${serve.token}`);
      client.socket.send(Buffer.alloc(DEFAULT_LIMITS.maxMessageBytes + 1));
      expect((await client.closed).code).toBe(1009);
    } finally {
      expect(await stopServe(serve)).toBe(0);
    }
    const lines = serve.stderr().trim().split('\n');
    expect(lines).toContainEqual(`quicksort serve: refused GET /api/info%3Ftoken=<token>: Origin "http://<token>.example" is not this server's; to let a page served there in, start the server with --allow-origin`);
    expect(lines).toContainEqual(`quicksort serve: closed a client (1009): a message was over the limit of ${DEFAULT_LIMITS.maxMessageBytes} bytes`);
    expect(lines).toContainEqual('quicksort serve: stopped');
    for (const line of lines) {
      expect(line).not.toContain(serve.token);
      expect(line).not.toContain(old);
      expect(line).not.toMatch(/token(=|%3D)(?!<token>)/i);
    }
  });
});
