import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv, type CsvError } from 'csv-parse';
import { CocoFormatError, NotFoundError, messageOf } from '../errors';
import { CaptionFileError, type CaptionProblem } from './caption-file-error';

/** The files captions are imported from: a COCO captions file, or `uri,caption` rows as CSV or JSON Lines. */
export type CaptionFileFormat = 'coco' | 'csv' | 'jsonl';
export const CAPTION_FILE_FORMATS: readonly CaptionFileFormat[] = ['coco', 'csv', 'jsonl'];

/** One caption of a file, before it is matched to an item. */
export interface CaptionRow {
  /** The image it belongs to: a COCO `file_name`, or a CSV/JSONL `uri` (relative to the dataset folder). */
  name: string;
  /** As written in the file; checked (trimmed, not empty) when it is matched. */
  caption: string;
  /** Where it is in the file, for problems: `line 12`, `annotations[3]`. */
  where: string;
}

export interface CaptionRows {
  rows: CaptionRow[];
  problems: CaptionProblem[];
}

/** The format a file's name says (`.json` is COCO), or undefined. */
export function formatOfFile(file: string): CaptionFileFormat | undefined {
  const ext = path.extname(file).toLowerCase();
  return ext === '.json' ? 'coco' : ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : undefined;
}

/**
 * Reads every caption row of a file. A file that cannot be read as a whole (missing, not JSON, without the
 * columns or keys it needs) throws, naming the file and the field; a bad row is a {@link CaptionProblem}, and
 * the rest is read.
 */
export async function readCaptionRows(file: string, format: CaptionFileFormat): Promise<CaptionRows> {
  try {
    if (!(await stat(file)).isFile()) throw new CaptionFileError(`${file} is not a file; name a ${format} file of captions`, file);
  } catch (error) {
    if (error instanceof CaptionFileError) throw error;
    throw new NotFoundError(`no captions file ${file}: ${messageOf(error)}`, { cause: error });
  }
  if (format === 'coco') return readCoco(file);
  return format === 'csv' ? readCsv(file) : readJsonLines(file);
}

/** A COCO captions file (`captions_train2017.json`): `images` with `id` and `file_name`, `annotations` with `image_id` and `caption`. */
async function readCoco(file: string): Promise<CaptionRows> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CocoFormatError(`${file} is not valid JSON (${messageOf(error)}); is it truncated? Nothing was imported`, undefined, { cause: error });
  }
  const root = json as { images?: unknown; annotations?: unknown };
  for (const key of ['images', 'annotations'] as const) {
    if (typeof json !== 'object' || json === null || !Array.isArray(root[key])) {
      throw new CocoFormatError(`${file} has no "${key}" list: it is not a COCO captions file; nothing was imported`, key);
    }
  }
  const problems: CaptionProblem[] = [];
  const fileNames = new Map<unknown, string>();
  (root.images as unknown[]).forEach((image, index) => {
    const { id, file_name: fileName } = (image ?? {}) as { id?: unknown; file_name?: unknown };
    if (typeof fileName !== 'string' || fileName === '') problems.push({ file, where: `images[${index}]`, field: 'file_name', reason: `expected a file name, got ${JSON.stringify(fileName)}` });
    else if (typeof id !== 'number' && typeof id !== 'string') problems.push({ file, where: `images[${index}]`, field: 'id', reason: `expected an image id, got ${JSON.stringify(id)}` });
    else fileNames.set(id, fileName);
  });
  const rows: CaptionRow[] = [];
  (root.annotations as unknown[]).forEach((annotation, index) => {
    const where = `annotations[${index}]`;
    const { image_id: imageId, caption } = (annotation ?? {}) as { image_id?: unknown; caption?: unknown };
    const name = fileNames.get(imageId);
    if (name === undefined) problems.push({ file, where, field: 'image_id', reason: `no image with id ${JSON.stringify(imageId)} in "images"` });
    else if (typeof caption !== 'string') problems.push({ file, where, field: 'caption', reason: `expected the caption's text, got ${JSON.stringify(caption)}` });
    else rows.push({ name, caption, where });
  });
  return { rows, problems };
}

/** `uri,caption` rows under a header row (more columns are ignored); quoted fields may hold commas and line breaks (RFC 4180). */
async function readCsv(file: string): Promise<CaptionRows> {
  const rows: CaptionRow[] = [];
  const problems: CaptionProblem[] = [];
  const parser = createReadStream(file).pipe(
    parseCsv({
      bom: true,
      columns: (header: string[]) => {
        const names = header.map((name) => name.trim().toLowerCase());
        for (const required of ['uri', 'caption']) {
          if (!names.includes(required)) {
            throw new CaptionFileError(
              `${file}: the header row has no "${required}" column (it has ${names.map((n) => JSON.stringify(n)).join(', ')}); the first row must name the columns uri,caption`,
              file,
              required,
            );
          }
        }
        return names;
      },
      skip_empty_lines: true,
      relax_column_count: true,
      skip_records_with_error: true,
      info: true,
    }),
  );
  parser.on('skip', (error: CsvError) => {
    problems.push({ file, where: `line ${String(error.lines ?? '?')}`, field: String(error.column ?? 'row'), reason: error.message });
  });
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string | undefined>; info: { lines: number } }>) {
      checkRow(file, `line ${info.lines}`, record, rows, problems);
    }
  } catch (error) {
    if (error instanceof CaptionFileError) throw error;
    throw new CaptionFileError(`${file} could not be read as CSV: ${messageOf(error)}; nothing was imported`, file, undefined, { cause: error });
  }
  return { rows, problems };
}

/** One JSON object a line, `{"uri": "...", "caption": "..."}`; a line that is not one is a problem, the rest is read. */
async function readJsonLines(file: string): Promise<CaptionRows> {
  const rows: CaptionRow[] = [];
  const problems: CaptionProblem[] = [];
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      problems.push({ file, where: `line ${line}`, field: 'line', reason: `not valid JSON (${messageOf(error)})` });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({ file, where: `line ${line}`, field: 'line', reason: 'expected an object with "uri" and "caption"' });
      continue;
    }
    checkRow(file, `line ${line}`, value as Record<string, unknown>, rows, problems);
  }
  return { rows, problems };
}

function checkRow(file: string, where: string, record: Record<string, unknown>, rows: CaptionRow[], problems: CaptionProblem[]): void {
  const { uri, caption } = record;
  if (typeof uri !== 'string' || uri.trim() === '') problems.push({ file, where, field: 'uri', reason: `expected the image's path in the dataset folder, got ${JSON.stringify(uri ?? null)}` });
  else if (typeof caption !== 'string' || caption.trim() === '') problems.push({ file, where, field: 'caption', reason: `the row of ${JSON.stringify(uri)} has no caption` });
  else rows.push({ name: uri.trim(), caption, where });
}
