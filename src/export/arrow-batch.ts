import {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  makeData,
  type Data,
  type DataType,
} from 'apache-arrow';
import type { ExportBatch } from './types';

/** Schema metadata keys: the class list (JSON array, index = class index) and the format version. */
export const CLASSES_METADATA_KEY = 'quicksort:classes';
export const VERSION_METADATA_KEY = 'quicksort:version';
export const EMBEDDING_MODEL_METADATA_KEY = 'quicksort:embedding_model';

/** The version of the column layout below; bump it when a column changes meaning or type. */
export const EXPORT_SCHEMA_VERSION = '1';

/**
 * The columns of an exported item, in order, with their Arrow types. snake_case, as Python and SQL readers
 * of the files expect. Item id, width and height are Int32 (plain numbers in notebook cells, where Int64
 * would be BigInt); COCO ids are Int64 because real COCO annotation ids exceed 2³¹.
 */
export function itemSchema(options: { embeddingDim: number | null; classes: readonly string[]; metadata?: ReadonlyMap<string, string> }): Schema {
  const fields: Field[] = [
    new Field('id', new Int32(), false),
    new Field('uri', new Utf8(), false),
    new Field('format', new Utf8(), false),
    new Field('width', new Int32(), false),
    new Field('height', new Int32(), false),
    new Field('hash', new Utf8(), false),
    new Field('split', new Utf8(), true),
    new Field('label', new Utf8(), true),
    new Field('label_source', new Utf8(), true),
    new Field('confidence', new Float64(), true),
    new Field('labeled_by', new Utf8(), true),
    new Field('caption', new Utf8(), true),
    new Field('tags', new List(new Field('item', new Utf8(), false)), false),
    new Field('source_uri', new Utf8(), true),
    // [x, y, width, height] in pixels of the source image, as COCO writes boxes.
    new Field('box', new FixedSizeList(4, new Field('item', new Float64(), false)), true),
    new Field('coco_image_id', new Int64(), true),
    new Field('coco_annotation_id', new Int64(), true),
  ];
  if (options.embeddingDim !== null) {
    fields.push(new Field('embedding', new FixedSizeList(options.embeddingDim, new Field('item', new Float32(), false)), true));
  }
  const metadata = new Map<string, string>([
    [VERSION_METADATA_KEY, EXPORT_SCHEMA_VERSION],
    [CLASSES_METADATA_KEY, JSON.stringify(options.classes)],
  ]);
  for (const [key, value] of options.metadata ?? []) metadata.set(key, value);
  return new Schema(fields, metadata);
}

/**
 * Builds one Arrow record batch from a batch of items, writing the column buffers directly in one pass over
 * the items (no per-value Builder calls), so building costs about as much as copying the values once.
 */
export function toRecordBatch(schema: Schema, batch: ExportBatch): RecordBatch {
  const items = batch.items;
  const n = items.length;
  const id = new Int32Array(n);
  const width = new Int32Array(n);
  const height = new Int32Array(n);
  const uri = new Utf8Writer(n);
  const format = new Utf8Writer(n);
  const hash = new Utf8Writer(n);
  const split = new Utf8Writer(n);
  const label = new Utf8Writer(n);
  const labelSource = new Utf8Writer(n);
  const confidence = new Float64Writer(n);
  const labeledBy = new Utf8Writer(n);
  const caption = new Utf8Writer(n);
  const tagOffsets = new Int32Array(n + 1);
  const sourceUri = new Utf8Writer(n);
  const box = new Float64Array(n * 4);
  const boxValid = new Validity(n);
  const cocoImageId = new Int64Writer(n);
  const cocoAnnotationId = new Int64Writer(n);
  let tagCount = 0;
  for (let i = 0; i < n; i++) {
    const item = items[i]!;
    id[i] = item.id;
    width[i] = item.width;
    height[i] = item.height;
    uri.append(i, item.uri);
    format.append(i, item.format);
    hash.append(i, item.hash);
    split.append(i, item.split);
    label.append(i, item.label);
    labelSource.append(i, item.labelSource);
    confidence.set(i, item.confidence);
    labeledBy.append(i, item.labeledBy);
    caption.append(i, item.caption);
    tagCount += item.tags.length;
    tagOffsets[i + 1] = tagCount;
    sourceUri.append(i, item.sourceUri);
    boxValid.set(i, item.box !== null);
    if (item.box) box.set(item.box, i * 4);
    cocoImageId.set(i, item.cocoImageId);
    cocoAnnotationId.set(i, item.cocoAnnotationId);
  }
  const tags = new Utf8Writer(tagCount);
  let k = 0;
  for (const item of items) for (const tag of item.tags) tags.append(k++, tag);

  const boxType = fieldType(schema, 'box') as FixedSizeList<Float64>;
  const columns: Data[] = [
    makeData({ type: new Int32(), length: n, nullCount: 0, data: id }),
    uri.finish(),
    format.finish(),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: width }),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: height }),
    hash.finish(),
    split.finish(),
    label.finish(),
    labelSource.finish(),
    confidence.finish(),
    labeledBy.finish(),
    caption.finish(),
    makeData({ type: fieldType(schema, 'tags') as List<Utf8>, length: n, nullCount: 0, valueOffsets: tagOffsets, child: tags.finish() }),
    sourceUri.finish(),
    makeData({
      type: boxType,
      length: n,
      nullCount: boxValid.nulls,
      nullBitmap: boxValid.bits,
      child: makeData({ type: new Float64(), length: box.length, nullCount: 0, data: box }),
    }),
    cocoImageId.finish(),
    cocoAnnotationId.finish(),
  ];
  const embeddingType = fieldType(schema, 'embedding');
  if (embeddingType) {
    if (!batch.embeddings) throw new Error('the schema has an embedding column but the batch has no embeddings');
    columns.push(embeddingColumn(embeddingType as FixedSizeList<Float32>, n, batch.embeddings.values, batch.embeddings.present));
  }
  const struct = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: columns });
  return new RecordBatch(schema, struct);
}

// ---- column writers ---------------------------------------------------------------------------------------

/** A validity bitmap (Arrow: LSB first, 1 = valid) and its null count. */
class Validity {
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

class Float64Writer {
  private readonly values: Float64Array;
  private readonly validity: Validity;
  constructor(private readonly length: number) {
    this.values = new Float64Array(length);
    this.validity = new Validity(length);
  }
  set(index: number, value: number | null): void {
    this.validity.set(index, value !== null);
    if (value !== null) this.values[index] = value;
  }
  finish(): Data<Float64> {
    const { length, values, validity } = this;
    return makeData({ type: new Float64(), length, nullCount: validity.nulls, nullBitmap: validity.bits, data: values });
  }
}

class Int64Writer {
  private readonly values: BigInt64Array;
  private readonly validity: Validity;
  constructor(private readonly length: number) {
    this.values = new BigInt64Array(length);
    this.validity = new Validity(length);
  }
  set(index: number, value: number | null): void {
    this.validity.set(index, value !== null);
    if (value !== null) this.values[index] = BigInt(value);
  }
  finish(): Data<Int64> {
    const { length, values, validity } = this;
    return makeData({ type: new Int64(), length, nullCount: validity.nulls, nullBitmap: validity.bits, data: values });
  }
}

/** UTF-8 bytes, offsets and validity of a string column, grown as strings are appended (Buffer.write encodes in place). */
class Utf8Writer {
  private bytes = Buffer.allocUnsafe(4096);
  private used = 0;
  private readonly offsets: Int32Array;
  private readonly validity: Validity;

  constructor(private readonly length: number) {
    this.offsets = new Int32Array(length + 1);
    this.validity = new Validity(length);
  }

  append(index: number, text: string | null): void {
    this.validity.set(index, text !== null);
    if (text !== null && text.length > 0) {
      // A UTF-16 code unit encodes to at most 3 UTF-8 bytes.
      const worst = this.used + text.length * 3;
      if (worst > this.bytes.length) {
        const grown = Buffer.allocUnsafe(Math.max(worst, this.bytes.length * 2));
        this.bytes.copy(grown, 0, 0, this.used);
        this.bytes = grown;
      }
      this.used += this.bytes.write(text, this.used, 'utf8');
    }
    this.offsets[index + 1] = this.used;
  }

  finish(): Data<Utf8> {
    if (this.used > 0x7fffffff) throw new RangeError('more than 2 GiB of text in one record batch; export with a smaller batchRows');
    const { length, offsets, validity } = this;
    const data = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.used);
    return makeData({ type: new Utf8(), length, nullCount: validity.nulls, nullBitmap: validity.bits, valueOffsets: offsets, data });
  }
}

function embeddingColumn(
  type: FixedSizeList<Float32>,
  length: number,
  values: Float32Array,
  present: Uint8Array | null,
): Data<FixedSizeList<Float32>> {
  const validity = new Validity(length);
  if (present) for (let i = 0; i < length; i++) validity.set(i, present[i] === 1);
  const child = makeData({ type: new Float32(), length: values.length, nullCount: 0, data: values });
  return present
    ? makeData({ type, length, nullCount: validity.nulls, nullBitmap: validity.bits, child })
    : makeData({ type, length, nullCount: 0, child });
}

/** The type of a named column; the list and fixed-size-list columns reuse the schema's own child fields. */
function fieldType(schema: Schema, name: string): DataType | undefined {
  return schema.fields.find((field) => field.name === name)?.type;
}
