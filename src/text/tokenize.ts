/**
 * What the text encoder reads of a caption: its words (rows of the vocabulary, or a hashed bucket for a word
 * out of it) and its subwords (hashed buckets for character n-grams and word bigrams), fastText-style.
 * Pure and deterministic: the same text gives the same rows in any process.
 */

/** Letters and digits, lowercased: the same rule scripts/make-word-vectors.js kept vocabulary words by. */
const WORD = /[\p{L}\p{N}]+/gu;

export interface TokenizerSettings {
  /** Rows of the vocabulary (0 … vocabularySize − 1); buckets follow them. */
  vocabularySize: number;
  /** How many hashed rows follow the vocabulary. */
  buckets: number;
  /** Character n-gram lengths, e.g. [3, 5] for 3, 4 and 5 (of the word with `<` and `>` around it). */
  minGram: number;
  maxGram: number;
  /** Also hash each pair of neighbouring words. */
  bigrams: boolean;
}

/** The rows one text touches: a caption's bag is mean(word rows) + mean(subword rows). */
export interface TextFeatures {
  words: Int32Array;
  subwords: Int32Array;
}

/** Lowercased words of a text. */
export function wordsOf(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/**
 * The rows of the embedding table that a text reads.
 *
 * @example
 * featuresOf('A shiny red car', rowOf, settings); // words: [bucket('a'), row('shiny'), row('red'), row('car')], subwords: n-grams and bigrams
 */
export function featuresOf(text: string, rowOf: ReadonlyMap<string, number>, settings: TokenizerSettings): TextFeatures {
  const tokens = wordsOf(text);
  const words: number[] = [];
  const subwords: number[] = [];
  const bucket = (key: string) => settings.vocabularySize + (fnv1a(key) % settings.buckets);
  tokens.forEach((token, index) => {
    words.push(rowOf.get(token) ?? bucket(`w:${token}`));
    const marked = `<${token}>`;
    for (let n = settings.minGram; n <= settings.maxGram; n++) {
      for (let start = 0; start + n <= marked.length; start++) {
        const gram = marked.slice(start, start + n);
        if (gram !== marked) subwords.push(bucket(`c:${gram}`));
      }
    }
    if (settings.bigrams && index > 0) subwords.push(bucket(`b:${tokens[index - 1]} ${token}`));
  });
  return { words: Int32Array.from(words), subwords: Int32Array.from(subwords) };
}

/** 32-bit FNV-1a over the UTF-16 code units: fast, stable across runs and platforms. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
