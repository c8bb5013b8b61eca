import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { answerPrompt, replyTokens, type AnswerTwist, type FakeReply } from './fake-vlm-model';
import { readOllamaRequest, readOpenAiRequest, WireError, type FakeDialect, type SeenPrompt } from './fake-vlm-wire';

export { FAKE_CAPTION, FAKE_UNKNOWN_CLASS } from './fake-vlm-model';

/**
 * A loopback vision-language-model server for the tests: it speaks OpenAI chat completions
 * (`POST /v1/chat/completions`) and Ollama's native API (`POST /api/chat`) on 127.0.0.1, rejects any request
 * that breaks its dialect's wire format with a 400 naming the field, records every request, and answers like
 * a small vision model would (fake-vlm-model.ts: the answer of the demonstration most similar to the query
 * image; for a cluster verification, the group images far from the demonstrations' mean). Failures are injected per test; each injected failure is used by the next request, in the order
 * they were asked for, after the request passed validation (so retried requests are still checked).
 */

export interface FailOptions {
  status: number;
  /** Sent as `Retry-After: N` (seconds). */
  retryAfterS?: number;
  /** Sent as `retry-after-ms: N` (OpenAI's header), for retries the tests need not wait seconds for. */
  retryAfterMs?: number;
}

export type RecordedOutcome = 'pending' | 'abandoned' | 'answered' | 'rejected' | 'failed' | 'hung' | 'dropped' | 'malformed' | 'unknown_class' | 'out_of_range' | 'not_found' | 'unauthorized';

export interface RecordedRequest {
  dialect: FakeDialect | null;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  /** What the fake read from it (absent when it was rejected). */
  prompt?: SeenPrompt;
  outcome: RecordedOutcome;
  status: number | null;
  /** The 400's message (names the field). */
  error?: string;
  reply?: FakeReply;
}

export interface FakeVlmOptions {
  /** When set, requests for another model are answered 404 like a server without that model. */
  model?: string;
  /** When set, requests without `Authorization: Bearer <apiKey>` are answered 401. */
  apiKey?: string;
}

export interface FakeVlm {
  /** Base URL for the OpenAI dialect: `http://127.0.0.1:PORT/v1`. */
  url: string;
  /** Base URL for Ollama's native API: `http://127.0.0.1:PORT`. */
  ollamaUrl: string;
  requests: RecordedRequest[];
  /** Requests being handled now, and the most there ever were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  failNext(n: number, options: FailOptions): void;
  /** The next n requests are never answered (until close): for timeouts. */
  hang(n: number): void;
  /** The next n requests have their socket destroyed without an answer. */
  dropConnection(n: number): void;
  /** The next n answers are not JSON although JSON was asked. */
  malformed(n: number): void;
  /** The next n answers name a class that is in no enum. */
  answerUnknownClass(n: number): void;
  /** The next n cluster verifications name an image number past the last one. */
  answerOutOfRange(n: number): void;
  /** Valid requests wait (counted in flight) until released: for concurrency and cancellation tests. */
  hold(): void;
  /** Lets `count` held requests go on (all when omitted); with no count, also stops holding new ones. */
  release(count?: number): void;
  /** Requests held now. */
  readonly held: number;
  /** Resolves once `n` requests are held. */
  whenHeld(n: number): Promise<void>;
  /** Resolves once `n` requests are in flight (held or being answered). */
  whenInFlight(n: number): Promise<void>;
  /** Resolves once `n` requests have been received. */
  whenRequests(n: number): Promise<void>;
  close(): Promise<void>;
}

type Fault = { kind: 'fail'; options: FailOptions } | { kind: 'hang' } | { kind: 'drop' } | { kind: 'malformed' } | { kind: 'unknown_class' } | { kind: 'out_of_range' };

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Marks a request no longer in flight; called as its answer is sent (before the client can send another) and on close. */
const finishers = new WeakMap<http.ServerResponse, () => void>();

function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  finishers.get(response)?.();
  if (response.destroyed) return;
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** The error body of each dialect: OpenAI's `{error:{message,type,param}}`, Ollama's `{error: "…"}`. */
function errorBody(dialect: FakeDialect | null, message: string, param: string | null = null): unknown {
  return dialect === 'ollama' ? { error: message } : { error: { message, type: 'invalid_request_error', param, code: null } };
}

function usageOf(prompt: SeenPrompt, completionTokens: number): { prompt: number; completion: number } {
  return { prompt: Math.ceil(prompt.textChars / 4) + 85 * prompt.images.length, completion: completionTokens };
}

function openAiAnswer(prompt: SeenPrompt, reply: FakeReply, created: number): unknown {
  const tokens = replyTokens(reply);
  const usage = usageOf(prompt, tokens.length);
  return {
    id: `chatcmpl-fake-${created}`,
    object: 'chat.completion',
    created: Math.floor(created / 1000),
    model: prompt.model,
    choices: [{ index: 0, message: { role: 'assistant', content: reply.content }, finish_reason: 'stop', ...(prompt.logprobs ? { logprobs: { content: tokens.map((t) => ({ ...t, bytes: [...Buffer.from(t.token)], top_logprobs: [] })) } } : {}) }],
    usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion },
  };
}

function ollamaAnswer(prompt: SeenPrompt, reply: FakeReply, created: number): unknown {
  const tokens = replyTokens(reply);
  const usage = usageOf(prompt, tokens.length);
  return {
    model: prompt.model,
    created_at: new Date(created).toISOString(),
    message: { role: 'assistant', content: reply.content },
    done: true,
    done_reason: 'stop',
    prompt_eval_count: usage.prompt,
    eval_count: usage.completion,
    ...(prompt.logprobs ? { logprobs: tokens } : {}),
  };
}

export async function startFakeVlm(options: FakeVlmOptions = {}): Promise<FakeVlm> {
  const requests: RecordedRequest[] = [];
  const faults: { fault: Fault; remaining: number }[] = [];
  const sockets = new Set<Socket>();
  const held: (() => void)[] = [];
  const waiters: { ready: () => boolean; resolve: () => void }[] = [];
  let holding = false;
  let inFlight = 0;
  let maxInFlight = 0;

  const wake = (): void => {
    for (const waiter of [...waiters]) {
      if (waiter.ready()) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const waitUntil = (ready: () => boolean): Promise<void> => (ready() ? Promise.resolve() : new Promise((resolve) => waiters.push({ ready, resolve })));
  const addFault = (n: number, fault: Fault): void => {
    if (!Number.isInteger(n) || n < 1) throw new Error(`fake VLM: a fault needs a positive count (got ${n})`);
    faults.push({ fault, remaining: n });
  };
  const takeFault = (): Fault | null => {
    const head = faults[0];
    if (!head) return null;
    if (--head.remaining === 0) faults.shift();
    return head.fault;
  };

  async function handle(request: http.IncomingMessage, response: http.ServerResponse, record: RecordedRequest): Promise<void> {
    const text = await readBody(request);
    try {
      record.body = JSON.parse(text);
    } catch {
      record.body = text;
    }
    const path = (request.url ?? '').split('?')[0];
    const dialect: FakeDialect | null = request.method === 'POST' && path === '/v1/chat/completions' ? 'openai' : request.method === 'POST' && path === '/api/chat' ? 'ollama' : null;
    record.dialect = dialect;
    requests.push(record);
    wake();
    if (!dialect) {
      record.outcome = 'not_found';
      record.status = 404;
      return sendJson(response, 404, errorBody(null, `no route ${request.method} ${path}: the fake VLM answers POST /v1/chat/completions and POST /api/chat`));
    }
    if (options.apiKey !== undefined && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      record.outcome = 'unauthorized';
      record.status = 401;
      return sendJson(response, 401, errorBody(dialect, 'invalid API key'));
    }
    let prompt: SeenPrompt;
    try {
      if (typeof record.body === 'string') throw new WireError('body', 'is not JSON');
      prompt = dialect === 'openai' ? readOpenAiRequest(record.body) : readOllamaRequest(record.body);
    } catch (error) {
      return reject(error, dialect, record, response);
    }
    record.prompt = prompt;
    if (options.model !== undefined && prompt.model !== options.model) {
      record.outcome = 'not_found';
      record.status = 404;
      return sendJson(response, 404, errorBody(dialect, `model "${prompt.model}" not found`, 'model'));
    }
    if (holding) {
      await new Promise<void>((resolve) => {
        held.push(resolve);
        wake();
        // A request its client gave up on while held leaves the queue, so release(n) lets n live ones go.
        response.on('close', () => {
          const at = held.indexOf(resolve);
          if (at >= 0) held.splice(at, 1);
          wake();
          resolve();
        });
      });
      if (response.destroyed) {
        record.outcome = 'abandoned';
        return;
      }
    }
    const fault = takeFault();
    if (fault?.kind === 'hang') {
      record.outcome = 'hung';
      return new Promise(() => undefined); // close() destroys its socket
    }
    if (fault?.kind === 'drop') {
      record.outcome = 'dropped';
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'fail') {
      record.outcome = 'failed';
      record.status = fault.options.status;
      const headers: Record<string, string> = {};
      if (fault.options.retryAfterS !== undefined) headers['retry-after'] = String(fault.options.retryAfterS);
      if (fault.options.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.options.retryAfterMs);
      return sendJson(response, fault.options.status, errorBody(dialect, `injected failure ${fault.options.status}`), headers);
    }
    const twist: AnswerTwist = fault?.kind === 'malformed' || fault?.kind === 'unknown_class' || fault?.kind === 'out_of_range' ? fault.kind : 'none';
    let reply: FakeReply;
    try {
      reply = await answerPrompt(prompt, twist);
    } catch (error) {
      return reject(error, dialect, record, response);
    }
    record.reply = reply;
    record.outcome = twist === 'none' ? 'answered' : twist;
    record.status = 200;
    sendJson(response, 200, dialect === 'openai' ? openAiAnswer(prompt, reply, Date.now()) : ollamaAnswer(prompt, reply, Date.now()));
  }

  function reject(error: unknown, dialect: FakeDialect, record: RecordedRequest, response: http.ServerResponse): void {
    if (!(error instanceof WireError)) throw error;
    record.outcome = 'rejected';
    record.status = 400;
    record.error = error.message;
    sendJson(response, 400, errorBody(dialect, error.message, error.field));
  }

  const server = http.createServer((request, response) => {
    const record: RecordedRequest = { dialect: null, method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: null, outcome: 'pending', status: null };
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    wake();
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      inFlight--;
      wake();
    };
    // 'close' fires when the answer is sent and when the client gives up (abort, timeout, dropped socket).
    response.on('close', finish);
    finishers.set(response, finish);
    handle(request, response, record).catch((error: unknown) => {
      sendJson(response, 500, errorBody(record.dialect, `fake VLM bug: ${error instanceof Error ? error.message : String(error)}`));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    ollamaUrl: `http://127.0.0.1:${port}`,
    requests,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get held() {
      return held.length;
    },
    whenHeld: (n) => waitUntil(() => held.length >= n),
    failNext: (n, failOptions) => addFault(n, { kind: 'fail', options: failOptions }),
    hang: (n) => addFault(n, { kind: 'hang' }),
    dropConnection: (n) => addFault(n, { kind: 'drop' }),
    malformed: (n) => addFault(n, { kind: 'malformed' }),
    answerUnknownClass: (n) => addFault(n, { kind: 'unknown_class' }),
    answerOutOfRange: (n) => addFault(n, { kind: 'out_of_range' }),
    hold: () => {
      holding = true;
    },
    release: (count) => {
      if (count === undefined) holding = false;
      for (const resume of held.splice(0, count ?? held.length)) resume();
      wake();
    },
    whenInFlight: (n) => waitUntil(() => inFlight >= n),
    whenRequests: (n) => waitUntil(() => requests.length >= n),
    close: async () => {
      holding = false;
      for (const resume of held.splice(0)) resume();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
