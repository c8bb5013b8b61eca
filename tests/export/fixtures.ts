import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Dataset } from '../../src/dataset';
import type { EmbeddingMatrix } from '../../src/export';
import type { ItemWithState } from '../../src/store';
import { REPO, sampleCopy, tempDir } from '../helpers/fixtures';

/** A class name with every character that is awkward in a file name. */
export const AWKWARD_CLASS = 'a/b:c*?"<>|';
/** A caption with non-ASCII letters, an emoji (outside the BMP), CJK, and line breaks of both kinds. */
export const UNICODE_CAPTION = 'Ein Hund 🐕 unter dem Baum\nzweite Zeile: «Grüße» — 雪\r\nEnde';
export const BIG_ANNOTATION_ID = 900100259690; // a real COCO crowd annotation id: above 2³¹

export interface Fixture {
  ds: Dataset;
  dir: string;
  cleanup: () => void;
}

/**
 * A dataset to export: the 36 sample JPEGs ingested (or none, for `empty`), and for `labeled` a mix of what
 * people and models do — human, model and VLM labels with confidences, a class named with file-name
 * metacharacters, a class nobody used, Unicode and multi-line captions, tags, a deleted item, and one item
 * with the crop fields (split, box, COCO ids) set.
 */
export async function makeDataset(kind: 'labeled' | 'unlabeled' | 'empty'): Promise<Fixture> {
  const data = kind === 'empty' ? tempDir('quicksort-export-') : sampleCopy();
  const ds = await Dataset.open(data.dir, { user: 'tester' });
  await ds.ingest({ verify: 'header', threads: 1 });
  if (kind === 'labeled') {
    const ids = ds.items().map((item) => item.id);
    const at = (index: number) => ids[index]!;
    ds.labelMany(ids.slice(0, 10).map((id) => ({ id, label: 'cat' })));
    ds.labelMany(
      ids.slice(10, 15).map((id) => ({ id, label: 'dog' })),
      { source: 'model', confidence: 0.8125 },
    );
    ds.label(at(15), AWKWARD_CLASS);
    ds.label(at(16), 'bird', { source: 'vlm', confidence: 0.55 });
    ds.addClass('unused');
    ds.caption(at(0), UNICODE_CAPTION);
    ds.caption(at(1), 'a plain caption');
    ds.caption(at(20), 'captioned, not labeled');
    // Captions beyond the person's own: imported ones beside a person's, and an item with imported ones only.
    ds.store.actMany(
      [
        { itemId: at(0), action: { kind: 'add_caption', caption: 'A dog under a tree.', source: 'import', author: 'captions.json' } },
        { itemId: at(21), action: { kind: 'add_caption', caption: 'Two cats, one "quoted", one\nwith a line break', source: 'import', author: 'captions.json' } },
        { itemId: at(21), action: { kind: 'add_caption', caption: 'a model draft', source: 'vlm', author: 'vlm-bot' } },
      ],
      { user: 'tester' },
    );
    ds.tags(at(0), ['outdoor', 'blurry']);
    ds.tags(at(2), ['ünï 🐝']);
    ds.delete(at(3));
    const crop = ds.item(at(5));
    ds.store.upsertItems([
      { ...crop, mtimeMs: 1, split: 'train', sourceUri: 'originals/big.jpg', box: [1.5, 2, 30.25, 40], cocoImageId: 42, cocoAnnotationId: BIG_ANNOTATION_ID },
    ]);
    const other = ds.item(at(6));
    ds.store.upsertItems([{ ...other, mtimeMs: 1, split: 'val' }]);
  }
  return {
    ds,
    dir: data.dir,
    cleanup: () => {
      ds.close();
      data.cleanup();
    },
  };
}

/** Embeddings for every item but the last (which must then export as null), deterministic. */
export function embeddingsFor(ds: Dataset, dim = 8): EmbeddingMatrix {
  const ids = ds.items().map((item) => item.id).slice(0, -1);
  const vectors = new Float32Array(ids.length * dim);
  for (let i = 0; i < vectors.length; i++) vectors[i] = Math.fround(Math.sin(i + 1) * 3);
  return { ids, dim, vectors };
}

/** The fields of an exported row, as every reader normalises them (snake_case columns → store names). */
export interface ExportedRow {
  id: number;
  uri: string;
  format?: string;
  width: number;
  height: number;
  hash?: string;
  split?: string | null;
  label: string | null;
  labelSource: string | null;
  confidence: number | null;
  labeledBy?: string | null;
  caption: string | null;
  /** Every caption's text, in order. */
  captions?: string[];
  tags: string[];
  sourceUri?: string | null;
  box?: number[] | null;
  cocoImageId?: number | null;
  cocoAnnotationId?: number | null;
  embedding?: number[] | null;
}

export type Field = keyof ExportedRow;
export const ALL_FIELDS: Field[] = [
  'id', 'uri', 'format', 'width', 'height', 'hash', 'split', 'label', 'labelSource', 'confidence', 'labeledBy',
  'caption', 'captions', 'tags', 'sourceUri', 'box', 'cocoImageId', 'cocoAnnotationId',
];

/** What the store holds, in the exported shape, restricted to `fields`. */
export function expectedRows(items: ItemWithState[], fields: Field[], embeddings?: EmbeddingMatrix): Partial<ExportedRow>[] {
  return items.map((item) => {
    const full: ExportedRow = {
      id: item.id,
      uri: item.uri,
      format: item.format,
      width: item.width,
      height: item.height,
      hash: item.hash,
      split: item.split,
      label: item.label,
      labelSource: item.labelSource,
      confidence: item.confidence,
      labeledBy: item.labeledBy,
      caption: item.caption,
      captions: item.captions.map((caption) => caption.text),
      tags: item.tags,
      sourceUri: item.sourceUri,
      box: item.box,
      cocoImageId: item.cocoImageId,
      cocoAnnotationId: item.cocoAnnotationId,
    };
    if (embeddings) {
      const row = embeddings.ids.indexOf(item.id);
      full.embedding = row < 0 ? null : Array.from(embeddings.vectors.subarray(row * embeddings.dim, (row + 1) * embeddings.dim));
    }
    return pick(full, embeddings ? [...fields, 'embedding'] : fields);
  });
}

export function pick(row: ExportedRow, fields: Field[]): Partial<ExportedRow> {
  return Object.fromEntries(fields.map((field) => [field, row[field]]));
}

/** Runs a script in a separate Node process (the repository's node_modules resolve) and parses its JSON output. */
export function runNode(script: string, args: string[], options: { module?: boolean } = {}): unknown {
  const result = spawnSync(process.execPath, [...(options.module ? ['--input-type=module'] : []), '-e', script, '--', ...args], {
    cwd: REPO,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`the reader process failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout);
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Everything in a folder, for "nothing was left behind" checks (temporary names start with a dot). */
export function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

export { REPO, tempDir, path };
