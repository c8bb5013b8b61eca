import { CocoFormatError } from '../errors';
import { CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-bytes';
import { readFields, ScannedFields, ScannedSpans } from './json-fields';
import { JsonTokenizer, NEED_MORE, type DocumentPlace } from './json-tokenizer';

// What the scanner hands its handler, importable beside it.
export { ScannedFields, ScannedSpans } from './json-fields';
export { UnreadableValue } from './json-tokenizer';

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
 * This file is the top-level state machine; the tokens are read by ./json-tokenizer and the fields of an
 * annotation by ./json-fields.
 */

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
  private readonly tokens = new JsonTokenizer(() => this.place());
  /** The restart point: everything before it is fully handled. Relative to the buffer. */
  private position = 0;
  private state = State.Start;
  private arrayKey: string | null = null;
  private elementIndex = 0;
  private readonly fieldSections: ReadonlySet<string | null>;
  private readonly chunkBytes: number;
  private readonly withSpans: boolean;

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
    return this.tokens.base + this.position;
  }

  /** The bytes of an absolute range inside the current window (valid during a handler call). */
  bytes(start: number, end: number): Buffer {
    const { buffer, base } = this.tokens;
    return buffer.subarray(start - base, end - base);
  }

  /**
   * The current window and its absolute offset, to slice later: a window is never written again once the
   * scanner moves on, so a slice taken after the handler returns still holds the same bytes.
   */
  window(): { buffer: Buffer; base: number } {
    return { buffer: this.tokens.buffer, base: this.tokens.base };
  }

  /**
   * A region to read the next chunk into. The unhandled tail moves to a fresh buffer (views handed out
   * earlier stay valid); the region grows with the tail so that an element larger than a chunk still fits.
   */
  readInto(): { buffer: Buffer; offset: number; length: number } {
    this.handler.onDiscard?.(this.offset);
    const region = this.tokens.refill(this.position, this.chunkBytes);
    this.position = 0;
    return region;
  }

  /** Accepts `count` bytes read into the region of the last `readInto`, and scans as far as they allow. */
  commit(count: number): void {
    this.tokens.length += count;
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
      this.handler.onDiscard?.(this.tokens.base + this.tokens.length);
      return;
    }
    const where = this.arrayKey !== null || this.state === State.ArrayFirst || this.state === State.ArrayNext
      ? ` inside ${this.arrayKey === null ? 'the top-level array' : `"${this.arrayKey}"`} after ${this.elementIndex} records`
      : '';
    throw new CocoFormatError(
      `the JSON ends early at byte ${this.tokens.base + this.tokens.length}${where}: the file is truncated (an interrupted download or write?)`,
      this.arrayKey ?? undefined,
    );
  }

  /** Where a syntax error is, for its message: the record of the array being read. */
  private place(): DocumentPlace {
    const where = this.state === State.ArrayNext || this.state === State.ArrayFirst
      ? ` in ${this.arrayKey === null ? 'the top-level array' : `"${this.arrayKey}"`} at record ${this.elementIndex}`
      : '';
    return { where, section: this.arrayKey ?? undefined };
  }

  private scan(): void {
    const tokens = this.tokens;
    try {
      for (;;) {
        if (this.state === State.Done) {
          const p = tokens.skipSpace(this.position, true);
          if (p < tokens.length) tokens.fail(p, 'nothing after the top-level value');
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
    const tokens = this.tokens;
    const buffer = tokens.buffer;
    let p = tokens.skipSpace(this.position, false);
    switch (this.state) {
      case State.Start: {
        // A UTF-8 byte-order mark is allowed before the document.
        if (buffer[p] === 0xef) {
          if (p + 3 > tokens.length) throw NEED_MORE;
          if (buffer[p + 1] === 0xbb && buffer[p + 2] === 0xbf) p = tokens.skipSpace(p + 3, false);
        }
        const c = buffer[p];
        if (c === OPEN_BRACE) {
          this.handler.onDocumentStart?.('object');
          this.commitAt(p + 1, State.ObjectKeyOrEnd);
        } else if (c === OPEN_BRACKET) {
          this.handler.onDocumentStart?.('array');
          this.arrayKey = null;
          this.elementIndex = 0;
          this.handler.onArrayStart?.(null, tokens.base + p);
          this.commitAt(p + 1, State.ArrayFirst);
        } else {
          tokens.fail(p, 'a COCO file: a JSON object ({"images": …}) or a results array ([{"image_id": …}])');
        }
        return;
      }
      case State.ObjectKeyOrEnd:
      case State.ObjectKey: {
        if (buffer[p] === CLOSE_BRACE && this.state === State.ObjectKeyOrEnd) {
          this.commitAt(p + 1, State.Done);
          return;
        }
        if (buffer[p] !== QUOTE) tokens.fail(p, 'a key in double quotes');
        const keyEnd = tokens.skipString(p);
        const key = tokens.decodeString(p, keyEnd);
        p = tokens.skipSpace(keyEnd, false);
        if (buffer[p] !== COLON) tokens.fail(p, `":" after the key "${key}"`);
        p = tokens.skipSpace(p + 1, false);
        if (buffer[p] === OPEN_BRACKET) {
          this.arrayKey = key;
          this.elementIndex = 0;
          this.handler.onArrayStart?.(key, tokens.base + p);
          this.commitAt(p + 1, State.ArrayFirst);
          return;
        }
        const end = tokens.skipValue(p);
        this.handler.onValue?.(key, tokens.base + p, tokens.base + end);
        this.commitAt(end, State.ObjectCommaOrEnd);
        return;
      }
      case State.ObjectCommaOrEnd: {
        const c = buffer[p];
        if (c === COMMA) this.commitAt(p + 1, State.ObjectKey);
        else if (c === CLOSE_BRACE) this.commitAt(p + 1, State.Done);
        else tokens.fail(p, '"," or "}" between top-level keys');
        return;
      }
      case State.ArrayFirst:
      case State.ArrayNext: {
        const c = buffer[p];
        if (c === CLOSE_BRACKET) {
          const key = this.arrayKey;
          this.handler.onArrayEnd?.(key, tokens.base + p, this.elementIndex);
          this.arrayKey = null;
          this.commitAt(p + 1, key === null ? State.Done : State.ObjectCommaOrEnd);
          return;
        }
        if (this.state === State.ArrayNext) {
          if (c !== COMMA) tokens.fail(p, '"," or "]" between records');
          p = tokens.skipSpace(p + 1, false);
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
    const tokens = this.tokens;
    const key = this.arrayKey;
    let end: number;
    let fields: ScannedFields | null = null;
    let spans: ScannedSpans | null = null;
    if (tokens.buffer[p] === OPEN_BRACE && this.fieldSections.has(key)) {
      fields = new ScannedFields();
      if (this.withSpans) spans = new ScannedSpans();
      end = readFields(tokens, p, fields, spans);
    } else {
      end = tokens.skipValue(p);
    }
    this.handler.onElement(key, this.elementIndex, tokens.base + p, tokens.base + end, fields, spans);
    this.elementIndex++;
    this.commitAt(end, State.ArrayNext);
  }
}
