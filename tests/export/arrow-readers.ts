import { type ExportedRow, runNode } from './fixtures';

/**
 * Reads an Arrow IPC file or stream in a separate Node process (apache-arrow's reader, nothing shared with
 * the writer's process) and prints rows as JSON: Int64 ids as numbers, lists as arrays.
 */
const READ_ARROW = `
const { readFileSync } = require('node:fs');
const { tableFromIPC } = require('apache-arrow');
const table = tableFromIPC(readFileSync(process.argv[1]));
const plain = (value) => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object' && typeof value.toArray === 'function') return Array.from(value.toArray(), plain);
  return value;
};
const rows = [];
for (let i = 0; i < table.numRows; i++) {
  const row = {};
  for (const field of table.schema.fields) row[field.name] = plain(table.getChild(field.name).get(i));
  rows.push(row);
}
const classes = JSON.parse(table.schema.metadata.get('quicksort:classes'));
const types = Object.fromEntries(table.schema.fields.map((field) => [field.name, String(field.type)]));
process.stdout.write(JSON.stringify({ rows, classes, types, batches: table.batches.length }));
`;

export interface ArrowReadBack {
  rows: Record<string, unknown>[];
  classes: string[];
  types: Record<string, string>;
  batches: number;
}

export function readArrowInChild(file: string): ArrowReadBack {
  return runNode(READ_ARROW, [file]) as ArrowReadBack;
}

/** The snake_case columns of the Arrow and Parquet files, as the store's names. */
export function fromColumns(row: Record<string, unknown>): ExportedRow {
  const out: ExportedRow = {
    id: row.id as number,
    uri: row.uri as string,
    format: row.format as string,
    width: row.width as number,
    height: row.height as number,
    hash: row.hash as string,
    split: row.split as string | null,
    label: row.label as string | null,
    labelSource: row.label_source as string | null,
    confidence: row.confidence as number | null,
    labeledBy: row.labeled_by as string | null,
    caption: row.caption as string | null,
    captions: row.captions as string[],
    tags: row.tags as string[],
    sourceUri: row.source_uri as string | null,
    box: row.box as number[] | null,
    cocoImageId: row.coco_image_id as number | null,
    cocoAnnotationId: row.coco_annotation_id as number | null,
  };
  if ('embedding' in row) out.embedding = row.embedding as number[] | null;
  return out;
}
