import { readFileSync } from 'node:fs';
import { ModelError, messageOf } from '../errors';
import type { Padding } from './manifest/manifest-types';

/** The part of tokenizers.js's `Tokenizer` used here. */
interface Tokenizer {
  encode(text: string): { ids: number[] };
  token_to_id(token: string): number | undefined;
  get_added_tokens_decoder(): Map<number, { special: boolean }>;
}

// The package is ESM-first but ships a CommonJS build under its `require` condition, which this CommonJS
// module loads. Its ESM type declarations cannot be imported from CommonJS by every TypeScript in use here,
// hence the local interface above.
const tokenizers = require('@huggingface/tokenizers') as { Tokenizer: new (json: object, config: object) => Tokenizer };

export interface EncodedBatch {
  /** count × length token ids, row by row. */
  ids: number[];
  /** count × length: 1 for a real token, 0 for padding. */
  mask: number[];
  count: number;
  length: number;
}

/**
 * A tokenizer read from a local `tokenizer.json` (and `tokenizer_config.json`) with Hugging Face's
 * tokenizers.js: the same files, the same ids as the Python library, and no network access (the library
 * only ever sees the parsed JSON we hand it).
 *
 * @example
 * const tokenizer = TextTokenizer.load('clip/tokenizer.json', 'clip/tokenizer_config.json');
 * tokenizer.encode('a photo of a cat', 77); // [49406, 320, 1125, 539, 320, 2368, 49407]
 */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    /** The id padding is filled with. */
    readonly padId: number,
    private readonly specialIds: Set<number>,
  ) {}

  static load(file: string, configFile?: string): TextTokenizer {
    const json = readJson(file, 'tokenizer');
    const config = configFile ? readJson(configFile, 'tokenizer config') : {};
    let tokenizer: Tokenizer;
    try {
      tokenizer = new tokenizers.Tokenizer(json, config);
    } catch (error) {
      throw new ModelError(`cannot build a tokenizer from ${file}: ${messageOf(error)}; is it a Hugging Face tokenizer.json?`, { cause: error });
    }
    const specialIds = new Set<number>();
    for (const [id, token] of tokenizer.get_added_tokens_decoder()) if (token.special) specialIds.add(id);
    return new TextTokenizer(tokenizer, padIdOf(tokenizer, json, config), specialIds);
  }

  /** Token ids with the model's special tokens, cut to `maxLength` (keeping a closing special token, which some towers pool at). */
  encode(text: string, maxLength: number): number[] {
    const ids = this.tokenizer.encode(text).ids;
    if (ids.length <= maxLength) return ids;
    const last = ids[ids.length - 1]!;
    return this.specialIds.has(last) ? [...ids.slice(0, maxLength - 1), last] : ids.slice(0, maxLength);
  }

  /** Encodes texts into one padded rectangle. */
  encodeBatch(texts: readonly string[], maxLength: number, padding: Padding): EncodedBatch {
    const rows = texts.map((text) => this.encode(text, maxLength));
    const length = padding === 'max_length' ? maxLength : Math.max(1, ...rows.map((row) => row.length));
    const ids: number[] = [];
    const mask: number[] = [];
    for (const row of rows) {
      for (let t = 0; t < length; t++) {
        ids.push(t < row.length ? row[t]! : this.padId);
        mask.push(t < row.length ? 1 : 0);
      }
    }
    return { ids, mask, count: rows.length, length };
  }
}

function padIdOf(tokenizer: Tokenizer, json: Record<string, unknown>, config: Record<string, unknown>): number {
  const padding = json.padding as { pad_id?: unknown } | null | undefined;
  if (typeof padding?.pad_id === 'number') return padding.pad_id;
  const token = config.pad_token;
  const name = typeof token === 'string' ? token : typeof token === 'object' && token !== null ? (token as { content?: string }).content : undefined;
  const id = name === undefined ? undefined : tokenizer.token_to_id(name);
  return id ?? 0;
}

function readJson(file: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ModelError(`cannot read the ${what} ${file}: ${messageOf(error)}`, { cause: error });
  }
}
