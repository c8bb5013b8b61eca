import type { PromptImage, VlmConfig, VlmRequest, VlmUsage } from './types';

/**
 * What both dialects share: how a demonstration's answer is written into a prompt, the dialect-neutral
 * reading of a response, and the confidence computed from token log-probabilities.
 */

/** Written before a demonstration's answer wherever the layout puts it in the user's text. */
export const ANSWER_PREFIX = 'Answer: ';

/** One dialect's wire format. */
export interface WireDialect {
  /** The endpoint for a base URL. */
  endpoint(url: string): string;
  body(request: VlmRequest, config: Pick<VlmConfig, 'model' | 'layout'>): Record<string, unknown>;
  /** A 200 response's body, read; throws a BadWireAnswer when it is not this dialect's answer. */
  read(body: unknown): WireAnswer;
}

export interface WireAnswer {
  text: string;
  usage: VlmUsage | null;
  /** Token log-probabilities, where the server sent them. */
  tokens: { token: string; logprob: number }[] | null;
  /** The server stopped at the token limit: a JSON answer is then cut short. */
  truncated: boolean;
}

/** A 200 response that is not an answer (not JSON, no message, the model refused); the client reports it as `bad_answer`. */
export class BadWireAnswer extends Error {}

export function base64Of(image: PromptImage): string {
  return Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength).toString('base64');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keeps well-formed `{token, logprob}` entries; null when there are none. */
export function readTokens(entries: unknown): WireAnswer['tokens'] {
  if (!Array.isArray(entries)) return null;
  const tokens = entries.filter((t): t is { token: string; logprob: number } => isRecord(t) && typeof t.token === 'string' && typeof t.logprob === 'number' && Number.isFinite(t.logprob));
  return tokens.length > 0 ? tokens.map(({ token, logprob }) => ({ token, logprob })) : null;
}

/** The character spans of a JSON text's string values (not its keys), inside the quotes. */
function stringValueSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') {
      i++;
      continue;
    }
    const start = i + 1;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    const end = i;
    i++;
    let next = i;
    while (next < text.length && /\s/.test(text[next]!)) next++;
    if (text[next] !== ':' && end > start) spans.push([start, end]);
  }
  return spans;
}

/**
 * exp(mean log-probability) of the answer's tokens. For a JSON answer those are the tokens of its string
 * values: the braces, keys and quotes are forced by the grammar and near-certain, and would make every
 * answer look confident. Falls back to all tokens when the tokens do not spell the text.
 */
export function answerConfidence(text: string, tokens: WireAnswer['tokens'], json: boolean): number | null {
  if (!tokens || tokens.length === 0) return null;
  const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
  const all = Math.exp(mean(tokens.map((t) => t.logprob)));
  if (!json || tokens.map((t) => t.token).join('') !== text) return all;
  const spans = stringValueSpans(text);
  const picked: number[] = [];
  let offset = 0;
  for (const token of tokens) {
    const start = offset;
    offset += token.token.length;
    if (spans.some(([a, b]) => start < b && offset > a)) picked.push(token.logprob);
  }
  return picked.length > 0 ? Math.exp(mean(picked)) : all;
}

/** The message a server put in an error body (OpenAI `{error:{message}}`, Ollama `{error}`, vLLM/FastAPI `{message}` / `{detail}`). */
export function serverMessage(text: string): string {
  let message = text;
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body)) {
      const error = body.error;
      const found = isRecord(error) ? error.message : error ?? body.message ?? body.detail;
      if (typeof found === 'string') message = found;
      else if (found !== undefined) message = JSON.stringify(found);
    }
  } catch {
    // Not JSON (an HTML page from a proxy): the text itself, shortened below.
  }
  message = message.replace(/\s+/g, ' ').trim();
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}
