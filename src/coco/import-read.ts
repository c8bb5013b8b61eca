import { CocoFormatError, messageOf } from '../errors';
import { readCocoFile, type CocoFileReader, type CocoRecord } from './coco-reader';
import { emptyEvidence, type CategoryEvidence } from './conventions';
import { categoryFromCoco, describe, imageFromCoco } from './convert';
import type { ImportRun } from './import-run';
import type { ScannedFields } from './json-scanner';
import type { CocoCategory, CocoFileKind, CocoImage } from './types';

/** An annotation at or above the threshold, not yet converted (its categories may come later in the file). */
export interface Candidate {
  index: number;
  fields: ScannedFields;
}

/** What the read phase found in the file(s): nothing is checked against the disk yet. */
export interface ReadResult {
  images: Map<number, CocoImage>;
  /** Images whose entry is unusable, by id: their annotations are reported against them. */
  badImages: Map<number, { field: string; reason: string }>;
  categories: CocoCategory[];
  candidates: Candidate[];
  /** How the annotations name categories, from every record (so the choice does not depend on the threshold). */
  evidence: CategoryEvidence;
  sha256: string;
}

/**
 * The read phase: streams the images and categories (from the annotations file, with predictions), then the
 * boxes of the source, counting records and those under the threshold. A file that breaks off is kept up to
 * the break (`report.fileError`); predictions that are not detections are refused.
 */
export async function readImport(run: ImportRun): Promise<ReadResult> {
  const { report, settings, paths } = run;
  const read: ReadResult = { images: new Map(), badImages: new Map(), categories: [], candidates: [], evidence: emptyEvidence(), sha256: '' };
  const onProgress = (bytes: number, total: number) => {
    run.progress.bytesRead = bytes;
    run.progress.totalBytes = total;
    run.notify();
  };

  if (settings.role === 'predictions' && paths.annotationsFile) {
    const reader = readCocoFile(paths.annotationsFile, { sections: ['images', 'categories'], stopAfterSections: true, signal: run.signal, onProgress });
    for await (const batch of reader.batches()) {
      for (const record of batch) {
        if (record.section === 'images') takeImage(run, read, record);
        else takeCategory(run, read, record);
      }
    }
    report.categoriesFrom = 'annotations';
  }
  const imagesFromSource = settings.role === 'annotations' || !paths.annotationsFile;

  const reader = readCocoFile(paths.source, { hash: true, signal: run.signal, onProgress });
  let kind: CocoFileKind | 'ground truth' | undefined;
  try {
    records: for await (const batch of reader.batches()) {
      for (const record of batch) {
        if (record.section === 'annotations') {
          report.records++;
          if (!record.fields) {
            run.warn(reader.kind === 'results' ? record.index + 1 : null, 'annotations', `annotations[${record.index}] is not a JSON object`);
            continue;
          }
          kind ??= annotationKind(reader.kind, record.fields, settings.role);
          if (kind === 'ground truth') break records;
          takeCandidate(run, read, record, kind === 'results');
        } else if (imagesFromSource && record.section === 'images') {
          takeImage(run, read, record);
        } else if (imagesFromSource && record.section === 'categories') {
          takeCategory(run, read, record);
        }
      }
    }
  } catch (error) {
    if (!(error instanceof CocoFormatError)) throw error;
    report.fileError = `${paths.source}: ${error.message}`;
  }
  if (kind === 'ground truth' || (settings.role === 'predictions' && reader.kind === 'instances' && !reader.sectionCounts.has('annotations'))) {
    throw notDetections(reader, kind === 'ground truth');
  }
  report.kind = kind ?? reader.kind ?? 'instances';
  read.sha256 = reader.sha256 ?? '';
  return read;
}

/** The annotation id a warning names: a results record's is its position (from 1), an instances record's its `id`. */
export function idOf(fields: ScannedFields, index: number, isResults: boolean): number | null {
  if (isResults) return index + 1;
  return Number.isSafeInteger(fields.id) ? (fields.id as number) : null;
}

function takeImage(run: ImportRun, read: ReadResult, record: CocoRecord): void {
  try {
    const image = imageFromCoco(record.json);
    if (!read.images.has(image.id)) read.images.set(image.id, { id: image.id, fileName: image.fileName, width: image.width, height: image.height });
  } catch (error) {
    // Even an entry that is not valid JSON (a NaN size written by Python) usually names its id: its
    // annotations are then reported against it, not as naming an unknown image.
    const id = /"id"\s*:\s*(\d+)/.exec(record.raw.toString('utf8'))?.[1];
    const field = error instanceof CocoFormatError && error.field && error.field !== 'images' ? `images.${error.field}` : 'images';
    if (id !== undefined) read.badImages.set(Number(id), { field, reason: messageOf(error) });
    else run.warn(null, 'images', `images[${record.index}] is unusable: ${messageOf(error)}`);
  }
}

function takeCategory(run: ImportRun, read: ReadResult, record: CocoRecord): void {
  try {
    const category = categoryFromCoco(record.json);
    read.categories.push({ id: category.id, name: category.name.trim() });
  } catch (error) {
    run.warn(null, 'categories', `categories[${record.index}] is unusable: ${messageOf(error)}`);
  }
}

function takeCandidate(run: ImportRun, read: ReadResult, record: CocoRecord, isResults: boolean): void {
  const fields = record.fields!;
  run.earlier.sameImport?.see(idOf(fields, record.index, isResults), fields.image_id, fields.bbox);
  const evidence = read.evidence;
  if (fields.category_id !== undefined) {
    evidence.categoryIdCount++;
    if (Number.isSafeInteger(fields.category_id)) evidence.categoryIds.add(fields.category_id as number);
  }
  if (fields.label !== undefined) evidence.labels++;
  if (fields.score !== undefined || run.settings.role === 'predictions') {
    if (typeof fields.score !== 'number' || !Number.isFinite(fields.score)) {
      run.warn(idOf(fields, record.index, isResults), 'score', `score must be a finite number; got ${describe(fields.score)}`);
      return;
    }
    if (fields.score < run.settings.minConfidence) {
      run.report.belowThreshold++;
      return;
    }
  }
  read.candidates.push({ index: record.index, fields });
}

/**
 * How annotation ids are read — `results`: by position, `instances`: their `id` — judged from the file's
 * shape and its first annotation. Predictions in an object are a wrapped results array or an instances
 * file of scored detections; an object of unscored annotations is `ground truth`, refused as predictions.
 */
function annotationKind(shape: CocoFileKind | undefined, first: ScannedFields, role: 'annotations' | 'predictions'): CocoFileKind | 'ground truth' {
  if (shape === 'results' || role === 'annotations') return shape ?? 'instances';
  if (first.score === undefined) return 'ground truth';
  return first.id === undefined ? 'results' : 'instances';
}

/** Predictions that are not detections: the refusal names the keys the file has, and what to pass instead. */
function notDetections(reader: CocoFileReader, unscored: boolean): CocoFormatError {
  const keys = [...reader.sectionCounts.keys()];
  const more = reader.bytesRead < reader.totalBytes ? ', …' : '';
  const found = keys.length ? `an object with keys ${keys.join(', ')}${more}` : 'an empty object';
  const hint = unscored
    ? `whose annotations have no score — pass it with --annotations if it is ground truth`
    : `and no "annotations" array — a wrapped results file keeps its detections under "annotations"`;
  return new CocoFormatError(`${reader.file}: expected a JSON array of detections (COCO results format); found ${found} ${hint}`);
}
