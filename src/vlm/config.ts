import { readFileSync } from 'node:fs';
import path from 'node:path';
import { messageOf, VlmConfigError } from '../errors';
import { STATE_FOLDER } from '../store';
import type { FewShotLayout, VlmConfig, VlmDialect } from './types';

/**
 * Where the VLM settings come from, strongest first: the caller's overrides, the environment
 * (`QUICKSORT_VLM_*`), the dataset's optional `DIR/.quicksort/vlm.json`, then the defaults. Every bad value
 * is a VlmConfigError naming where it came from (the variable, or the file and field) and what is allowed.
 */

/**
 * The defaults. Per-message is the default layout because every chat template takes one image per user turn,
 * and the assistant turns show the model the exact shape of the answer; `interleaved` is one option away.
 */
export const VLM_DEFAULTS: Omit<VlmConfig, 'url' | 'model' | 'apiKey'> = {
  dialect: 'openai',
  layout: 'per-message',
  timeoutMs: 60_000,
  retries: 3,
  concurrency: 4,
  maxImageSide: 448,
};

/** The file of a dataset's VLM settings. */
export function vlmConfigPath(root: string): string {
  return path.join(root, STATE_FOLDER, 'vlm.json');
}

const DIALECTS: readonly VlmDialect[] = ['openai', 'ollama'];
const LAYOUTS: readonly FewShotLayout[] = ['interleaved', 'per-message'];
/** Allowed ranges of the numeric settings: wide enough for any real server, narrow enough to catch typos. */
const RANGES = {
  timeoutMs: [1, 3_600_000],
  retries: [0, 10],
  concurrency: [1, 256],
  maxImageSide: [16, 4096],
} as const;
type NumericField = keyof typeof RANGES;
const NUMERIC_FIELDS = Object.keys(RANGES) as NumericField[];

const ENV = {
  url: 'QUICKSORT_VLM_URL',
  model: 'QUICKSORT_VLM_MODEL',
  apiKey: 'QUICKSORT_VLM_API_KEY',
  dialect: 'QUICKSORT_VLM_DIALECT',
  layout: 'QUICKSORT_VLM_LAYOUT',
  timeoutMs: 'QUICKSORT_VLM_TIMEOUT_MS',
  retries: 'QUICKSORT_VLM_RETRIES',
  concurrency: 'QUICKSORT_VLM_CONCURRENCY',
  maxImageSide: 'QUICKSORT_VLM_MAX_IMAGE_SIDE',
} as const;

/** What vlm.json may hold. The key itself may not: a dataset folder is copied and shared, a key in it leaks. */
const FILE_FIELDS = new Set(['url', 'model', 'apiKeyEnv', 'dialect', 'layout', ...NUMERIC_FIELDS]);

/** Where a value came from, for the error message: "QUICKSORT_VLM_URL", "/d/.quicksort/vlm.json: url", "options.url". */
interface Source {
  describe(field: string): string;
  file?: string;
  fieldName(field: string): string;
}
const envSource: Source = { describe: (field) => ENV[field as keyof typeof ENV] ?? field, fieldName: (field) => ENV[field as keyof typeof ENV] ?? field };
const optionSource = (prefix: string): Source => ({ describe: (field) => `${prefix}.${field}`, fieldName: (field) => field });
const fileSource = (file: string): Source => ({ describe: (field) => `${file}: field "${field}"`, file, fieldName: (field) => field });

function fail(source: Source, field: string, message: string): never {
  throw new VlmConfigError(`${source.describe(field)} ${message}`, source.fieldName(field), source.file);
}

function checkUrl(value: unknown, source: Source): string {
  if (typeof value !== 'string' || value.trim() === '') fail(source, 'url', 'must be the server\'s base URL, e.g. "http://127.0.0.1:8080/v1"');
  let parsed: URL;
  try {
    parsed = new URL(value.trim());
  } catch {
    fail(source, 'url', `is not a URL (got ${JSON.stringify(value)}); e.g. "http://127.0.0.1:8080/v1"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(source, 'url', `must be an http:// or https:// URL (got ${JSON.stringify(value)})`);
  if (parsed.username || parsed.password) fail(source, 'url', 'must not hold credentials; set the API key with QUICKSORT_VLM_API_KEY');
  // The client appends /chat/completions or /api/chat: keep no trailing slash to append to.
  return value.trim().replace(/\/+$/, '');
}

function checkString(value: unknown, field: string, source: Source): string {
  if (typeof value !== 'string' || value.trim() === '') fail(source, field, `must be a non-empty string (got ${JSON.stringify(value)})`);
  return value.trim();
}

function checkChoice<T extends string>(value: unknown, field: string, choices: readonly T[], source: Source): T {
  if (!choices.includes(value as T)) fail(source, field, `must be one of ${choices.map((c) => `"${c}"`).join(', ')} (got ${JSON.stringify(value)})`);
  return value as T;
}

function checkNumber(value: unknown, field: NumericField, source: Source): number {
  const [min, max] = RANGES[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(source, field, `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  return value;
}

/** Checks each given field of a partial config; what is absent stays absent. */
function checkPartial(input: Partial<VlmConfig>, source: Source): Partial<VlmConfig> {
  const out: Partial<VlmConfig> = {};
  if (input.url !== undefined) out.url = checkUrl(input.url, source);
  if (input.model !== undefined) out.model = checkString(input.model, 'model', source);
  if (input.apiKey !== undefined) out.apiKey = checkString(input.apiKey, 'apiKey', source);
  if (input.dialect !== undefined) out.dialect = checkChoice(input.dialect, 'dialect', DIALECTS, source);
  if (input.layout !== undefined) out.layout = checkChoice(input.layout, 'layout', LAYOUTS, source);
  for (const field of NUMERIC_FIELDS) if (input[field] !== undefined) out[field] = checkNumber(input[field], field, source);
  return out;
}

function missing(what: 'url' | 'model', root: string | undefined): never {
  const file = root !== undefined ? vlmConfigPath(root) : 'DIR/.quicksort/vlm.json';
  const example = what === 'url' ? 'http://127.0.0.1:8080/v1 for llama-server or vLLM, http://127.0.0.1:11434/v1 for Ollama' : 'the model name the server knows, e.g. "qwen2.5vl:7b"';
  throw new VlmConfigError(`No VLM server ${what === 'url' ? 'URL' : 'model'} is configured: set ${ENV[what]} (${example}) or write "${what}" in ${file}.`, ENV[what]);
}

/** A complete config from a partial one (createVlmClient's argument), checked, with the defaults filled in. */
export function completeVlmConfig(input: Partial<VlmConfig> & { url: string; model: string }, where = 'config'): VlmConfig {
  const checked = checkPartial(input, optionSource(where));
  return { ...VLM_DEFAULTS, ...checked, url: checked.url!, model: checked.model! };
}

function readEnv(env: NodeJS.ProcessEnv): Partial<VlmConfig> {
  const value = (name: string): string | undefined => (env[name] !== undefined && env[name]!.trim() !== '' ? env[name]!.trim() : undefined);
  const out: Record<string, unknown> = {};
  for (const field of ['url', 'model', 'apiKey', 'dialect', 'layout'] as const) out[field] = value(ENV[field]);
  for (const field of NUMERIC_FIELDS) {
    const text = value(ENV[field]);
    out[field] = text === undefined ? undefined : /^\d+$/.test(text) ? Number(text) : text;
  }
  return checkPartial(out as Partial<VlmConfig>, envSource);
}

function readFileConfig(file: string, env: NodeJS.ProcessEnv): Partial<VlmConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new VlmConfigError(`${file} cannot be read: ${messageOf(error)}`, 'file', file, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new VlmConfigError(`${file} is not valid JSON (${messageOf(error)}); it holds an object such as {"url": "http://127.0.0.1:8080/v1", "model": "…"}`, 'file', file, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new VlmConfigError(`${file} must hold a JSON object such as {"url": "http://127.0.0.1:8080/v1", "model": "…"}`, 'file', file);
  const source = fileSource(file);
  const fields = parsed as Record<string, unknown>;
  for (const field of Object.keys(fields)) {
    if (field === 'apiKey') fail(source, field, `must not be in the dataset folder (it is copied and shared): set ${ENV.apiKey}, or name the variable that holds the key with "apiKeyEnv"`);
    if (!FILE_FIELDS.has(field)) fail(source, field, `is not a VLM setting; allowed: ${[...FILE_FIELDS].join(', ')}`);
  }
  const { apiKeyEnv, ...rest } = fields;
  const out = checkPartial(rest as Partial<VlmConfig>, source);
  if (apiKeyEnv !== undefined) {
    const name = checkString(apiKeyEnv, 'apiKeyEnv', source);
    const key = env[name];
    if (key === undefined || key.trim() === '') fail(source, 'apiKeyEnv', `names the environment variable ${name}, which is not set`);
    out.apiKey = key.trim();
  }
  return out;
}

/**
 * The VLM settings for a dataset (`root`) or none: overrides over the environment over `vlm.json` over the
 * defaults. A URL and a model must come from somewhere; without them the error says what to set.
 */
export function resolveVlmConfig(options: { root?: string; env?: NodeJS.ProcessEnv; overrides?: Partial<VlmConfig> } = {}): VlmConfig {
  const env = options.env ?? process.env;
  const fromFile = options.root !== undefined ? readFileConfig(vlmConfigPath(options.root), env) : {};
  const fromEnv = readEnv(env);
  const fromOverrides = checkPartial(options.overrides ?? {}, optionSource('options'));
  const merged: Partial<VlmConfig> = { ...VLM_DEFAULTS };
  for (const layer of [fromFile, fromEnv, fromOverrides]) {
    for (const [field, value] of Object.entries(layer)) if (value !== undefined) (merged as Record<string, unknown>)[field] = value;
  }
  if (merged.url === undefined) missing('url', options.root);
  if (merged.model === undefined) missing('model', options.root);
  return merged as VlmConfig;
}
