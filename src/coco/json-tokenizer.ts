import { CocoFormatError } from '../errors';
import {
  BACKSLASH, DOT, ENDS_SCALAR, IS_SPACE, LOWER_E, MINUS, NESTING, NINE, OPEN_BRACE, OPEN_BRACKET, PLUS, QUOTE,
  UPPER_E, UPPER_I, UPPER_N, ZERO,
} from './json-bytes';

/** Why `fields` of a known key could not be read as the expected type: the value's JSON text. */
export class UnreadableValue {
  constructor(readonly text: string) {}
}

/** Thrown by a read when the window ends before the token does; the scanner catches it and waits for more. */
export const NEED_MORE: unique symbol = Symbol('need more bytes');

/** Where in the document a syntax error is, as the scanner knows it: a phrase for the message, and the section. */
export interface DocumentPlace {
  where: string;
  section?: string;
}

/** Exact powers of ten (10^22 is the largest a double holds exactly): the fast path of number reading. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The window of the file the scanner holds (one chunk plus the element in progress), and the reads of JSON
 * tokens in it. Positions are relative to the window; `base` makes them absolute. Each read returns the
 * position after its token, or throws {@link NEED_MORE} when the window ends first, so that the caller can
 * read the same token again from its start once more bytes are in.
 */
export class JsonTokenizer {
  buffer: Buffer = Buffer.alloc(0);
  /** Absolute offset of buffer[0]. */
  base = 0;
  /** Valid bytes in the buffer. */
  length = 0;
  /** Where the last number (or scalar) read ended: a second return value without an allocation. */
  numberEnd = 0;

  constructor(private readonly place: () => DocumentPlace) {}

  /**
   * Drops the bytes before `keep` and returns a region to read the next chunk into. The kept tail moves to a
   * fresh buffer (views handed out earlier stay valid); the region grows with the tail so that an element
   * larger than a chunk still fits.
   */
  refill(keep: number, chunkBytes: number): { buffer: Buffer; offset: number; length: number } {
    const tail = this.length - keep;
    const next = Buffer.allocUnsafe(tail + Math.max(chunkBytes, tail));
    this.buffer.copy(next, 0, keep, this.length);
    this.buffer = next;
    this.base += keep;
    this.length = tail;
    return { buffer: next, offset: tail, length: next.length - tail };
  }

  /** Throws the {@link CocoFormatError} of a byte at `relative` that is not what the grammar expects there. */
  fail(relative: number, expected: string): never {
    const found = relative < this.length ? JSON.stringify(String.fromCharCode(this.buffer[relative]!)) : 'the end';
    const { where, section } = this.place();
    throw new CocoFormatError(`malformed JSON at byte ${this.base + relative}${where}: expected ${expected}, found ${found}`, section);
  }

  /** Skips white space; at the end of the window, throws {@link NEED_MORE} unless `atEnd` (nothing may follow). */
  skipSpace(p: number, atEnd: boolean): number {
    const buffer = this.buffer;
    const length = this.length;
    while (p < length && IS_SPACE[buffer[p]!] === 1) p++;
    if (p >= length && !atEnd) throw NEED_MORE;
    return p;
  }

  /** `p` at an opening quote; returns the position after the closing quote. */
  skipString(p: number): number {
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

  /** The text of the string token [start, end), quotes included. */
  decodeString(start: number, end: number): string {
    const text = this.buffer.toString('utf8', start, end);
    return text.includes('\\') ? (JSON.parse(text) as string) : text.slice(1, -1);
  }

  /** Skips any JSON value at `p` (nested or not) and returns the position after it. */
  skipValue(p: number): number {
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

  /** Reads a scalar at `p`: numbers from bytes, anything else through JSON.parse. Sets `numberEnd`. */
  readScalar(p: number): unknown {
    const c = this.buffer[p]!;
    if ((c >= ZERO && c <= NINE) || c === MINUS || c === UPPER_N || c === UPPER_I) {
      const value = this.readNumber(p);
      if (value !== undefined) return value;
    }
    const end = this.skipValue(p);
    this.numberEnd = end;
    return this.parseText(p, end);
  }

  /** The value of the JSON text [start, end), or an {@link UnreadableValue} holding the text. */
  parseText(start: number, end: number): unknown {
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
  readNumber(p: number): number | undefined {
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
    if (c === UPPER_N || c === UPPER_I) return this.readSpecial(p, negative);
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
    if (!slow && digits <= 15 && fraction <= 22) {
      const value = fraction === 0 ? mantissa : mantissa / POWERS_OF_TEN[fraction]!;
      return negative ? -value : value;
    }
    return Number(buffer.toString('latin1', start, p));
  }

  /** NaN, Infinity and -Infinity, as Python's json module writes them. */
  private readSpecial(p: number, negative: boolean): number | undefined {
    const word = this.buffer[p] === UPPER_N ? 'NaN' : 'Infinity';
    if (p + word.length >= this.length) throw NEED_MORE;
    if (this.buffer.toString('latin1', p, p + word.length) !== word || ENDS_SCALAR[this.buffer[p + word.length]!] !== 1) return undefined;
    this.numberEnd = p + word.length;
    if (word === 'NaN') return negative ? undefined : NaN;
    return negative ? -Infinity : Infinity;
  }
}
