import type { ItemRowTuple, ItemWithState } from '../store';

/**
 * The column buffers of a batch of items, laid out as Arrow lays them out (values, offsets, validity
 * bitmaps: LSB first, 1 = valid), as plain typed arrays: they are made in the store-reading thread and
 * transferred to the writing one without a copy, then wrapped as Arrow Data there (`arrow-batch.ts`).
 * This module loads no apache-arrow, so the reader thread stays light.
 */
export interface ItemColumns {
  readonly length: number;
  readonly id: Int32Array;
  readonly uri: Utf8Column;
  readonly format: Utf8Column;
  readonly width: Int32Array;
  readonly height: Int32Array;
  readonly hash: Utf8Column;
  readonly split: Utf8Column;
  readonly label: Utf8Column;
  readonly labelSource: Utf8Column;
  readonly confidence: NullableColumn<Float64Array>;
  readonly labeledBy: Utf8Column;
  readonly caption: Utf8Column;
  /** Every caption's text, a list per item, laid out as {@link tags} is. */
  readonly captions: StringLists;
  /** A list of strings per item: item `i`'s tags are `values[offsets[i] .. offsets[i + 1])`. */
  readonly tags: StringLists;
  readonly sourceUri: Utf8Column;
  /** Four values per item: [x, y, width, height]; null where the item has no box. */
  readonly box: NullableColumn<Float64Array>;
  readonly cocoImageId: NullableColumn<BigInt64Array>;
  readonly cocoAnnotationId: NullableColumn<BigInt64Array>;
}

/** A list of strings per item: item `i`'s strings are `values[offsets[i] .. offsets[i + 1])`. */
export interface StringLists {
  readonly offsets: Int32Array;
  readonly values: Utf8Column;
}

export interface NullableColumn<T> {
  readonly values: T;
  readonly validity: Uint8Array;
  readonly nulls: number;
}

/** UTF-8 strings: string `i` is `data[offsets[i] .. offsets[i + 1])`. */
export interface Utf8Column {
  readonly length: number;
  readonly offsets: Int32Array;
  readonly data: Uint8Array;
  readonly validity: Uint8Array;
  readonly nulls: number;
}

/**
 * Builds {@link ItemColumns} one item at a time, from the store's bare rows (the export's read path: no
 * object per row) or from items (`toRecordBatch` on items). Every buffer owns its ArrayBuffer (none comes
 * from Node's shared Buffer pool), so all of them can be transferred.
 *
 * @example
 * const builder = new ItemColumnsBuilder(rows.length);
 * for (const row of store.iterateItemRows({})) builder.addRow(row);
 * const columns = builder.finish();
 */
export class ItemColumnsBuilder {
  private n = 0;
  private tagCount = 0;
  private readonly id: Int32Array;
  private readonly width: Int32Array;
  private readonly height: Int32Array;
  private readonly uri: Utf8Writer;
  private readonly format: Utf8Writer;
  private readonly hash: Utf8Writer;
  private readonly split: Utf8Writer;
  private readonly label: Utf8Writer;
  private readonly labelSource: Utf8Writer;
  private readonly confidence: NullableWriter<Float64Array<ArrayBuffer>>;
  private readonly labeledBy: Utf8Writer;
  private readonly caption: Utf8Writer;
  private readonly captions: ListWriter;
  private readonly tagOffsets: Int32Array;
  private readonly tags: Utf8Writer;
  private readonly sourceUri: Utf8Writer;
  private readonly box: Float64Array;
  private readonly boxValid: Validity;
  private readonly cocoImageId: NullableWriter<BigInt64Array<ArrayBuffer>>;
  private readonly cocoAnnotationId: NullableWriter<BigInt64Array<ArrayBuffer>>;

  /** `capacity`: the most items this batch will hold. */
  constructor(readonly capacity: number) {
    this.id = new Int32Array(capacity);
    this.width = new Int32Array(capacity);
    this.height = new Int32Array(capacity);
    this.uri = new Utf8Writer(capacity, 48);
    this.format = new Utf8Writer(capacity);
    this.hash = new Utf8Writer(capacity, 64);
    this.split = new Utf8Writer(capacity);
    this.label = new Utf8Writer(capacity);
    this.labelSource = new Utf8Writer(capacity);
    this.confidence = float64Writer(capacity);
    this.labeledBy = new Utf8Writer(capacity);
    this.caption = new Utf8Writer(capacity);
    this.captions = new ListWriter(capacity, 48);
    this.tagOffsets = new Int32Array(capacity + 1);
    this.tags = new Utf8Writer(Math.max(16, capacity >> 2));
    this.sourceUri = new Utf8Writer(capacity);
    this.box = new Float64Array(capacity * 4);
    this.boxValid = new Validity(capacity);
    this.cocoImageId = int64Writer(capacity);
    this.cocoAnnotationId = int64Writer(capacity);
  }

  get length(): number {
    return this.n;
  }

  /** Adds a row of `LabelStore.iterateItemRows`. */
  addRow(row: ItemRowTuple): void {
    const i = this.claim();
    this.id[i] = row[0];
    this.uri.append(row[1]);
    this.format.append(row[2]);
    this.width[i] = row[3];
    this.height[i] = row[4];
    this.hash.append(row[5]);
    this.split.append(row[6]);
    this.label.append(row[7]);
    this.labelSource.append(row[8]);
    this.confidence.set(i, row[9]);
    this.labeledBy.append(row[10]);
    this.caption.append(row[11]);
    const captions = row[20];
    if (captions !== '[]') for (const caption of JSON.parse(captions) as { text: string }[]) this.captions.add(caption.text);
    this.captions.endRow(i);
    const tags = row[12];
    if (tags !== '[]') for (const tag of JSON.parse(tags) as string[]) this.addTag(tag);
    this.tagOffsets[i + 1] = this.tagCount;
    this.sourceUri.append(row[13]);
    const hasBox = row[14] !== null && row[15] !== null && row[16] !== null && row[17] !== null;
    this.boxValid.set(i, hasBox);
    if (hasBox) {
      const at = i * 4;
      this.box[at] = row[14]!;
      this.box[at + 1] = row[15]!;
      this.box[at + 2] = row[16]!;
      this.box[at + 3] = row[17]!;
    }
    this.cocoImageId.set(i, row[18]);
    this.cocoAnnotationId.set(i, row[19]);
  }

  /** Adds an item as the store's API returns it. */
  addItem(item: ItemWithState): void {
    const i = this.claim();
    this.id[i] = item.id;
    this.uri.append(item.uri);
    this.format.append(item.format);
    this.width[i] = item.width;
    this.height[i] = item.height;
    this.hash.append(item.hash);
    this.split.append(item.split);
    this.label.append(item.label);
    this.labelSource.append(item.labelSource);
    this.confidence.set(i, item.confidence);
    this.labeledBy.append(item.labeledBy);
    this.caption.append(item.caption);
    for (const caption of item.captions) this.captions.add(caption.text);
    this.captions.endRow(i);
    for (const tag of item.tags) this.addTag(tag);
    this.tagOffsets[i + 1] = this.tagCount;
    this.sourceUri.append(item.sourceUri);
    this.boxValid.set(i, item.box !== null);
    if (item.box) this.box.set(item.box, i * 4);
    this.cocoImageId.set(i, item.cocoImageId);
    this.cocoAnnotationId.set(i, item.cocoAnnotationId);
  }

  finish(): ItemColumns {
    const n = this.n;
    return {
      length: n,
      id: this.id.subarray(0, n),
      uri: this.uri.finish(),
      format: this.format.finish(),
      width: this.width.subarray(0, n),
      height: this.height.subarray(0, n),
      hash: this.hash.finish(),
      split: this.split.finish(),
      label: this.label.finish(),
      labelSource: this.labelSource.finish(),
      confidence: this.confidence.finish(n),
      labeledBy: this.labeledBy.finish(),
      caption: this.caption.finish(),
      captions: this.captions.finish(n),
      tags: { offsets: this.tagOffsets.subarray(0, n + 1), values: this.tags.finish() },
      sourceUri: this.sourceUri.finish(),
      box: { values: this.box.subarray(0, n * 4), validity: bitmap(this.boxValid, n), nulls: this.boxValid.nulls },
      cocoImageId: this.cocoImageId.finish(n),
      cocoAnnotationId: this.cocoAnnotationId.finish(n),
    };
  }

  private claim(): number {
    if (this.n >= this.capacity) throw new RangeError(`a batch of ${this.capacity} items is full`);
    return this.n++;
  }

  private addTag(tag: string): void {
    this.tags.append(tag);
    this.tagCount++;
  }
}

/** The ArrayBuffers under a batch's columns, each once: the transfer list that moves them to another thread. */
export function columnBuffers(columns: ItemColumns): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  const add = (view: ArrayBufferView) => buffers.add(view.buffer as ArrayBuffer);
  const utf8 = (column: Utf8Column) => {
    add(column.offsets);
    add(column.data);
    add(column.validity);
  };
  const nullable = (column: NullableColumn<ArrayBufferView>) => {
    add(column.values);
    add(column.validity);
  };
  add(columns.id);
  add(columns.width);
  add(columns.height);
  for (const column of [columns.uri, columns.format, columns.hash, columns.split, columns.label, columns.labelSource, columns.labeledBy, columns.caption, columns.sourceUri]) {
    utf8(column);
  }
  for (const lists of [columns.captions, columns.tags]) {
    add(lists.offsets);
    utf8(lists.values);
  }
  for (const column of [columns.confidence, columns.box, columns.cocoImageId, columns.cocoAnnotationId]) nullable(column);
  return [...buffers];
}

// ---- writers ----------------------------------------------------------------------------------------------

/** A validity bitmap (Arrow: LSB first, 1 = valid) and its null count. */
export class Validity {
  readonly bits: Uint8Array;
  nulls = 0;
  constructor(length: number) {
    this.bits = new Uint8Array((length + 7) >> 3);
  }
  set(index: number, valid: boolean): void {
    if (valid) this.bits[index >> 3]! |= 1 << (index & 7);
    else this.nulls++;
  }
}

/** The bitmap of the first `length` rows (a batch may end before its capacity; Arrow writes the bitmap whole). */
function bitmap(validity: Validity, length: number): Uint8Array {
  return validity.bits.subarray(0, (length + 7) >> 3);
}

/** A nullable numeric column: values plus validity; `Int64` takes numbers and stores them as bigints. */
class NullableWriter<A extends Float64Array<ArrayBuffer> | BigInt64Array<ArrayBuffer>> {
  private readonly validity: Validity;
  constructor(
    private readonly values: A,
    private readonly store: (values: A, index: number, value: number) => void,
  ) {
    this.validity = new Validity(values.length);
  }
  set(index: number, value: number | null): void {
    this.validity.set(index, value !== null);
    if (value !== null) this.store(this.values, index, value);
  }
  finish(length: number): NullableColumn<A> {
    return { values: this.values.subarray(0, length) as A, validity: bitmap(this.validity, length), nulls: this.validity.nulls };
  }
}

const float64Writer = (capacity: number) => new NullableWriter(new Float64Array(capacity), (values, index, value) => (values[index] = value));
const int64Writer = (capacity: number) => new NullableWriter(new BigInt64Array(capacity), (values, index, value) => (values[index] = BigInt(value)));

/** A list of strings per row (the captions), as Arrow's List<Utf8> lays it out. */
class ListWriter {
  private count = 0;
  private readonly offsets: Int32Array;
  private readonly values: Utf8Writer;
  constructor(capacity: number, bytesPerValue: number) {
    this.offsets = new Int32Array(capacity + 1);
    this.values = new Utf8Writer(Math.max(16, capacity), bytesPerValue);
  }
  add(text: string): void {
    this.values.append(text);
    this.count++;
  }
  /** Closes row `index`'s list. */
  endRow(index: number): void {
    this.offsets[index + 1] = this.count;
  }
  finish(rows: number): StringLists {
    return { offsets: this.offsets.subarray(0, rows + 1), values: this.values.finish() };
  }
}

/** UTF-8 bytes, offsets and validity of a string column, grown as strings are appended (Buffer.write encodes in place). */
class Utf8Writer {
  private bytes: Buffer;
  private used = 0;
  private count = 0;
  private offsets: Int32Array;
  private validity: Validity;

  /** `bytesPerRow`: a first guess of the text's size, to grow the bytes rarely. */
  constructor(capacity: number, bytesPerRow = 8) {
    // allocUnsafeSlow: never a slice of Node's shared pool, so the buffer can be transferred.
    this.bytes = Buffer.allocUnsafeSlow(Math.max(1024, capacity * bytesPerRow));
    this.offsets = new Int32Array(capacity + 1);
    this.validity = new Validity(capacity);
  }

  append(text: string | null): void {
    const index = this.count++;
    if (index + 1 >= this.offsets.length) this.growRows();
    this.validity.set(index, text !== null);
    if (text !== null && text.length > 0) {
      // A UTF-16 code unit encodes to at most 3 UTF-8 bytes.
      const worst = this.used + text.length * 3;
      if (worst > this.bytes.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(worst, this.bytes.length * 2));
        this.bytes.copy(grown, 0, 0, this.used);
        this.bytes = grown;
      }
      this.used += this.bytes.write(text, this.used, 'utf8');
    }
    this.offsets[index + 1] = this.used;
  }

  finish(): Utf8Column {
    if (this.used > 0x7fffffff) throw new RangeError('more than 2 GiB of text in one record batch; export with a smaller batchRows');
    const length = this.count;
    return {
      length,
      offsets: this.offsets.subarray(0, length + 1),
      data: new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.used),
      validity: bitmap(this.validity, length),
      nulls: this.validity.nulls,
    };
  }

  /** Only the list values (tags, captions) grow past their first guess of a row count. */
  private growRows(): void {
    const capacity = (this.offsets.length - 1) * 2;
    const offsets = new Int32Array(capacity + 1);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const validity = new Validity(capacity);
    validity.bits.set(this.validity.bits);
    validity.nulls = this.validity.nulls;
    this.validity = validity;
  }
}
