import type { ActionSource, EventKind, ItemCaption, ItemState, ItemWithState, StoredEvent } from './types';

// How the store's tables read as objects: the SQLite rows and their mapping, for every read of the store.

export interface EventRow {
  seq: number;
  item_id: number | null;
  kind: EventKind;
  payload: string;
  user: string;
  source: ActionSource;
  confidence: number | null;
  batch: number;
  time: number;
  undone: number;
}

export interface ItemRow {
  id: number;
  uri: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
  hash: string;
  split: string | null;
  source_uri: string | null;
  box_x: number | null;
  box_y: number | null;
  box_w: number | null;
  box_h: number | null;
  coco_image_id: number | null;
  coco_annotation_id: number | null;
  missing: number;
}

export interface StateRow {
  label: string | null;
  label_source: ActionSource | null;
  confidence: number | null;
  labeled_by: string | null;
  skipped: number;
  dont_know: number;
  caption: string | null;
  /** JSON: the item's {@link ItemCaption}s. Absent from a store of an older schema opened read-only. */
  captions?: string;
  tags: string;
  deleted: number;
  version: number;
}

/** The columns of {@link LabelStore.iterateItemRows}'s rows, in order (snake_case, as stored). */
export const ITEM_ROW_COLUMNS = [
  'id',
  'uri',
  'format',
  'width',
  'height',
  'hash',
  'split',
  'label',
  'label_source',
  'confidence',
  'labeled_by',
  'caption',
  'tags',
  'source_uri',
  'box_x',
  'box_y',
  'box_w',
  'box_h',
  'coco_image_id',
  'coco_annotation_id',
  'captions',
] as const;

/** A row of {@link LabelStore.iterateItemRows}: one item's fields in {@link ITEM_ROW_COLUMNS} order; `tags` is a JSON array. */
export type ItemRowTuple = [
  id: number,
  uri: string,
  format: string,
  width: number,
  height: number,
  hash: string,
  split: string | null,
  label: string | null,
  labelSource: ActionSource | null,
  confidence: number | null,
  labeledBy: string | null,
  caption: string | null,
  tags: string,
  sourceUri: string | null,
  boxX: number | null,
  boxY: number | null,
  boxW: number | null,
  boxH: number | null,
  cocoImageId: number | null,
  cocoAnnotationId: number | null,
  /** JSON: the item's captions, `[{ text, source, author, time }]`. */
  captions: string,
];

const ITEM_TABLE_COLUMNS = new Set(['id', 'uri', 'format', 'width', 'height', 'hash', 'split', 'source_uri', 'box_x', 'box_y', 'box_w', 'box_h', 'coco_image_id', 'coco_annotation_id']);
export const ITEM_ROW_SQL = ITEM_ROW_COLUMNS.map((column) => `${ITEM_TABLE_COLUMNS.has(column) ? 'i' : 's'}.${column}`).join(', ');

/** One object literal, not a spread of two: exports map millions of rows, and the spread cost most of it. */
export function toItemWithState(row: ItemRow & StateRow): ItemWithState {
  const hasBox = row.box_x !== null && row.box_y !== null && row.box_w !== null && row.box_h !== null;
  return {
    id: row.id,
    uri: row.uri,
    width: row.width,
    height: row.height,
    format: row.format,
    bytes: row.bytes,
    hash: row.hash,
    split: row.split,
    sourceUri: row.source_uri,
    box: hasBox ? [row.box_x!, row.box_y!, row.box_w!, row.box_h!] : null,
    cocoImageId: row.coco_image_id,
    cocoAnnotationId: row.coco_annotation_id,
    missing: row.missing === 1,
    label: row.label,
    labelSource: row.label_source,
    confidence: row.confidence,
    labeledBy: row.labeled_by,
    skipped: row.skipped === 1,
    dontKnow: row.dont_know === 1,
    caption: row.caption,
    captions: captionsOf(row),
    tags: row.tags === '[]' ? [] : (JSON.parse(row.tags) as string[]),
    deleted: row.deleted === 1,
    version: row.version,
  };
}

export function toState(row: StateRow): ItemState {
  return {
    label: row.label,
    labelSource: row.label_source,
    confidence: row.confidence,
    labeledBy: row.labeled_by,
    skipped: row.skipped === 1,
    dontKnow: row.dont_know === 1,
    caption: row.caption,
    captions: captionsOf(row),
    tags: JSON.parse(row.tags) as string[],
    deleted: row.deleted === 1,
    version: row.version,
  };
}

/**
 * The captions of a state row. A store made before captions were a list (schema 3), opened read-only and so not
 * migrated, has only the one caption: it reads as a person's, of an author the old schema did not record.
 */
function captionsOf(row: StateRow): ItemCaption[] {
  if (row.captions === undefined) return row.caption ? [{ text: row.caption, source: 'human', author: 'unknown', time: 0 }] : [];
  return row.captions === '[]' ? [] : (JSON.parse(row.captions) as ItemCaption[]);
}

/** An event row as the log's readers and the state fold ({@link foldItemState} takes it as a FoldableEvent) see it. */
export function toEvent(row: EventRow): StoredEvent {
  return {
    seq: row.seq,
    itemId: row.item_id,
    kind: row.kind,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    user: row.user,
    source: row.source,
    confidence: row.confidence,
    batch: row.batch,
    time: row.time,
    undone: row.undone === 1,
  };
}
