import path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { checkCaptionSource, checkCaptionText, type ActionEntry, type CaptionSource, type Store } from '../store';
import type { CaptionProblem } from './caption-file-error';
import { CAPTION_FILE_FORMATS, formatOfFile, readCaptionRows, type CaptionFileFormat } from './caption-readers';
import { ItemMatcher } from './item-matcher';

/** Where captions are imported to: a dataset folder and its store (the `Dataset` facade has this shape). */
export interface CaptionImportTarget {
  readonly root: string;
  readonly store: Store;
  /** Who imports: the user whose `undo` takes the import back (the store's default user when absent). */
  readonly user?: string;
}

export interface CaptionImportOptions {
  /** The captions file: COCO captions JSON, or `uri,caption` rows as CSV or JSON Lines. */
  file: string;
  /** Default: from the file's extension (`.json` COCO, `.csv`, `.jsonl`/`.ndjson`). */
  format?: CaptionFileFormat;
  /** The captions' source (default `import`). */
  source?: CaptionSource;
  /** The captions' author (default: the file's name). */
  author?: string;
  /** Captions written per transaction (default 5,000): the write lock is let go between them, so labeling goes on. */
  chunkRows?: number;
  onProgress?: (progress: { done: number; total: number }) => void;
}

export interface CaptionImportReport {
  file: string;
  format: CaptionFileFormat;
  source: CaptionSource;
  author: string;
  /** Caption rows read from the file (bad rows not counted). */
  rows: number;
  /** Captions added to items. */
  added: number;
  /** Rows whose item had that caption from that source already (a re-import adds nothing). */
  alreadyPresent: number;
  /** Items that got at least one caption or had all of theirs already. */
  itemsMatched: number;
  /** Rows whose image is not an item of the dataset, and the first 20 names. */
  unmatched: number;
  unmatchedNames: string[];
  /** Rows skipped as bad (the first 100), and how many in all. */
  problems: CaptionProblem[];
  problemCount: number;
  /** The batch of the import's events (one `undo` by the importing user takes it all back), or null when it added nothing. */
  batch: number | null;
  seconds: number;
}

const DEFAULT_CHUNK_ROWS = 5000;
const MAX_REPORTED_PROBLEMS = 100;
const MAX_REPORTED_UNMATCHED = 20;

/**
 * Imports captions from a file into a dataset: each row matched to an item (see {@link ItemMatcher}), each
 * new caption an `add_caption` event of the given source, authored by the file. Idempotent: a caption an item
 * has already from that source is not added again. Written in chunks of one batch, so one `undo` takes the
 * whole import back while what each chunk committed survives a crash. Bad rows are skipped and reported
 * (file, where, field, why); a file unreadable as a whole throws before anything is written.
 *
 * @example
 * const report = await importCaptions(ds, { file: 'annotations/captions_train2017.json' });
 * console.log(`${report.added} captions on ${report.itemsMatched} images`);
 */
export async function importCaptions(target: CaptionImportTarget, options: CaptionImportOptions): Promise<CaptionImportReport> {
  const started = performance.now();
  const file = path.resolve(options.file);
  const format = options.format ?? formatOfFile(file);
  if (format === undefined || !CAPTION_FILE_FORMATS.includes(format)) {
    throw new InvalidArgumentError(`cannot tell the format of ${file}: name it as one of ${CAPTION_FILE_FORMATS.join(', ')}`);
  }
  const source = checkCaptionSource(options.source ?? 'import');
  const author = options.author ?? path.basename(file);
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows <= 0) throw new InvalidArgumentError(`chunkRows must be a positive whole number; got ${chunkRows}`);

  const { rows, problems } = await readCaptionRows(file, format);
  const matcher = new ItemMatcher(target.store, target.root);
  const entries: ActionEntry[] = [];
  const matchedItems = new Set<number>();
  const unmatchedNames: string[] = [];
  let unmatched = 0;
  let alreadyPresent = 0;
  const seen = new Set<string>();
  for (const row of rows) {
    const result = matcher.match(row.name);
    if ('outside' in result) {
      problems.push({ file, where: row.where, field: format === 'coco' ? 'file_name' : 'uri', reason: `${JSON.stringify(row.name)} climbs out of the dataset folder` });
      continue;
    }
    if ('unmatched' in result) {
      unmatched++;
      if (unmatchedNames.length < MAX_REPORTED_UNMATCHED) unmatchedNames.push(result.unmatched === 'no item' ? row.name : `${row.name} (several items of that name)`);
      continue;
    }
    let text: string;
    try {
      text = checkCaptionText(row.caption);
    } catch (error) {
      problems.push({ file, where: row.where, field: 'caption', reason: (error as Error).message });
      continue;
    }
    const { item } = result;
    matchedItems.add(item.id);
    const key = `${item.id}\u0000${text}`;
    if (seen.has(key) || item.captions.some((c) => c.text === text && c.source === source)) {
      alreadyPresent++;
      continue;
    }
    seen.add(key);
    entries.push({ itemId: item.id, action: { kind: 'add_caption', caption: text, source, author } });
  }

  const batch = writeInChunks(target, entries, chunkRows, source, options.onProgress);
  return {
    file,
    format,
    source,
    author,
    rows: rows.length,
    added: entries.length,
    alreadyPresent,
    itemsMatched: matchedItems.size,
    unmatched,
    unmatchedNames,
    problems: problems.slice(0, MAX_REPORTED_PROBLEMS),
    problemCount: problems.length,
    batch,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Writes the entries a chunk a transaction, all in the batch the first chunk begins; returns that batch. */
function writeInChunks(
  target: CaptionImportTarget,
  entries: ActionEntry[],
  chunkRows: number,
  source: CaptionSource,
  onProgress: CaptionImportOptions['onProgress'],
): number | null {
  // The events' own source: who acted. A file imported is a person's doing; a model's or VLM's captions are theirs.
  const actionSource = source === 'import' ? 'human' : source;
  let batch: number | undefined;
  onProgress?.({ done: 0, total: entries.length });
  for (let at = 0; at < entries.length; at += chunkRows) {
    const events = target.store.actMany(entries.slice(at, at + chunkRows), { user: target.user, source: actionSource, batch });
    batch ??= events[0]!.batch;
    onProgress?.({ done: Math.min(at + chunkRows, entries.length), total: entries.length });
  }
  return batch ?? null;
}
