/**
 * The contract of QuickSort's vision-language-model assist: a neutral few-shot request that each server
 * dialect turns into its own wire format (OpenAI-compatible chat completions — llama.cpp's llama-server,
 * vLLM, Ollama's /v1, OpenAI — or Ollama's native /api/chat), and the answer as the engine reads it.
 * Everything above the client (the demonstration bank, the prompts, the queue, the CLI) speaks only this.
 */

/** Which wire format the server speaks. */
export type VlmDialect = 'openai' | 'ollama';

/**
 * How demonstrations travel: all in one user message with text and image parts interleaved, or one
 * user/assistant message pair per demonstration (for models that take one image per message).
 */
export type FewShotLayout = 'interleaved' | 'per-message';

export interface VlmConfig {
  /**
   * The server's base URL: `http://127.0.0.1:8080/v1` for OpenAI-compatible servers (the client posts to
   * `${url}/chat/completions`), `http://127.0.0.1:11434` for Ollama's native API (`${url}/api/chat`).
   */
  url: string;
  model: string;
  /** Sent as `Authorization: Bearer …`; never logged. */
  apiKey?: string;
  dialect: VlmDialect;
  layout: FewShotLayout;
  /** Per attempt, in ms (default 60,000). */
  timeoutMs: number;
  /** Further attempts after a timeout, a 429, a 5xx or a dropped connection, with exponential backoff (default 3). */
  retries: number;
  /** Requests in flight at once (default 4). */
  concurrency: number;
  /** Images are scaled to fit this many pixels on their longer side before they are sent (default 448). */
  maxImageSide: number;
}

/** One image of a prompt, already scaled and encoded. */
export interface PromptImage {
  mime: 'image/jpeg' | 'image/png';
  data: Uint8Array;
}

/** A few-shot request, neutral of the dialect. */
export interface VlmRequest {
  system?: string;
  /** Demonstrations, in order: an image, what is asked about it (default: `question`), and its answer. */
  examples: { image: PromptImage; question?: string; answer: string }[];
  /** What is asked about `images`. */
  question: string;
  /** The query image(s): one for a suggestion or a caption, several for cluster verification. */
  images: PromptImage[];
  /** Structured output: the answer must be JSON matching this schema (OpenAI `json_schema`, Ollama `format`). */
  schema?: { name: string; schema: Record<string, unknown> };
  maxTokens?: number;
  /** Ask for token log-probabilities (OpenAI-compatible servers that support them). */
  logprobs?: boolean;
}

export interface VlmUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface VlmAnswer {
  /** The message content as the server sent it. */
  text: string;
  /** `text` parsed, when the request had a schema (a malformed answer is a VlmError `bad_answer` instead). */
  json?: unknown;
  usage: VlmUsage | null;
  /** exp(mean log-probability) of the answer's tokens, where the server gave them; else null. */
  confidence: number | null;
  /** Wall time of the successful attempt, ms. */
  ms: number;
  /** 1 when the first attempt answered. */
  attempts: number;
}

/** Why a request failed, for the per-item status the callers report. */
export type VlmFailure = 'timeout' | 'rate_limited' | 'server_error' | 'connection' | 'bad_answer' | 'refused' | 'cancelled';

export interface VlmClient {
  readonly config: VlmConfig;
  /** Rejects with a VlmError (from src/vlm) carrying a {@link VlmFailure}; `signal` cancels. */
  complete(request: VlmRequest, options?: { signal?: AbortSignal }): Promise<VlmAnswer>;
  /** Cancels what is queued and in flight. */
  close(): void;
}
