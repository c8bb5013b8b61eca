import { statSync } from 'node:fs';
import { mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { CocoFormatError, InvalidArgumentError, messageOf } from '../errors';
import type { Store } from '../store';
import { checkOptions, type CocoImportOptions, type CocoImportProgress, type CocoImportReport, type ImportSettings } from './import-options';
import { readLink, type CocoLink } from './link';
import { readImportedCrops, SameImportCheck, type ImportedCrop } from './same-import';
import type { CocoImage, CocoObject } from './types';

const MAX_WARNINGS = 1000;

/** Where an import reads and writes, resolved once. */
export interface ImportPaths {
  /** The file whose boxes are cut (the predictions, else the annotations). */
  source: string;
  annotationsFile: string | null;
  imagesDir: string;
  /** The images folder as a real path: images are read only inside it. */
  realImages: string;
  outputRoot: string;
  /** The output folder as a real path: crops are written only inside it. */
  realOutput: string;
  sourceInfo: { size: number; mtimeMs: number };
}

/** What an earlier import left in the dataset: its link, its crops, and the check that this file is the same. */
export interface EarlierImport {
  link: CocoLink | undefined;
  crops: Map<number, ImportedCrop>;
  /** Set when there is something to compare with (a link and crops): a dataset is bound only once it holds crops. */
  sameImport: SameImportCheck | undefined;
}

export interface PendingCrop {
  annotationId: number;
  box: CocoObject['box'];
  categoryId: number;
  score: number | undefined;
  uri: string;
  /** Record the box's category as the suggested class: a new crop, or one whose item nobody touched. */
  suggest: boolean;
  /** An earlier run stored this crop: its item is kept, and it is suggested a class only if still untouched. */
  stored: boolean;
}

/** The crops of one image, cut together (the image is decoded once). */
export interface ImageGroup {
  image: CocoImage;
  /** Where its crops go, relative to the output folder. */
  folder: string;
  file: string;
  crops: PendingCrop[];
}

/**
 * One run of `importCoco`: the checked settings, the paths, the store, and what the phases (read → resolve
 * → plan → cut) share as they go — the report with its warnings, and the progress told to `onProgress`.
 */
export class ImportRun {
  readonly report: CocoImportReport;
  readonly progress: CocoImportProgress = { phase: 'reading', bytesRead: 0, totalBytes: 0, images: { done: 0, total: 0 }, crops: { done: 0, total: 0 } };
  private readonly started = performance.now();

  private constructor(
    readonly store: Store,
    readonly settings: ImportSettings,
    readonly paths: ImportPaths,
    readonly earlier: EarlierImport,
    private readonly options: Pick<CocoImportOptions, 'onProgress' | 'signal'>,
  ) {
    this.report = {
      source: paths.source, role: settings.role, kind: 'instances', convention: 'coco', categoriesFrom: 'file', records: 0, belowThreshold: 0, kept: 0,
      cut: 0, resumed: 0, skipped: 0, skippedByField: {}, warnings: [], images: 0, imagesWithOtherSize: 0, seconds: 0,
    };
  }

  /** Checks the options and the folders (creating the output folder), and reads what an earlier import left. */
  static async start(store: Store, outputRoot: string, options: CocoImportOptions): Promise<ImportRun> {
    const settings = checkOptions(options);
    const source = path.resolve((options.predictions ?? options.annotations)!);
    const annotationsFile = options.annotations !== undefined ? path.resolve(options.annotations) : null;
    const imagesDir = path.resolve(options.images);
    if (!statSync(imagesDir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new InvalidArgumentError(`the images folder ${imagesDir} does not exist or is not a folder; check --images`);
    }
    const realImages = await realpath(imagesDir);
    await mkdir(outputRoot, { recursive: true });
    const realOutput = await realpath(outputRoot);
    const sourceInfo = await stat(source).catch((error: unknown) => {
      throw new CocoFormatError(`cannot read the COCO file ${source}: ${messageOf(error)}`, undefined, { cause: error });
    });
    const link = readLink(store);
    const crops = readImportedCrops(store);
    const sameImport = link && crops.size ? new SameImportCheck(crops, settings.boxFormat) : undefined;
    const paths = { source, annotationsFile, imagesDir, realImages, outputRoot, realOutput, sourceInfo };
    return new ImportRun(store, settings, paths, { link, crops, sameImport }, options);
  }

  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** Counts a record that is not imported, keeping the first {@link MAX_WARNINGS} reasons. */
  warn(annotationId: number | null, field: string, reason: string): void {
    const report = this.report;
    report.skipped++;
    report.skippedByField[field] = (report.skippedByField[field] ?? 0) + 1;
    if (report.warnings.length < MAX_WARNINGS) report.warnings.push({ annotationId, field, reason });
  }

  /** Tells `onProgress` where the run is (a copy: the caller may keep it). */
  notify(): void {
    const progress = this.progress;
    this.options.onProgress?.({ ...progress, images: { ...progress.images }, crops: { ...progress.crops } });
  }

  /** Progress turns to cutting: of the planned images and crops, what earlier runs cut counts as done. */
  beginCropping(imagesToCut: number): void {
    const { progress, report } = this;
    progress.phase = 'cropping';
    progress.images = { done: report.images - imagesToCut, total: report.images };
    progress.crops = { done: report.resumed, total: report.kept };
    this.notify();
  }

  /** Ends the run: the report, with the time it took. */
  finish(): CocoImportReport {
    this.report.seconds = (performance.now() - this.started) / 1000;
    this.notify();
    return this.report;
  }
}
