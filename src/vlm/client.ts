import { VlmError } from '../errors';
import { completeVlmConfig } from './config';
import { ollamaWire } from './ollama-wire';
import { openAiWire } from './openai-wire';
import { describeFailure, parseRetryAfter, readJsonAnswer, reasonOfConnectionError } from './client-failures';
import { Slots } from './slots';
import type { VlmAnswer, VlmClient, VlmConfig, VlmFailure, VlmRequest } from './types';
import { answerConfidence, BadWireAnswer, serverMessage, type WireDialect } from './wire-common';

/** Tuning of the retries, for tests and callers that report retries; none of it is needed in normal use. */
export interface VlmClientOptions {
  /** The first backoff, ms (default 500); it doubles each retry, with jitter. */
  backoffMs?: number;
  /** The longest backoff, ms (default 20,000). */
  maxBackoffMs?: number;
  /** A server's Retry-After longer than this (default 120,000 ms) is not waited for: the request fails `rate_limited`. */
  maxRetryAfterMs?: number;
  /** Told before each retry's wait. */
  onRetry?: (event: VlmRetryEvent) => void;
}

export interface VlmRetryEvent {
  /** The attempt that failed, from 1. */
  attempt: number;
  failure: VlmFailure;
  status: number | null;
  /** How long the client waits before the next attempt: the server's Retry-After, else the backoff. */
  delayMs: number;
  reason: string;
}

/** One attempt's failure, before it is known whether it is retried. */
export class AttemptFailure {
  constructor(
    readonly failure: VlmFailure,
    readonly reason: string,
    readonly status: number | null = null,
    readonly retryAfterMs: number | null = null,
    readonly cause?: unknown,
  ) {}
  get retryable(): boolean {
    return this.failure === 'timeout' || this.failure === 'rate_limited' || this.failure === 'server_error' || this.failure === 'connection';
  }
}

const WIRES: Record<VlmConfig['dialect'], WireDialect> = { openai: openAiWire, ollama: ollamaWire };

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A VLM client for an OpenAI-compatible server or Ollama's native API. Requests wait in arrival order for one
 * of `concurrency` slots; each attempt has `timeoutMs`; timeouts, 429s, 5xx and dropped connections are tried
 * again up to `retries` times with exponential backoff and jitter (a server's Retry-After wins); any other 4xx
 * is `refused` at once. The caller's signal cancels one request, close() all of them.
 */
export function createVlmClient(input: Partial<VlmConfig> & { url: string; model: string }, options: VlmClientOptions = {}): VlmClient {
  const config = completeVlmConfig(input, 'createVlmClient');
  // Kept out of JSON.stringify and console.log of the config, so printing a client's settings never shows it.
  if (config.apiKey !== undefined) Object.defineProperty(config, 'apiKey', { enumerable: false });
  const wire = WIRES[config.dialect];
  const endpoint = wire.endpoint(config.url);
  const slots = new Slots(config.concurrency);
  const closing = new AbortController();
  const backoffMs = options.backoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 20_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;

  const vlmError = (failure: AttemptFailure, attempts: number, request: VlmRequest): VlmError => {
    let message = describeFailure(failure, { endpoint, url: config.url, model: config.model, attempts, timeoutMs: config.timeoutMs, schemaName: request.schema?.name, maxTokens: request.maxTokens });
    // A server may echo the request's headers in its error text; the key never reaches a message.
    if (config.apiKey) message = message.split(config.apiKey).join('***');
    return new VlmError(message, failure.failure, config.url, config.model, attempts, failure.status, { cause: failure.cause });
  };

  async function attemptOnce(body: string, request: VlmRequest, signal: AbortSignal): Promise<Omit<VlmAnswer, 'attempts'>> {
    const started = performance.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, config.timeoutMs);
    const onCancel = (): void => controller.abort();
    signal.addEventListener('abort', onCancel, { once: true });
    let status: number;
    let text: string;
    let retryAfterMs: number | null;
    try {
      // The timeout covers the body too: a server that sends headers and then stalls is a timeout.
      const response = await fetch(endpoint, { method: 'POST', headers, body, signal: controller.signal });
      status = response.status;
      retryAfterMs = parseRetryAfter(response.headers, Date.now());
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw new AttemptFailure('cancelled', 'cancelled', null, null, error);
      if (timedOut) throw new AttemptFailure('timeout', `no answer within ${config.timeoutMs} ms`, null, null, error);
      throw new AttemptFailure('connection', reasonOfConnectionError(error), null, null, error);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onCancel);
    }
    if (status === 429) throw new AttemptFailure('rate_limited', serverMessage(text), status, retryAfterMs);
    if (status >= 500) throw new AttemptFailure('server_error', serverMessage(text), status, retryAfterMs);
    if (status < 200 || status >= 300) throw new AttemptFailure('refused', serverMessage(text), status);
    try {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new BadWireAnswer(`the response is not JSON: ${serverMessage(text)}`);
      }
      const answer = wire.read(parsed);
      const json = request.schema ? readJsonAnswer(answer) : undefined;
      const confidence = answerConfidence(answer.text, answer.tokens, request.schema !== undefined);
      return { text: answer.text, ...(request.schema ? { json } : {}), usage: answer.usage, confidence, ms: performance.now() - started };
    } catch (error) {
      if (error instanceof BadWireAnswer) throw new AttemptFailure('bad_answer', error.message, status, null, error);
      throw error;
    }
  }

  async function complete(request: VlmRequest, callOptions: { signal?: AbortSignal } = {}): Promise<VlmAnswer> {
    const signal = callOptions.signal ? AbortSignal.any([closing.signal, callOptions.signal]) : closing.signal;
    const cancelled = (attempts: number): VlmError => vlmError(new AttemptFailure('cancelled', closing.signal.aborted ? 'the client was closed' : 'cancelled by the caller'), attempts, request);
    // Encoded once per request: every attempt sends the same bytes.
    const body = JSON.stringify(wire.body(request, config));
    let release: () => void;
    try {
      release = await slots.acquire(signal);
    } catch {
      throw cancelled(0);
    }
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return { ...(await attemptOnce(body, request, signal)), attempts: attempt };
        } catch (error) {
          if (!(error instanceof AttemptFailure)) throw error;
          if (error.failure === 'cancelled') throw cancelled(attempt);
          if (!error.retryable || attempt > config.retries) throw vlmError(error, attempt, request);
          if (error.retryAfterMs !== null && error.retryAfterMs > maxRetryAfterMs) {
            throw vlmError(new AttemptFailure(error.failure, `${error.reason}; the server asks to wait ${Math.ceil(error.retryAfterMs / 1000)} s, longer than ${maxRetryAfterMs / 1000} s`, error.status), attempt, request);
          }
          // Equal jitter: at least half the exponential step, so retries spread out but never bunch at zero.
          const step = Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
          const delayMs = error.retryAfterMs ?? step / 2 + Math.random() * (step / 2);
          options.onRetry?.({ attempt, failure: error.failure, status: error.status, delayMs, reason: error.reason });
          try {
            await pause(delayMs, signal);
          } catch {
            throw cancelled(attempt);
          }
        }
      }
    } finally {
      release();
    }
  }

  return {
    config,
    complete: (request, callOptions) => (closing.signal.aborted ? Promise.reject(vlmError(new AttemptFailure('cancelled', 'the client was closed'), 0, request)) : complete(request, callOptions)),
    close: () => closing.abort(),
  };
}
