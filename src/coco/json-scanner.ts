import { CocoFormatError } from '../errors';

/**
 * A byte-level, push-driven scanner for COCO files of any size. It walks the top level of the document (an
 * object of sections, or the bare array of a results file) and reports each element of each top-level
 * array with its byte range, never holding more than one chunk plus the element in progress. For
 * annotation arrays it also reads the few scalar fields the bridge needs (ids, box, score, area, iscrowd)
 * straight from the bytes and skips the rest (segmentation is most of a COCO file), which is why it beats
 * `JSON.parse` on time and memory: it builds no object for what it does not need.
 *
 * It is deliberately lenient where Python is: `NaN`, `Infinity` and `-Infinity` (which `json.dump` writes
 * by default) are read as numbers, so one bad detection is a bad record, not an unreadable file.
 *
 * Elements are parsed from a restart point (the end of the previous element); when a chunk ends inside
 * one, the scanner keeps the bytes from the restart point, appends the next chunk and parses it again.
 */

/** Why `fields` of a known key could not be read as the expected type: the value's JSON text. */
export class UnreadableValue {
  constructor(readonly text: string) {}
}

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

/** What the scanner reports. Offsets are absolute byte offsets in the file. */
export interface ScanHandler {
  /** The document begins with an object (an instances file) or an array (a results file). */
  onDocumentStart?(kind: 'object' | 'array'): void;
  /** A top-level key whose value is not an array (`info`, a flag…), with the value's byte range. */
  onValue?(key: string, start: number, end: number): void;
  /** A top-level array begins; `key` is null for a bare top-level array (the results format). */
  onArrayStart?(key: string | null, offset: number): void;
  /**
   * One element of a top-level array; `fields` is set for elements of field sections that are objects.
   * The bytes are readable with `scanner.bytes(start, end)` during the call only.
   */
  onElement(key: string | null, index: number, start: number, end: number, fields: ScannedFields | null, spans: ScannedSpans | null): void;
  /** A top-level array ends at the `]` at `offset`. */
  onArrayEnd?(key: string | null, offset: number, count: number): void;
  /** Bytes before `offset` are about to be dropped from the window: a writer copies what it has not yet. */
  onDiscard?(offset: number): void;
}

export interface ScannerOptions {
  /**
   * Sections whose object elements get their fields read. Default: `annotations` and the bare top-level
   * array of a results file (key null).
   */
  fieldSections?: ReadonlySet<string | null>;
  /** Bytes read per chunk. */
  chunkBytes?: number;
  /** Record where the class is written in each field-section object (export needs it; readers do not). */
  spans?: boolean;
}

const DEFAULT_FIELD_SECTIONS: ReadonlySet<string | null> = new Set<string | null>(['annotations', null]);
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

// Byte classes for the hot loops.
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

const IS_SPACE = new Uint8Array(256);
IS_SPACE[0x20] = IS_SPACE[0x09] = IS_SPACE[0x0a] = IS_SPACE[0x0d] = 1;
/** 1 quote, 2 opener, 3 closer, 0 anything else. */
const NESTING = new Uint8Array(256);
NESTING[QUOTE] = 1;
NESTING[OPEN_BRACKET] = NESTING[OPEN_BRACE] = 2;
NESTING[CLOSE_BRACKET] = NESTING[CLOSE_BRACE] = 3;
/** Bytes that end a bare scalar (number or literal). */
const ENDS_SCALAR = new Uint8Array(256);
ENDS_SCALAR[COMMA] = ENDS_SCALAR[CLOSE_BRACE] = ENDS_SCALAR[CLOSE_BRACKET] = 1;
ENDS_SCALAR[0x20] = ENDS_SCALAR[0x09] = ENDS_SCALAR[0x0a] = ENDS_SCALAR[0x0d] = 1;

/** Exact powers of ten (10^22 is the largest a double holds exactly): the fast path of number reading. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

// Keys read by the field parser, by length then bytes.
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

/** Thrown inside a step when the window ends before the step does; caught by `scan`. */
const NEED_MORE: unique symbol = Symbol('need more bytes');

const enum State {
  Start,
  ObjectKeyOrEnd,
  ObjectKey,
  ObjectCommaOrEnd,
  ArrayFirst,
  ArrayNext,
  Done,
}

/**
 * Scans one JSON document fed in chunks. Drive it with {@link JsonScanner.readInto} / {@link JsonScanner.commit}
 * (or `scanFile` in `coco-reader`), then call {@link JsonScanner.finish}.
 */
export class JsonScanner {
  private buffer: Buffer = Buffer.alloc(0);
  /** Absolute offset of buffer[0]. */
  private base = 0;
  /** Valid bytes in the buffer. */
  private length = 0;
  /** The restart point: everything before it is fully handled. Relative to the buffer. */
  private position = 0;
  private state = State.Start;
  private arrayKey: string | null = null;
  private elementIndex = 0;
  private readonly fieldSections: ReadonlySet<string | null>;
  private readonly chunkBytes: number;
  private readonly withSpans: boolean;
  /** Set by the number reader, to return a second value without allocating. */
  private numberEnd = 0;

  constructor(
    private readonly handler: ScanHandler,
    options: ScannerOptions = {},
  ) {
    this.fieldSections = options.fieldSections ?? DEFAULT_FIELD_SECTIONS;
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.withSpans = options.spans ?? false;
  }

  /** True once the top-level value is complete. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** Absolute offset up to which everything has been handled. */
  get offset(): number {
    return this.base + this.position;
  }

  /** The bytes of an absolute range inside the current window (valid during a handler call). */
  bytes(start: number, end: number): Buffer {
    return this.buffer.subarray(start - this.base, end - this.base);
  }

  /**
   * The current window and its absolute offset, to slice later: a window is never written again once the
   * scanner moves on, so a slice taken after the handler returns still holds the same bytes.
   */
  window(): { buffer: Buffer; base: number } {
    return { buffer: this.buffer, base: this.base };
  }

  /**
   * A region to read the next chunk into. The unhandled tail moves to a fresh buffer (views handed out
   * earlier stay valid); the region grows with the tail so that an element larger than a chunk still fits.
   */
  readInto(): { buffer: Buffer; offset: number; length: number } {
    const keep = this.position;
    this.handler.onDiscard?.(this.base + keep);
    const tail = this.length - keep;
    const next = Buffer.allocUnsafe(tail + Math.max(this.chunkBytes, tail));
    this.buffer.copy(next, 0, keep, this.length);
    this.buffer = next;
    this.base += keep;
    this.position = 0;
    this.length = tail;
    return { buffer: next, offset: tail, length: next.length - tail };
  }

  /** Accepts `count` bytes read into the region of the last `readInto`, and scans as far as they allow. */
  commit(count: number): void {
    this.length += count;
    this.scan();
  }

  /** Feeds a whole buffer (for tests and small inputs), in chunks of the configured size. */
  push(data: Buffer): void {
    let from = 0;
    while (from < data.length) {
      const region = this.readInto();
      const count = Math.min(region.length, data.length - from);
      data.copy(region.buffer, region.offset, from, from + count);
      from += count;
      this.commit(count);
    }
  }

  /** Declares the end of the input: throws a {@link CocoFormatError} if the document is incomplete. */
  finish(): void {
    if (this.state === State.Done) {
      this.handler.onDiscard?.(this.base + this.length);
      return;
    }
    const where = this.arrayKey !== null || this.state === State.ArrayFirst || this.state === State.ArrayNext
      ? ` inside ${this.arrayKey === null ? 'the top-level array' : `"${this.arrayKey}"`} after ${this.elementIndex} records`
      : '';
    throw new CocoFormatError(
      `the JSON ends early at byte ${this.base + this.length}${where}: the file is truncated (an interrupted download or write?)`,
      this.arrayKey ?? undefined,
    );
  }

  private fail(relative: number, expected: string): never {
    const at = this.base + relative;
    const found = relative < this.length ? JSON.stringify(String.fromCharCode(this.buffer[relative]!)) : 'the end';
    const where = this.state === State.ArrayNext || this.state === State.ArrayFirst
      ? ` in ${this.arrayKey === null ? 'the top-level array' : `"${this.arrayKey}"`} at record ${this.elementIndex}`
      : '';
    throw new CocoFormatError(`malformed JSON at byte ${at}${where}: expected ${expected}, found ${found}`, this.arrayKey ?? undefined);
  }

  private scan(): void {
    try {
      for (;;) {
        if (this.state === State.Done) {
          const p = this.skipSpace(this.position, true);
          if (p < this.length) this.fail(p, 'nothing after the top-level value');
          this.position = p;
          return;
        }
        this.step();
      }
    } catch (error) {
      if (error !== NEED_MORE) throw error;
    }
  }

  /** One transition of the top-level state machine; commits `position` and `state` only when complete. */
  private step(): void {
    const buffer = this.buffer;
    let p = this.skipSpace(this.position, false);
    switch (this.state) {
      case State.Start: {
        // A UTF-8 byte-order mark is allowed before the document.
        if (buffer[p] === 0xef) {
          if (p + 3 > this.length) throw NEED_MORE;
          if (buffer[p + 1] === 0xbb && buffer[p + 2] === 0xbf) p = this.skipSpace(p + 3, false);
        }
        const c = buffer[p];
        if (c === OPEN_BRACE) {
          this.handler.onDocumentStart?.('object');
          this.commitAt(p + 1, State.ObjectKeyOrEnd);
        } else if (c === OPEN_BRACKET) {
          this.handler.onDocumentStart?.('array');
          this.arrayKey = null;
          this.elementIndex = 0;
          this.handler.onArrayStart?.(null, this.base + p);
          this.commitAt(p + 1, State.ArrayFirst);
        } else {
          this.fail(p, 'a COCO file: a JSON object ({"images": …}) or a results array ([{"image_id": …}])');
        }
        return;
      }
      case State.ObjectKeyOrEnd:
      case State.ObjectKey: {
        if (buffer[p] === CLOSE_BRACE && this.state === State.ObjectKeyOrEnd) {
          this.commitAt(p + 1, State.Done);
          return;
        }
        if (buffer[p] !== QUOTE) this.fail(p, 'a key in double quotes');
        const keyEnd = this.skipString(p);
        const key = this.decodeString(p, keyEnd);
        p = this.skipSpace(keyEnd, false);
        if (buffer[p] !== COLON) this.fail(p, `":" after the key "${key}"`);
        p = this.skipSpace(p + 1, false);
        if (buffer[p] === OPEN_BRACKET) {
          this.arrayKey = key;
          this.elementIndex = 0;
          this.handler.onArrayStart?.(key, this.base + p);
          this.commitAt(p + 1, State.ArrayFirst);
          return;
        }
        const end = this.skipValue(p);
        this.handler.onValue?.(key, this.base + p, this.base + end);
        this.commitAt(end, State.ObjectCommaOrEnd);
        return;
      }
      case State.ObjectCommaOrEnd: {
        const c = buffer[p];
        if (c === COMMA) this.commitAt(p + 1, State.ObjectKey);
        else if (c === CLOSE_BRACE) this.commitAt(p + 1, State.Done);
        else this.fail(p, '"," or "}" between top-level keys');
        return;
      }
      case State.ArrayFirst:
      case State.ArrayNext: {
        const c = buffer[p];
        if (c === CLOSE_BRACKET) {
          const key = this.arrayKey;
          this.handler.onArrayEnd?.(key, this.base + p, this.elementIndex);
          this.arrayKey = null;
          this.commitAt(p + 1, key === null ? State.Done : State.ObjectCommaOrEnd);
          return;
        }
        if (this.state === State.ArrayNext) {
          if (c !== COMMA) this.fail(p, '"," or "]" between records');
          p = this.skipSpace(p + 1, false);
        }
        this.element(p);
        return;
      }
      default:
        return;
    }
  }

  private commitAt(relative: number, state: State): void {
    this.position = relative;
    this.state = state;
  }

  /** Parses one element at `p` and reports it; commits past it. */
  private element(p: number): void {
    const key = this.arrayKey;
    let end: number;
    let fields: ScannedFields | null = null;
    let spans: ScannedSpans | null = null;
    if (this.buffer[p] === OPEN_BRACE && this.fieldSections.has(key)) {
      fields = new ScannedFields();
      if (this.withSpans) spans = new ScannedSpans();
      end = this.readFields(p, fields, spans);
    } else {
      end = this.skipValue(p);
    }
    this.handler.onElement(key, this.elementIndex, this.base + p, this.base + end, fields, spans);
    this.elementIndex++;
    this.commitAt(end, State.ArrayNext);
  }

  private skipSpace(p: number, atEnd: boolean): number {
    const buffer = this.buffer;
    const length = this.length;
    while (p < length && IS_SPACE[buffer[p]!] === 1) p++;
    if (p >= length && !atEnd) throw NEED_MORE;
    return p;
  }

  /** `p` at an opening quote; returns the position after the closing quote. */
  private skipString(p: number): number {
    const buffer = this.buffer;
    const length = this.length;
    let from = p + 1;
    for (;;) {
      const quote = buffer.indexOf(QUOTE, from);
      if (quote < 0 || quote >= length) throw NEED_MORE;
      // The quote is escaped if an odd number of backslashes precede it.
      let backslashes = 0;
      for (let k = quote - 1; k > p && buffer[k] === BACKSLASH; k--) backslashes++;
      if ((backslashes & 1) === 0) return quote + 1;
      from = quote + 1;
    }
  }

  private decodeString(start: number, end: number): string {
    const text = this.buffer.toString('utf8', start, end);
    return text.includes('\\') ? (JSON.parse(text) as string) : text.slice(1, -1);
  }

  /** Skips any JSON value at `p` (nested or not) and returns the position after it. */
  private skipValue(p: number): number {
    const buffer = this.buffer;
    const length = this.length;
    const first = buffer[p]!;
    if (first === QUOTE) return this.skipString(p);
    if (first === OPEN_BRACE || first === OPEN_BRACKET) {
      let depth = 0;
      while (p < length) {
        const kind = NESTING[buffer[p]!]!;
        if (kind === 0) {
          p++;
        } else if (kind === 1) {
          p = this.skipString(p);
        } else if (kind === 2) {
          depth++;
          p++;
        } else {
          p++;
          if (--depth === 0) return p;
        }
      }
      throw NEED_MORE;
    }
    if (ENDS_SCALAR[first] === 1) this.fail(p, 'a value');
    while (p < length) {
      if (ENDS_SCALAR[buffer[p]!] === 1) return p;
      p++;
    }
    throw NEED_MORE;
  }

  /** Reads an annotation object at `p` into `fields`; returns the position after its closing brace. */
  private readFields(p: number, fields: ScannedFields, spans: ScannedSpans | null): number {
    const buffer = this.buffer;
    p = this.skipSpace(p + 1, false);
    if (buffer[p] === CLOSE_BRACE) return p + 1;
    for (;;) {
      if (buffer[p] !== QUOTE) this.fail(p, 'a key in double quotes');
      const keyEnd = this.skipString(p);
      const key = this.keyOf(p + 1, keyEnd - 1);
      p = this.skipSpace(keyEnd, false);
      if (buffer[p] !== COLON) this.fail(p, '":" after a key');
      p = this.skipSpace(p + 1, false);
      const valueStart = p;
      switch (key) {
        case Key.Other:
          p = this.skipValue(p);
          break;
        case Key.Bbox:
          p = this.readBox(p, fields);
          break;
        default: {
          const value = this.readScalar(p);
          p = this.numberEnd;
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
                spans.categoryStart = this.base + valueStart;
                spans.categoryEnd = this.base + p;
              }
              break;
            case Key.Label:
              fields.label = value;
              if (spans) {
                spans.labelStart = this.base + valueStart;
                spans.labelEnd = this.base + p;
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
      p = this.skipSpace(p, false);
      const c = buffer[p];
      if (c === COMMA) {
        p = this.skipSpace(p + 1, false);
      } else if (c === CLOSE_BRACE) {
        return p + 1;
      } else {
        this.fail(p, '"," or "}" in a record');
      }
    }
  }

  /** Which known key the bytes [start, end) name. */
  private keyOf(start: number, end: number): Key {
    const candidates = KEYS_BY_LENGTH[end - start];
    const buffer = this.buffer;
    if (candidates) {
      outer: for (const candidate of candidates) {
        const bytes = candidate.bytes;
        for (let k = 0; k < bytes.length; k++) if (buffer[start + k] !== bytes[k]) continue outer;
        return candidate.key;
      }
    }
    // An escaped key ("bbo\u0078") is rare but legal: decode it rather than miss a field.
    for (let k = start; k < end; k++) {
      if (buffer[k] === BACKSLASH) return KEYS_BY_NAME.get(this.decodeString(start - 1, end + 1)) ?? Key.Other;
    }
    return Key.Other;
  }

  /** Reads a scalar at `p`: numbers from bytes, anything else through JSON.parse. Sets `numberEnd`. */
  private readScalar(p: number): unknown {
    const c = this.buffer[p]!;
    if ((c >= ZERO && c <= NINE) || c === MINUS || c === 0x4e /* N */ || c === 0x49 /* I */) {
      const value = this.readNumber(p);
      if (value !== undefined) return value;
    }
    const end = this.skipValue(p);
    this.numberEnd = end;
    return this.parseText(p, end);
  }

  private parseText(start: number, end: number): unknown {
    const text = this.buffer.toString('utf8', start, end);
    try {
      return JSON.parse(text);
    } catch {
      return new UnreadableValue(text);
    }
  }

  /**
   * Reads a number at `p` and sets `numberEnd`; returns undefined if the bytes there are not a number.
   * Up to 15 significant digits and no exponent, the value is mantissa / 10^k: both exact doubles, and
   * IEEE division rounds correctly, so the result is the one JSON.parse gives (Clinger's fast path).
   * Longer numbers and exponents go through `Number`, which rounds correctly too.
   */
  private readNumber(p: number): number | undefined {
    const buffer = this.buffer;
    const length = this.length;
    const start = p;
    let negative = false;
    if (buffer[p] === MINUS) {
      negative = true;
      p++;
      if (p >= length) throw NEED_MORE;
    }
    let c = buffer[p]!;
    if (c === 0x4e || c === 0x49) return this.readSpecial(start, p, negative);
    let mantissa = 0;
    let digits = 0;
    let fraction = 0;
    let slow = false;
    while (p < length && (c = buffer[p]!) >= ZERO && c <= NINE) {
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
      p++;
    }
    if (p < length && c === DOT) {
      p++;
      while (p < length && (c = buffer[p]!) >= ZERO && c <= NINE) {
        mantissa = mantissa * 10 + (c - ZERO);
        digits++;
        fraction++;
        p++;
      }
    }
    if (p < length && (c === LOWER_E || c === UPPER_E)) {
      slow = true;
      p++;
      if (p < length && (buffer[p] === PLUS || buffer[p] === MINUS)) p++;
      while (p < length && (c = buffer[p]!) >= ZERO && c <= NINE) p++;
    }
    if (p >= length) throw NEED_MORE;
    if (digits === 0 || ENDS_SCALAR[buffer[p]!] !== 1) return undefined;
    this.numberEnd = p;
    let value: number;
    if (!slow && digits <= 15 && fraction <= 22) {
      value = fraction === 0 ? mantissa : mantissa / POWERS_OF_TEN[fraction]!;
      return negative ? -value : value;
    }
    value = Number(buffer.toString('latin1', start, p));
    return value;
  }

  /** NaN, Infinity and -Infinity, as Python's json module writes them. */
  private readSpecial(start: number, p: number, negative: boolean): number | undefined {
    const word = this.buffer[p] === 0x4e ? 'NaN' : 'Infinity';
    if (p + word.length >= this.length) throw NEED_MORE;
    if (this.buffer.toString('latin1', p, p + word.length) !== word || ENDS_SCALAR[this.buffer[p + word.length]!] !== 1) return undefined;
    this.numberEnd = p + word.length;
    if (word === 'NaN') return negative ? undefined : NaN;
    void start;
    return negative ? -Infinity : Infinity;
  }

  /** Reads `bbox`: an array of numbers read from bytes, or anything else through JSON.parse. */
  private readBox(p: number, fields: ScannedFields): number {
    const buffer = this.buffer;
    const start = p;
    if (buffer[p] === OPEN_BRACKET) {
      const values: number[] = [];
      let q = this.skipSpace(p + 1, false);
      if (buffer[q] === CLOSE_BRACKET) {
        fields.bbox = values;
        return q + 1;
      }
      for (;;) {
        const value = this.readNumber(q);
        if (value === undefined) break;
        values.push(value);
        q = this.skipSpace(this.numberEnd, false);
        if (buffer[q] === COMMA) {
          q = this.skipSpace(q + 1, false);
        } else if (buffer[q] === CLOSE_BRACKET) {
          fields.bbox = values;
          return q + 1;
        } else {
          break;
        }
      }
    }
    const end = this.skipValue(start);
    fields.bbox = this.parseText(start, end);
    return end;
  }
}
