import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { DatasetError, ExportError, InvalidArgumentError, QuickSortError, messageOf } from '../errors';
import { AtomicOutput, ProtectedPaths } from '../output';
import { STATE_FOLDER, type Store } from '../store';
import { categoryFromWire, categoryToWire } from './convert';
import { JsonScanner, type ScanHandler, type ScannedFields, type ScannedSpans } from './json-scanner';
import { readLink } from './link';
import { CategoryIndex, type CocoCategory, type CocoContext } from './types';

export interface CocoExportOptions {
  /** Where to write the corrected file (written beside it first, then renamed into place). */
  output: string;
  /** Replace an existing output (default: refuse it). The original file and the dataset's own are refused always. */
  force?: boolean;
  /** The dataset folder, whose images no output may overwrite (default: the folder holding the store's `.quicksort`). */
  root?: string;
  /**
   * What becomes of a rejected annotation (its crop deleted): `remove` (default) drops it from the file;
   * `flag` keeps it with `"quicksort_rejected": true` added.
   */
  rejected?: 'remove' | 'flag';
  /** The original file, if it moved since import; its content must be what was imported. */
  source?: string;
  onProgress?: (bytesDone: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

export interface CocoExportReport {
  source: string;
  output: string;
  kind: 'instances' | 'results';
  /** Annotations (or detections) in the file. */
  records: number;
  /** Annotations whose class a person changed. */
  relabeled: number;
  /** Annotations rejected (removed, or flagged with `rejected: 'flag'`). */
  rejected: number;
  rejectedAs: 'remove' | 'flag';
  /** Classes that people used and the file did not have, appended to `categories` with new ids. */
  newCategories: CocoCategory[];
  /**
   * New classes a results file (which has no categories list) now uses: give these ids and names to
   * whatever reads the file.
   */
  categoriesNotWritten: boolean;
  /** Corrected crops whose annotation id the file no longer has (the first 1,000). */
  notFound: number[];
  bytes: number;
  seconds: number;
}

/** What a person decided about one annotation. */
export type CocoCorrection = { kind: 'relabel'; name: string } | { kind: 'reject' };

/** The key added to a rejected annotation kept with `rejected: 'flag'`. */
export const REJECTED_KEY = 'quicksort_rejected';

/**
 * The corrections a dataset of crops holds, by annotation id. A crop that is deleted is a rejected
 * annotation (a wrong box, or not an object at all). A crop a person labeled is a class change when the
 * label differs from the original category. Everything else — unlabeled, skipped, "don't know" (the person
 * could not tell, so the original stands), or only labeled by a model — leaves its annotation as it was.
 */
export function collectCorrections(store: Store): Map<number, CocoCorrection> {
  const corrections = new Map<number, CocoCorrection>();
  for (const deleted of [false, true]) {
    for (const item of store.iterateItems({ deleted })) {
      if (item.cocoAnnotationId === null) continue;
      if (item.deleted) corrections.set(item.cocoAnnotationId, { kind: 'reject' });
      else if (item.labelSource === 'human' && item.label !== null) corrections.set(item.cocoAnnotationId, { kind: 'relabel', name: item.label });
    }
  }
  return corrections;
}

/**
 * Writes the COCO file a dataset was imported from, with its corrections applied (see
 * {@link collectCorrections}): changed classes spliced into `category_id` (or `label`), rejected
 * annotations removed or flagged, new classes appended to `categories` with ids after the largest. Every
 * other byte is copied from the original, so every untouched field and id is as it was, and with no
 * corrections the output is the input, byte for byte. The original is streamed, so files of any size export
 * in bounded memory; its sha256 is checked against the import's.
 *
 * @example
 * const report = await exportCoco(store, { output: 'cleaned.json' });
 * console.log(`${report.relabeled} relabeled, ${report.rejected} rejected`);
 */
export async function exportCoco(store: Store, options: CocoExportOptions): Promise<CocoExportReport> {
  const started = performance.now();
  const link = readLink(store);
  if (!link) {
    throw new DatasetError(`the dataset of ${store.file} was not imported from COCO, so there is no file to export to; import one with \`npx quicksort coco import\``);
  }
  const rejectedAs = options.rejected ?? 'remove';
  if (rejectedAs !== 'remove' && rejectedAs !== 'flag') throw new InvalidArgumentError(`rejected must be remove or flag; got ${JSON.stringify(rejectedAs)}`);
  if (!link.sha256) throw new DatasetError(`${link.source} could not be read to its end when it was imported, so it cannot be rewritten; fix the file and import it again`);
  const source = path.resolve(options.source ?? link.source);
  const output = path.resolve(options.output);
  // The original stays the reference (and the crops' ids point into it): never written over, by any path to it.
  const guard = await ProtectedPaths.of({ root: options.root ?? rootOf(store), store }, [{ file: source, what: 'the original COCO file' }]);
  await guard.check(output, { flag: '--output' });
  const info = await stat(source).catch((error: unknown) => {
    throw new DatasetError(`the original COCO file ${source} cannot be read (${messageOf(error)}); pass its new place with --source`, { cause: error });
  });
  if (info.size !== link.bytes) {
    throw new DatasetError(`${source} has ${info.size} bytes, but the imported file had ${link.bytes}: it changed since import, so its annotation ids may not match the crops`);
  }

  // ---- corrections and the categories they need --------------------------------------------------------
  const corrections = collectCorrections(store);
  const known = new CategoryIndex(link.categories);
  const newNames = [...new Set([...corrections.values()].flatMap((c) => (c.kind === 'relabel' && known.idOfName(c.name) === undefined ? [c.name] : [])))].sort();
  let nextId = known.maxId();
  const newCategories: CocoCategory[] = newNames.map((name) => ({ id: ++nextId, name }));
  const categories = new CategoryIndex([...link.categories, ...newCategories]);
  const context: CocoContext = { kind: link.kind, convention: link.convention, categoryKey: link.categoryKey, boxFormat: link.boxFormat, categories };

  const report: CocoExportReport = {
    source, output, kind: link.kind, records: 0, relabeled: 0, rejected: 0, rejectedAs, newCategories,
    categoriesNotWritten: newCategories.length > 0, notFound: [], bytes: 0, seconds: 0,
  };

  // ---- stream the original through, splicing the corrections in ----------------------------------------
  let pieces: Buffer[] = [];
  let copied = 0;
  let scanner!: JsonScanner;
  let firstKept = true;
  const applied = new Set<number>();
  const emit = (start: number, end: number) => {
    if (end > start) pieces.push(scanner.bytes(start, end));
  };
  const emitText = (text: string) => pieces.push(Buffer.from(text, 'utf8'));

  const isAnnotations = (key: string | null) => key === null || key === 'annotations';
  const handler: ScanHandler = {
    onDiscard: (offset) => {
      if (offset > copied) {
        emit(copied, offset);
        copied = offset;
      }
    },
    onArrayStart: (key, offset) => {
      emit(copied, offset + 1);
      copied = offset + 1;
      firstKept = true;
    },
    onElement: (key, index, start, end, fields, spans) => {
      if (!isAnnotations(key)) return;
      report.records++;
      const replacement = fields && spans ? correct(fields, spans, index, start, end) : undefined;
      if (replacement === null) {
        copied = end;
        return;
      }
      // The first element written has no comma before it, even when the ones before it were removed.
      if (firstKept && index > 0) {
        const gap = Buffer.from(scanner.bytes(copied, start));
        const comma = gap.indexOf(0x2c);
        pieces.push(comma >= 0 ? Buffer.concat([gap.subarray(0, comma), gap.subarray(comma + 1)]) : gap);
      } else {
        emit(copied, start);
      }
      if (replacement === undefined) emit(start, end);
      else pieces.push(replacement);
      copied = end;
      firstKept = false;
    },
    onArrayEnd: (key, offset, count) => {
      if (key !== 'categories' || newCategories.length === 0) return;
      emit(copied, offset);
      copied = offset;
      const written = newCategories.map((category) => JSON.stringify({ id: category.id, name: category.name, supercategory: 'quicksort' }));
      emitText(`${count > 0 ? ', ' : ''}${written.join(', ')}`);
      report.categoriesNotWritten = false;
    },
  };

  /** The element's new bytes, null to drop it, undefined to copy it unchanged. */
  function correct(fields: ScannedFields, spans: ScannedSpans, index: number, start: number, end: number): Buffer | null | undefined {
    const id = link!.kind === 'results' ? index + 1 : Number.isSafeInteger(fields.id) ? (fields.id as number) : undefined;
    if (id === undefined || applied.has(id)) return undefined;
    const correction = corrections.get(id);
    if (!correction) return undefined;
    applied.add(id);
    if (correction.kind === 'reject') {
      report.rejected++;
      if (rejectedAs === 'remove') return null;
      const raw = scanner.bytes(start, end);
      const close = raw.lastIndexOf(0x7d);
      return Buffer.concat([raw.subarray(0, close), Buffer.from(`${spans.keys > 0 ? ', ' : ''}"${REJECTED_KEY}": true`), raw.subarray(close)]);
    }
    const useLabel = context.categoryKey === 'label';
    const wire = useLabel ? fields.label : fields.category_id;
    const valueStart = useLabel ? spans.labelStart : spans.categoryStart;
    const valueEnd = useLabel ? spans.labelEnd : spans.categoryEnd;
    const newId = categories.idOfName(correction.name)!;
    const currentId = typeof wire === 'number' ? categoryFromWire(wire, context.convention, context) : undefined;
    if (valueStart < 0 || currentId === newId) return undefined;
    report.relabeled++;
    const raw = scanner.bytes(start, end);
    return Buffer.concat([
      raw.subarray(0, valueStart - start),
      Buffer.from(String(categoryToWire(newId, context))),
      raw.subarray(valueEnd - start),
    ]);
  }

  scanner = new JsonScanner(handler, { spans: true });
  const target = await AtomicOutput.prepare(output, 'file', { force: options.force, flag: '--output' });
  const hash = createHash('sha256');
  let input;
  let out;
  try {
    input = await open(source, 'r');
    out = await open(target.tempPath, 'w');
    let done = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const region = scanner.readInto();
      const { bytesRead } = await input.read(region.buffer, region.offset, region.length, null);
      if (bytesRead === 0) break;
      hash.update(region.buffer.subarray(region.offset, region.offset + bytesRead));
      scanner.commit(bytesRead);
      done += bytesRead;
      await writeAll(out, pieces);
      pieces = [];
      options.onProgress?.(done, info.size);
    }
    scanner.finish();
    await writeAll(out, pieces);
    pieces = [];
    if (hash.digest('hex') !== link.sha256) {
      throw new DatasetError(`${source} has other content than the file imported (sha256 differs): its annotation ids may not match the crops; export from the original`);
    }
    await out.sync();
    await out.close();
    out = undefined;
    await target.commit();
  } catch (error) {
    await out?.close().catch(() => undefined);
    await target.discard();
    if (error instanceof QuickSortError) throw error;
    throw new ExportError(`cannot export ${source} to ${output}: ${messageOf(error)}`, { cause: error });
  } finally {
    await input?.close();
  }
  for (const id of corrections.keys()) {
    if (!applied.has(id) && report.notFound.length < 1000) report.notFound.push(id);
  }
  report.bytes = (await stat(output)).size;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** The dataset folder of a store in its default place, `ROOT/.quicksort/quicksort.db`; else the store's folder. */
function rootOf(store: Store): string {
  const folder = path.dirname(path.resolve(store.file));
  return path.basename(folder) === STATE_FOLDER ? path.dirname(folder) : folder;
}

async function writeAll(handle: FileHandle, pieces: Buffer[]): Promise<void> {
  if (pieces.length === 0) return;
  // One copy per chunk, then plain writes: simpler than resuming a partial writev of many views.
  const data = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  let from = 0;
  while (from < data.length) from += (await handle.write(data, from, data.length - from)).bytesWritten;
}
