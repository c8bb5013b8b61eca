import { createHash, type Hash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { CocoFormatError, messageOf } from '../errors';
import { JsonScanner, type ScanHandler, type ScannedFields, type ScannerOptions } from './json-scanner';
import type { CocoFileKind } from './types';

/**
 * One element of a top-level array of a COCO file (an image, an annotation, a category, a license…), or
 * one top-level value that is not an array (`info`).
 */
export class CocoRecord {
  private parsed: unknown;
  private isParsed = false;

  constructor(
    /** The top-level key: `images`, `annotations`, `categories`, `licenses`, `info`…; a results file's detections are `annotations`. */
    readonly section: string,
    /** Position in its array (0 for a top-level value). */
    readonly index: number,
    /** Absolute byte offset of the record in the file. */
    readonly offset: number,
    /** Byte length of the record. */
    readonly length: number,
    /** For annotations: the fields read straight from the bytes; `json` has everything else. */
    readonly fields: ScannedFields | null,
    private readonly window: Buffer,
    private readonly windowBase: number,
  ) {}

  /**
   * The record's bytes: a view of the chunk it was read in (holding it keeps that chunk alive; copy it to
   * hold many records). Made on demand: most records are never looked at as bytes.
   */
  get raw(): Buffer {
    const start = this.offset - this.windowBase;
    return this.window.subarray(start, start + this.length);
  }

  /** The record parsed in full (cached); throws a {@link CocoFormatError} if it is not valid JSON. */
  get json(): unknown {
    if (!this.isParsed) {
      try {
        this.parsed = JSON.parse(this.raw.toString('utf8'));
      } catch (error) {
        throw new CocoFormatError(`${this.section}[${this.index}] at byte ${this.offset} is not valid JSON: ${messageOf(error)}`, this.section, { cause: error });
      }
      this.isParsed = true;
    }
    return this.parsed;
  }
}

export interface CocoReadOptions extends Pick<ScannerOptions, 'chunkBytes'> {
  /** Report only the elements of these sections (the others are still scanned, not parsed). Default: all. */
  sections?: readonly string[];
  /** Stop reading once every section named in `sections` has been read (they usually come first). */
  stopAfterSections?: boolean;
  /** Compute the sha256 of the whole file while reading (see `CocoFileReader.sha256`). */
  hash?: boolean;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

/**
 * Streams a COCO file of any size — instances (`{"images": […], "annotations": […], "categories": […]}`) or
 * results (`[{"image_id", "category_id", "bbox", "score"}, …]`) — as records, in memory bounded by one
 * chunk (4 MB) plus the records the caller keeps. Iterate it record by record, or `batches()` for one
 * array per chunk (faster: one await per chunk, not per record).
 *
 * The scan runs on the calling thread between reads: each chunk costs a few milliseconds of it, so an
 * event loop stays responsive. A worker would have to copy every record back, which costs as much as the
 * scan itself.
 *
 * @example
 * for await (const record of readCocoFile('instances_val2017.json')) {
 *   if (record.section === 'annotations') console.log(record.fields!.bbox);
 * }
 */
export function readCocoFile(file: string, options: CocoReadOptions = {}): CocoFileReader {
  return new CocoFileReader(file, options);
}

export class CocoFileReader implements AsyncIterable<CocoRecord> {
  /** `instances` (a top-level object) or `results` (a top-level array); known after the first chunk. */
  kind: CocoFileKind | undefined;
  /** Hex sha256 of the file, once read to the end with `hash: true`. */
  sha256: string | undefined;
  bytesRead = 0;
  totalBytes = 0;
  /** True when the reader stopped before the end because `stopAfterSections` was met. */
  stoppedEarly = false;
  /** Sections seen, with their record counts, in file order. */
  readonly sectionCounts = new Map<string, number>();

  constructor(
    readonly file: string,
    private readonly options: CocoReadOptions = {},
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<CocoRecord> {
    for await (const batch of this.batches()) yield* batch;
  }

  /** The records, one array per chunk read. */
  async *batches(): AsyncGenerator<CocoRecord[]> {
    const wanted = this.options.sections ? new Set(this.options.sections) : undefined;
    const remaining = new Set(this.options.sections ?? []);
    let batch: CocoRecord[] = [];
    let scanner!: JsonScanner;
    const record = (section: string, index: number, start: number, end: number, fields: ScannedFields | null) => {
      const { buffer, base } = scanner.window();
      return new CocoRecord(section, index, start, end - start, fields, buffer, base);
    };
    const handler: ScanHandler = {
      onDocumentStart: (kind) => {
        this.kind = kind === 'array' ? 'results' : 'instances';
      },
      onArrayStart: (key) => {
        this.sectionCounts.set(key ?? 'annotations', 0);
      },
      onArrayEnd: (key, _offset, count) => {
        this.sectionCounts.set(key ?? 'annotations', count);
        remaining.delete(key ?? 'annotations');
      },
      onValue: (key, start, end) => {
        this.sectionCounts.set(key, 1);
        if (!wanted || wanted.has(key)) batch.push(record(key, 0, start, end, null));
        remaining.delete(key);
      },
      onElement: (key, index, start, end, fields) => {
        const section = key ?? 'annotations';
        if (wanted && !wanted.has(section)) return;
        batch.push(record(section, index, start, end, fields));
      },
    };
    // Elements of unwanted sections are only skipped over, never read field by field.
    const fieldSections = new Set<string | null>(!wanted || wanted.has('annotations') ? ['annotations', null] : []);
    scanner = new JsonScanner(handler, { chunkBytes: this.options.chunkBytes, fieldSections });
    const hash: Hash | undefined = this.options.hash ? createHash('sha256') : undefined;
    let handle;
    try {
      handle = await open(this.file, 'r');
      this.totalBytes = (await stat(this.file)).size;
    } catch (error) {
      await handle?.close();
      throw new CocoFormatError(`cannot read the COCO file ${this.file}: ${messageOf(error)}`, undefined, { cause: error });
    }
    try {
      for (;;) {
        this.options.signal?.throwIfAborted();
        const region = scanner.readInto();
        const { bytesRead } = await handle.read(region.buffer, region.offset, region.length, null);
        if (bytesRead === 0) break;
        hash?.update(region.buffer.subarray(region.offset, region.offset + bytesRead));
        this.bytesRead += bytesRead;
        let failure: unknown;
        try {
          scanner.commit(bytesRead);
        } catch (error) {
          failure = error;
        }
        this.options.onProgress?.(this.bytesRead, this.totalBytes);
        if (batch.length) {
          const full = batch;
          batch = [];
          yield full;
        }
        if (failure) throw failure;
        if (this.options.stopAfterSections && this.options.sections && remaining.size === 0) {
          this.stoppedEarly = true;
          return;
        }
      }
      scanner.finish();
      if (hash) this.sha256 = hash.digest('hex');
    } finally {
      await handle.close();
    }
  }
}
