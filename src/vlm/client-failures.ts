import type { AttemptFailure } from './client';
import { BadWireAnswer, type WireAnswer } from './wire-common';

/**
 * How the client reads what went wrong — Retry-After headers, undici's connection errors, a JSON answer that
 * is not JSON — and the messages a person reads: what happened, at which server and model, and what to do.
 */

/**
 * The wait a server asks for: OpenAI's `retry-after-ms`, else `Retry-After` in seconds or as an HTTP date;
 * null when there is none or it cannot be read.
 */
export function parseRetryAfter(headers: Headers, now: number): number | null {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms.trim());
  const value = headers.get('retry-after')?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** undici's `fetch failed` says nothing; its cause says what happened to the connection. */
export function reasonOfConnectionError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  const message = typeof cause?.message === 'string' ? cause.message : error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens there)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `the server closed the connection without answering (${message})`;
    default:
      return code ? `${code}: ${message}` : message;
  }
}

/** The JSON of an answer that was asked for JSON; markdown code fences around it are tolerated. */
export function readJsonAnswer(answer: WireAnswer): unknown {
  const text = answer.text.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1');
  try {
    return JSON.parse(text);
  } catch {
    const shown = answer.text.length > 200 ? `${answer.text.slice(0, 200)}…` : answer.text;
    throw new BadWireAnswer(`the answer is not the JSON asked for${answer.truncated ? ' (cut short at the token limit)' : ''}: ${JSON.stringify(shown)}`);
  }
}

export interface FailureContext {
  endpoint: string;
  url: string;
  model: string;
  attempts: number;
  timeoutMs: number;
  schemaName?: string;
  maxTokens?: number;
}

function tries(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`;
}

/** The message of a failed request. Never holds the API key (the client scrubs what the server echoed). */
export function describeFailure(failure: AttemptFailure, context: FailureContext): string {
  const at = `The VLM server at ${context.url} (model "${context.model}")`;
  switch (failure.failure) {
    case 'timeout':
      return `${at} did not answer within ${context.timeoutMs} ms (${tries(context.attempts)}). Check that it is running and the model is loaded; a slow model needs a longer timeoutMs (QUICKSORT_VLM_TIMEOUT_MS).`;
    case 'rate_limited':
      return `${at} is rate limiting (HTTP 429, ${tries(context.attempts)}): ${failure.reason}. Lower the concurrency (QUICKSORT_VLM_CONCURRENCY) or try again later.`;
    case 'server_error':
      return `${at} failed with HTTP ${failure.status} (${tries(context.attempts)}): ${failure.reason}.`;
    case 'connection':
      return `${at} could not be reached (${tries(context.attempts)}): ${failure.reason}. Check QUICKSORT_VLM_URL and that the server is running.`;
    case 'bad_answer':
      return `${at} answered, but not usably${context.schemaName ? ` for the schema "${context.schemaName}"` : ''}: ${failure.reason}.${failure.reason.includes('token limit') ? ` Raise maxTokens (${context.maxTokens ?? 'unset'}).` : ''}`;
    case 'refused':
      return `${at} refused the request to ${context.endpoint} (HTTP ${failure.status}): ${failure.reason}. ${refusalHint(failure.status)}`;
    case 'cancelled':
      return `The request to the VLM server at ${context.url} (model "${context.model}") was cancelled: ${failure.reason}.`;
  }
}

function refusalHint(status: number | null): string {
  if (status === 401 || status === 403) return 'Check the API key (QUICKSORT_VLM_API_KEY).';
  if (status === 404) return 'Check the URL (an OpenAI-compatible base URL usually ends in /v1; Ollama\'s native API is dialect "ollama") and that the server has this model.';
  if (status === 413) return 'The prompt is too large: fewer demonstrations or a smaller maxImageSide.';
  return 'The server may not take images, this many images, or structured output; see its message.';
}
