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
import { ItemColumnsBuilder, Validity, type ItemColumns, type Utf8Column } from './item-columns';
import type { BatchEmbeddings, ExportBatch } from './types';

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
    // Every caption's text (the person's own, imported ones, model drafts), in the order they were added.
    new Field('captions', new List(new Field('item', new Utf8(), false)), false),
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
 * Builds one Arrow record batch from a batch: its column buffers as they came from the store-reading thread,
 * or, for a batch of items, buffers written in one pass over the items (no per-value Builder calls).
 */
export function toRecordBatch(schema: Schema, batch: ExportBatch): RecordBatch {
  if (batch.columns) return columnsToRecordBatch(schema, batch.columns, batch.embeddings);
  const builder = new ItemColumnsBuilder(batch.items.length);
  for (const item of batch.items) builder.addItem(item);
  return columnsToRecordBatch(schema, builder.finish(), batch.embeddings);
}

/** Wraps a batch's column buffers (and its embedding rows) as an Arrow record batch, without copying them. */
export function columnsToRecordBatch(schema: Schema, columns: ItemColumns, embeddings: BatchEmbeddings | null): RecordBatch {
  const n = columns.length;
  const int32 = (data: Int32Array) => makeData({ type: new Int32(), length: n, nullCount: 0, data });
  const data: Data[] = [
    int32(columns.id),
    utf8Data(columns.uri),
    utf8Data(columns.format),
    int32(columns.width),
    int32(columns.height),
    utf8Data(columns.hash),
    utf8Data(columns.split),
    utf8Data(columns.label),
    utf8Data(columns.labelSource),
    makeData({ type: new Float64(), length: n, ...nulls(columns.confidence), data: columns.confidence.values }),
    utf8Data(columns.labeledBy),
    utf8Data(columns.caption),
    makeData({ type: fieldType(schema, 'captions') as List<Utf8>, length: n, nullCount: 0, valueOffsets: columns.captions.offsets, child: utf8Data(columns.captions.values) }),
    makeData({ type: fieldType(schema, 'tags') as List<Utf8>, length: n, nullCount: 0, valueOffsets: columns.tags.offsets, child: utf8Data(columns.tags.values) }),
    utf8Data(columns.sourceUri),
    makeData({
      type: fieldType(schema, 'box') as FixedSizeList<Float64>,
      length: n,
      ...nulls(columns.box),
      child: makeData({ type: new Float64(), length: columns.box.values.length, nullCount: 0, data: columns.box.values }),
    }),
    makeData({ type: new Int64(), length: n, ...nulls(columns.cocoImageId), data: columns.cocoImageId.values }),
    makeData({ type: new Int64(), length: n, ...nulls(columns.cocoAnnotationId), data: columns.cocoAnnotationId.values }),
  ];
  const embeddingType = fieldType(schema, 'embedding');
  if (embeddingType) {
    if (!embeddings) throw new Error('the schema has an embedding column but the batch has no embeddings');
    data.push(embeddingColumn(embeddingType as FixedSizeList<Float32>, n, embeddings.values, embeddings.present));
  }
  const struct = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: data });
  return new RecordBatch(schema, struct);
}

function nulls(column: { validity: Uint8Array; nulls: number }): { nullCount: number; nullBitmap: Uint8Array } {
  return { nullCount: column.nulls, nullBitmap: column.validity };
}

function utf8Data(column: Utf8Column): Data<Utf8> {
  return makeData({ type: new Utf8(), length: column.length, ...nulls(column), valueOffsets: column.offsets, data: column.data });
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
