import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACKET, QUOTE } from './json-bytes';
import type { JsonTokenizer } from './json-tokenizer';

/**
 * The fields of an annotation (or detection) object read by the scanner, under their COCO names; a key
 * that is absent stays `undefined`. Values are unchecked: `fromCoco` validates them.
 */
export class ScannedFields {
  id: unknown = undefined;
  image_id: unknown = undefined;
  category_id: unknown = undefined;
  /** MMDetection's 0-based class index, written in place of `category_id` by some of its dumps. */
  label: unknown = undefined;
  bbox: unknown = undefined;
  score: unknown = undefined;
  area: unknown = undefined;
  iscrowd: unknown = undefined;
}

/** Where the class of an annotation object is written, for splicing a corrected one in on export. */
export class ScannedSpans {
  /** Absolute byte range of the `category_id` value; -1 if absent. */
  categoryStart = -1;
  categoryEnd = -1;
  /** Absolute byte range of the `label` value; -1 if absent. */
  labelStart = -1;
  labelEnd = -1;
  /** How many keys the object has (a key appended on export needs a comma unless it is the first). */
  keys = 0;
}

// Keys read by the field reader, by length then bytes.
const enum Key {
  Other,
  Id,
  ImageId,
  CategoryId,
  Label,
  Bbox,
  Score,
  Area,
  Iscrowd,
}
const KEY_NAMES: [string, Key][] = [
  ['id', Key.Id],
  ['image_id', Key.ImageId],
  ['category_id', Key.CategoryId],
  ['label', Key.Label],
  ['bbox', Key.Bbox],
  ['score', Key.Score],
  ['area', Key.Area],
  ['iscrowd', Key.Iscrowd],
];
const KEYS_BY_LENGTH: { bytes: Buffer; key: Key }[][] = [];
for (const [name, key] of KEY_NAMES) (KEYS_BY_LENGTH[name.length] ??= []).push({ bytes: Buffer.from(name, 'latin1'), key });
const KEYS_BY_NAME = new Map(KEY_NAMES);

/**
 * Reads the annotation object at `p` into `fields` (and, when given, where its class is written into
 * `spans`), straight from the bytes; every other key's value is skipped unbuilt. Returns the position after
 * its closing brace.
 */
export function readFields(tokens: JsonTokenizer, p: number, fields: ScannedFields, spans: ScannedSpans | null): number {
  const buffer = tokens.buffer;
  p = tokens.skipSpace(p + 1, false);
  if (buffer[p] === CLOSE_BRACE) return p + 1;
  for (;;) {
    if (buffer[p] !== QUOTE) tokens.fail(p, 'a key in double quotes');
    const keyEnd = tokens.skipString(p);
    const key = keyOf(tokens, p + 1, keyEnd - 1);
    p = tokens.skipSpace(keyEnd, false);
    if (buffer[p] !== COLON) tokens.fail(p, '":" after a key');
    p = tokens.skipSpace(p + 1, false);
    const valueStart = p;
    switch (key) {
      case Key.Other:
        p = tokens.skipValue(p);
        break;
      case Key.Bbox:
        p = readBox(tokens, p, fields);
        break;
      default: {
        const value = tokens.readScalar(p);
        p = tokens.numberEnd;
        switch (key) {
          case Key.Id:
            fields.id = value;
            break;
          case Key.ImageId:
            fields.image_id = value;
            break;
          case Key.CategoryId:
            fields.category_id = value;
            if (spans) {
              spans.categoryStart = tokens.base + valueStart;
              spans.categoryEnd = tokens.base + p;
            }
            break;
          case Key.Label:
            fields.label = value;
            if (spans) {
              spans.labelStart = tokens.base + valueStart;
              spans.labelEnd = tokens.base + p;
            }
            break;
          case Key.Score:
            fields.score = value;
            break;
          case Key.Area:
            fields.area = value;
            break;
          case Key.Iscrowd:
            fields.iscrowd = value;
            break;
        }
      }
    }
    if (spans) spans.keys++;
    p = tokens.skipSpace(p, false);
    const c = buffer[p];
    if (c === COMMA) {
      p = tokens.skipSpace(p + 1, false);
    } else if (c === CLOSE_BRACE) {
      return p + 1;
    } else {
      tokens.fail(p, '"," or "}" in a record');
    }
  }
}

/** Which known key the bytes [start, end) name. */
function keyOf(tokens: JsonTokenizer, start: number, end: number): Key {
  const candidates = KEYS_BY_LENGTH[end - start];
  const buffer = tokens.buffer;
  if (candidates) {
    outer: for (const candidate of candidates) {
      const bytes = candidate.bytes;
      for (let k = 0; k < bytes.length; k++) if (buffer[start + k] !== bytes[k]) continue outer;
      return candidate.key;
    }
  }
  // An escaped key ("bbo\u0078") is rare but legal: decode it rather than miss a field.
  for (let k = start; k < end; k++) {
    if (buffer[k] === BACKSLASH) return KEYS_BY_NAME.get(tokens.decodeString(start - 1, end + 1)) ?? Key.Other;
  }
  return Key.Other;
}

/** Reads `bbox`: an array of numbers read from bytes, or anything else through JSON.parse. */
function readBox(tokens: JsonTokenizer, p: number, fields: ScannedFields): number {
  const buffer = tokens.buffer;
  const start = p;
  if (buffer[p] === OPEN_BRACKET) {
    const values: number[] = [];
    let q = tokens.skipSpace(p + 1, false);
    if (buffer[q] === CLOSE_BRACKET) {
      fields.bbox = values;
      return q + 1;
    }
    for (;;) {
      const value = tokens.readNumber(q);
      if (value === undefined) break;
      values.push(value);
      q = tokens.skipSpace(tokens.numberEnd, false);
      if (buffer[q] === COMMA) {
        q = tokens.skipSpace(q + 1, false);
      } else if (buffer[q] === CLOSE_BRACKET) {
        fields.bbox = values;
        return q + 1;
      } else {
        break;
      }
    }
  }
  const end = tokens.skipValue(start);
  fields.bbox = tokens.parseText(start, end);
  return end;
}
