import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { Dataset } from '../dataset';
import { cachedEmbeddings } from '../embed';
import { InvalidArgumentError, messageOf } from '../errors';
import type { RankerName } from '../learn';
import { LabelingSession, PROTOCOL_VERSION, SessionHost, type Envelope, type ServerMessage } from '../session';
import { newToken, tokenMatches, tokenOf, withoutAnyToken } from './access-token';
import { loadAppAssets, type Asset } from './app-assets';
import { boundedSocketClass } from './bounded-socket';
import { connectionLimits, FLOOD_CLOSE_REASON, MessageLimiter, rateLimitedRefusal, tooBigReason, type ConnectionLimits } from './connection-limits';
import { PAGE_POLICY, refuseUpgrade, SECURITY_HEADERS, writeJson } from './http-answers';
import { accessRules, OriginCheck, type AccessRules, type ValidRules } from './origin-check';
import { PathRefused, resolveInside } from './safe-path';
import { encodeEnvelope, frameBytes, readMessage } from './wire-format';

export interface ServeOptions extends AccessRules {
  /** The dataset folder, or a dataset already open (the caller then closes it). */
  dataset: string | Dataset;
  /** The store file, if not DIR/.quicksort/quicksort.db (with a folder). */
  store?: string;
  /** Default 8765; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: only this machine. `0.0.0.0` serves the network (the token still guards it). */
  host?: string;
  /** Who labels when a page does not say (`?user=` on its URL); default the dataset's user. */
  user?: string;
  /** Default: a fresh random token each start. */
  token?: string;
  /** Use the embeddings cached by `quicksort embed` when there are some (default true). */
  embeddings?: boolean;
  ranker?: RankerName;
  /** Items each client gets ahead of its current one. */
  prefetch?: number;
  /** The built app (default dist/widget). */
  appDir?: string;
  /** Where the server says what it did (default: nowhere); never with a token in it (see {@link withoutAnyToken}). */
  log?: (line: string) => void;
  /** What one WebSocket may send (default {@link DEFAULT_LIMITS}). */
  limits?: Partial<ConnectionLimits>;
  /** Milliseconds, for the rate limits (default `performance.now`); tests drive it. */
  clock?: () => number;
}

export interface RunningServer {
  /** The address to open, with the token. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly token: string;
  readonly dataset: Dataset;
  readonly sessions: SessionHost;
  readonly hasEmbeddings: boolean;
  /** Open WebSocket clients. */
  readonly clients: number;
  /** Closes every client (1001, going away), waits for the learner, closes the store if it opened it. */
  close(): Promise<void>;
}

const HEARTBEAT_MS = 30000;

/**
 * `quicksort serve`: the labeling app over HTTP and one WebSocket per client, each a {@link LabelingSession}
 * on one shared {@link SessionHost} (one learner per dataset; no item handed to two people at once).
 *
 * Every request under /api/ and every WebSocket needs the token (HTTP 401 otherwise), and a Host and Origin
 * of this server's (HTTP 403 otherwise, see {@link OriginCheck}). Image files are served only from inside the
 * dataset folder (see {@link resolveInside}). Nothing the server answers or logs shows the token. Each WebSocket
 * is held to a message rate and size (see {@link ConnectionLimits}); no request body is ever read.
 *
 * @example
 * const server = await startServer({ dataset: 'crops/', port: 0 });
 * console.log(server.url);
 * await server.close();
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const assets = loadAppAssets(options.appDir);
  const rules = accessRules(options);
  const ownsDataset = typeof options.dataset === 'string';
  const dataset = typeof options.dataset === 'string' ? await Dataset.open(options.dataset, { store: options.store, user: options.user }) : options.dataset;
  const token = options.token ?? newToken();
  const log = options.log ? (line: string) => options.log!(withoutAnyToken(line, token)) : () => undefined;
  try {
    const embeddings = options.embeddings === false ? undefined : cachedEmbeddings(dataset, (error) => log(`embeddings not used: ${messageOf(error)}`));
    const host = new SessionHost(dataset, { embeddings, ranker: options.ranker });
    const server = new QuickSortServer(dataset, host, assets, token, rules, options, log);
    await server.listen(options.port ?? 8765, options.host ?? '127.0.0.1');
    return server.running(ownsDataset, embeddings !== undefined);
  } catch (error) {
    if (ownsDataset) dataset.close();
    throw error;
  }
}

class QuickSortServer {
  private readonly http: Server;
  private readonly limits: ConnectionLimits;
  private readonly sockets: WebSocketServer;
  private readonly connections = new Map<WebSocket, LabelingSession>();
  private readonly heartbeat: NodeJS.Timeout;
  private address: AddressInfo | undefined;
  private check: OriginCheck | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly dataset: Dataset,
    private readonly host: SessionHost,
    private readonly assets: Map<string, Asset>,
    private readonly token: string,
    private readonly rules: ValidRules,
    private readonly options: ServeOptions,
    private readonly log: (line: string) => void,
  ) {
    this.limits = connectionLimits(options.limits);
    this.sockets = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxMessageBytes, WebSocket: boundedSocketClass(tooBigReason(this.limits)) });
    this.http = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        this.log(`request ${request.method} ${request.url?.split('?')[0]} failed: ${messageOf(error)}`);
        if (!response.headersSent) this.sendJson(response, 500, { error: 'internal', reason: messageOf(error) });
        else response.destroy();
      });
    });
    this.http.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(request, socket, head));
    // Clients that vanished without a close (a laptop lid) give their items back within a minute.
    this.heartbeat = setInterval(() => {
      for (const socket of this.connections.keys()) {
        if ((socket as WebSocket & { alive?: boolean }).alive === false) {
          socket.terminate();
          continue;
        }
        (socket as WebSocket & { alive?: boolean }).alive = false;
        socket.ping();
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  listen(port: number, hostname: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') reject(new InvalidArgumentError(`port ${port} on ${hostname} is in use; choose another with --port (or --port 0 for any free one)`, { cause: error }));
        else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(new InvalidArgumentError(`cannot listen on ${hostname}: no such address on this machine; check --host`, { cause: error }));
        else reject(error);
      };
      this.http.once('error', onError);
      this.http.listen(port, hostname, () => {
        this.http.off('error', onError);
        this.address = this.http.address() as AddressInfo;
        this.check = new OriginCheck(this.rules, this.address, hostname);
        resolve();
      });
    });
  }

  running(ownsDataset: boolean, hasEmbeddings: boolean): RunningServer {
    const address = this.address!;
    const shown = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const self = this;
    return {
      url: `http://${shown}:${address.port}/?token=${this.token}`,
      port: address.port,
      host: address.address,
      token: this.token,
      dataset: this.dataset,
      sessions: this.host,
      hasEmbeddings,
      get clients() {
        return self.connections.size;
      },
      close: () => (this.closing ??= this.close(ownsDataset)),
    };
  }

  // ---- HTTP ----------------------------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const [rawPath = '/', rawQuery = ''] = (request.url ?? '/').split('?', 2);
    const query = new URLSearchParams(rawQuery);
    const isApi = rawPath === '/api' || rawPath.startsWith('/api/');
    const refused = this.check!.refusal(request, isApi);
    if (refused) {
      this.log(`refused ${request.method} ${rawPath}: ${refused}`);
      return this.sendJson(response, 403, { error: 'forbidden', reason: refused });
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return this.sendJson(response, 405, { error: 'method_not_allowed', reason: `${request.method} is not served here; only GET and HEAD` });
    }
    // No endpoint reads a body: one is never buffered, and its connection is closed so none is drained either.
    if (Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined) {
      response.shouldKeepAlive = false;
      return this.sendJson(response, 413, { error: 'payload_too_large', reason: 'no request here takes a body' });
    }
    if (isApi) {
      if (!tokenMatches(tokenOf(request, query), this.token)) {
        response.setHeader('www-authenticate', 'Bearer realm="quicksort"');
        return this.sendJson(response, 401, { error: 'unauthorized', reason: 'a missing or wrong token; open the URL that `quicksort serve` printed' });
      }
      return this.api(rawPath, request, response);
    }
    const asset = this.assets.get(rawPath);
    if (!asset) return this.sendJson(response, 404, { error: 'not_found', reason: `nothing at ${rawPath}` });
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      'content-length': asset.body.byteLength,
      'cache-control': 'no-cache',
      ...(asset.type.startsWith('text/html') ? { 'content-security-policy': PAGE_POLICY } : {}),
    });
    response.end(request.method === 'HEAD' ? undefined : asset.body);
  }

  private async api(rawPath: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (rawPath === '/api/info') {
      const stats = this.dataset.stats();
      return this.sendJson(response, 200, {
        dataset: this.dataset.root,
        name: path.basename(this.dataset.root),
        protocol: PROTOCOL_VERSION,
        user: this.options.user ?? this.dataset.user,
        items: stats.items,
        labeled: stats.labeledByHuman,
        hasEmbeddings: this.host.hasEmbeddings,
        clients: this.connections.size,
      });
    }
    if (rawPath.startsWith('/api/files/')) {
      let found: Awaited<ReturnType<typeof resolveInside>>;
      try {
        found = await resolveInside(this.dataset.root, rawPath.slice('/api/files/'.length));
      } catch (error) {
        if (error instanceof PathRefused) return this.sendJson(response, error.status, { error: error.status === 404 ? 'not_found' : 'refused', reason: error.message });
        throw error;
      }
      response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': found.type, 'content-length': found.bytes, 'cache-control': 'private, max-age=60' });
      if (request.method === 'HEAD') return void response.end();
      const stream = createReadStream(found.file);
      stream.on('error', () => response.destroy());
      stream.pipe(response);
      return;
    }
    if (rawPath === '/api/socket') return this.sendJson(response, 426, { error: 'upgrade_required', reason: 'this is the WebSocket of the session protocol; connect with a WebSocket client' });
    return this.sendJson(response, 404, { error: 'not_found', reason: `no API at ${rawPath}; there are /api/info, /api/files/<path>, /api/socket` });
  }

  private sendJson(response: ServerResponse, status: number, body: unknown): void {
    writeJson(response, status, body, this.token);
  }

  // ---- WebSocket -----------------------------------------------------------------------------------------

  private upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    const [rawPath = '/', rawQuery = ''] = (request.url ?? '/').split('?', 2);
    if (this.closing) return refuseUpgrade(socket, 503, 'Service Unavailable', 'the server is shutting down', this.token);
    // Before the token: a page of another origin learns nothing about a token it tries.
    const refused = this.check!.refusal(request, true);
    if (refused) {
      this.log(`refused a WebSocket: ${refused}`);
      return refuseUpgrade(socket, 403, 'Forbidden', refused, this.token);
    }
    if (rawPath !== '/api/socket') return refuseUpgrade(socket, 404, 'Not Found', 'the WebSocket is at /api/socket', this.token);
    if (!tokenMatches(tokenOf(request, new URLSearchParams(rawQuery)), this.token)) return refuseUpgrade(socket, 401, 'Unauthorized', 'a missing or wrong token', this.token);
    this.sockets.handleUpgrade(request, socket, head, (ws) => this.connect(ws));
  }

  private connect(ws: WebSocket): void {
    const session = new LabelingSession(this.host, (envelope: Envelope<ServerMessage>) => send(ws, envelope), {
      user: this.options.user,
      prefetch: this.options.prefetch,
    });
    this.connections.set(ws, session);
    (ws as WebSocket & { alive?: boolean }).alive = true;
    ws.on('pong', () => ((ws as WebSocket & { alive?: boolean }).alive = true));
    const limiter = new MessageLimiter(this.limits, this.options.clock);
    ws.on('message', (data: RawData, binary: boolean) => {
      if (ws.readyState !== ws.OPEN) return;
      const admission = limiter.admit();
      if (admission === 'flood') {
        this.log(`closed a client (1008): ${FLOOD_CLOSE_REASON}`);
        return ws.close(1008, FLOOD_CLOSE_REASON);
      }
      const message = readMessage(frameBytes(data), binary);
      if (admission === 'accept') return void session.handle(message);
      send(ws, { message: rateLimitedRefusal(message, this.limits) });
    });
    ws.on('close', () => {
      session.close();
      this.connections.delete(ws);
    });
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.log(`closed a client (1009): ${tooBigReason(this.limits)}`);
      else this.log(`a client's connection failed: ${messageOf(error)}`);
    });
  }

  // ---- shutdown ------------------------------------------------------------------------------------------

  private async close(ownsDataset: boolean): Promise<void> {
    clearInterval(this.heartbeat);
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    const gone = [...this.connections.keys()].map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(1001, 'the server is shutting down');
          // A client that does not answer the close is cut off.
          setTimeout(() => ws.terminate(), 1500).unref();
        }),
    );
    await Promise.all(gone);
    this.http.closeAllConnections();
    await stopped;
    this.sockets.close();
    await Promise.race([this.host.settled(), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    await this.host.close();
    if (ownsDataset) this.dataset.close();
  }
}

function send(ws: WebSocket, envelope: Envelope<ServerMessage>): void {
  if (ws.readyState !== ws.OPEN) return;
  const { data, binary } = encodeEnvelope(envelope);
  ws.send(data, { binary });
}
