import { mkdirSync } from 'node:fs';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError as CommanderInvalidArgument, Option } from 'commander';
import type { CocoExportReport, CocoImportProgress, CocoImportReport } from '../coco';
import { Dataset } from '../dataset';
import { packageVersion } from '../package';
import { requireStore } from './open-dataset';
import { emit, endQuietlyOnClosedPipe, printable, reportFailure } from './output';

/**
 * `quicksort coco import|export`, and the same commands as the `quicksort-coco` program.
 *
 * Exit codes: as `quicksort` (0 success, 2 usage, 3 dataset, 8 COCO format…); an import that read its
 * file only partly (truncated, malformed) exits 8 after importing what it could, as does one that skipped
 * every record as bad.
 */
export function registerCocoCommands(program: Command): Command {
  const coco = program.command('coco').description('COCO bridge: cut boxes into crops to verify, export the corrected COCO file');
  addCocoSubcommands(coco);
  return coco;
}

/** The `quicksort-coco` program: `quicksort-coco import …` is `quicksort coco import …`. */
export function buildCocoProgram(): Command {
  const program = new Command('quicksort-coco')
    .description('COCO bridge of QuickSort: cut boxes into crops to verify, export the corrected COCO file (same as `quicksort coco`)')
    .version(packageVersion())
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  addCocoSubcommands(program);
  return program;
}

function addCocoSubcommands(parent: Command): void {
  parent
    .command('import')
    .description('cut the boxes of a COCO file into crops and add them, with their classes as suggestions, to a dataset; rerun it to resume, or with the fixed file after a truncated one')
    .option('--predictions <file>', 'a model\'s detections: a COCO results file ([{image_id, category_id, bbox, score}, …], or that array as {"annotations": […]})')
    .option('--annotations <file>', 'ground truth (an instances file); with --predictions, only its images and categories are used')
    .requiredOption('--images <dir>', 'the folder that file_name paths are relative to')
    .requiredOption('-o, --output-dir <dir>', 'where the crops and the dataset store go')
    .option('--min-confidence <score>', 'skip detections scoring below this (0–1)', parseFraction, 0)
    .option('--padding <fraction>', 'context added on each side, as a fraction of the box (0.1 = 10 %)', parseNonNegative, 0)
    .option('--square', 'cut square crops around the box centre')
    .option('--min-size <px>', 'skip boxes narrower or shorter than this many pixels', parseNonNegative, 0)
    .addOption(new Option('--format <format>', 'crop file format').choices(['jpeg', 'png', 'webp']).default('jpeg'))
    .option('--quality <n>', 'jpeg/webp quality, 1–100', parsePositiveInt, 90)
    .addOption(new Option('--convention <name>', 'how the file names categories (auto decides from the values)').choices(['auto', 'coco', 'detectron2', 'mmdet']).default('auto'))
    .addOption(new Option('--box-format <format>', 'how boxes are written').choices(['xywh', 'xyxy']).default('xywh'))
    .option('--split <name>', 'the split to record on every crop')
    .option('--threads <n>', 'worker threads cutting crops (default: one per core)', parsePositiveInt)
    .option('--store <file>', 'the store file, if not OUTPUT/.quicksort/quicksort.db')
    .option('--progress', 'show progress bars even when stderr is not a terminal')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (flags) => {
      const report = await cocoImportCommand(flags);
      const nothing = report.kept === 0 && report.skipped > 0;
      process.exitCode = report.fileError || nothing ? 8 : 0;
    });

  parent
    .command('export')
    .description('write the COCO file a dataset was imported from, with the class changes and rejections made in it')
    .requiredOption('-d, --dataset <dir>', 'the dataset of crops (the --output-dir of the import)')
    .requiredOption('--output <file>', 'the corrected COCO file to write; written beside it first, then renamed into place')
    .option('--force', 'replace an existing output (never the original file, nor the dataset\'s own files)')
    .addOption(new Option('--rejected <mode>', 'drop rejected (deleted) annotations, or keep them with "quicksort_rejected": true').choices(['remove', 'flag']).default('remove'))
    .option('--source <file>', 'the original COCO file, if it moved since import')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (flags) => {
      await cocoExportCommand(flags);
    });
}

export interface CocoImportFlags {
  predictions?: string;
  annotations?: string;
  images: string;
  outputDir: string;
  minConfidence?: number;
  padding?: number;
  square?: boolean;
  minSize?: number;
  format?: 'jpeg' | 'png' | 'webp';
  quality?: number;
  convention?: 'auto' | 'coco' | 'detectron2' | 'mmdet';
  boxFormat?: 'xywh' | 'xyxy';
  split?: string;
  threads?: number;
  store?: string;
  progress?: boolean;
  json?: boolean;
}

export async function cocoImportCommand(flags: CocoImportFlags): Promise<CocoImportReport> {
  mkdirSync(flags.outputDir, { recursive: true });
  const ds = await Dataset.open(flags.outputDir, { store: flags.store });
  const bars = new ImportBars(flags.progress ?? process.stderr.isTTY === true);
  try {
    const report = await ds.importCoco({
      predictions: flags.predictions,
      annotations: flags.annotations,
      images: flags.images,
      minConfidence: flags.minConfidence,
      padding: flags.padding,
      square: flags.square,
      minSize: flags.minSize,
      format: flags.format,
      quality: flags.quality,
      convention: flags.convention,
      boxFormat: flags.boxFormat,
      split: flags.split ?? null,
      threads: flags.threads,
      onProgress: (progress) => bars.update(progress),
    });
    bars.stop();
    emit(flags.json ?? false, report, () => describeImport(report, ds.root));
    return report;
  } finally {
    bars.stop();
    ds.close();
  }
}

function describeImport(report: CocoImportReport, root: string): string {
  const lines = [
    `Imported ${report.source} (${report.role}, ${report.kind} format, ${report.convention} category ids) into ${root}:`,
    `  ${report.records} records: ${report.kept} crops kept on ${report.images} images (${report.cut} cut now, ${report.resumed} already cut), ` +
      `${report.belowThreshold} below --min-confidence, ${report.skipped} skipped as bad (${report.seconds.toFixed(1)} s).`,
  ];
  if (report.conventionNote) lines.push(`  note: ${report.conventionNote}`);
  if (report.categoriesFrom === 'builtin') lines.push('  note: no categories given; classes named by the 80 COCO categories (pass --annotations to use yours)');
  if (report.imagesWithOtherSize) lines.push(`  note: ${report.imagesWithOtherSize} images are another size upright (EXIF orientation) than the file declares; crops follow the upright image`);
  if (report.skipped) {
    const byField = Object.entries(report.skippedByField).map(([field, count]) => `${count} for ${field}`).join(', ');
    lines.push(`  skipped ${report.skipped} bad records (${byField}):`);
    for (const warning of report.warnings.slice(0, 20)) {
      lines.push(`    annotation ${warning.annotationId ?? '?'} (${warning.field}): ${printable(warning.reason)}`);
    }
    if (report.skipped > 20) lines.push(`    … and ${report.skipped - 20} more (--json lists the first 1,000)`);
  }
  if (report.fileError) lines.push(`  the file could not be read to its end: ${printable(report.fileError)}`);
  return lines.join('\n');
}

export async function cocoExportCommand(flags: {
  dataset: string;
  output: string;
  force?: boolean;
  rejected?: 'remove' | 'flag';
  source?: string;
  store?: string;
  json?: boolean;
}): Promise<CocoExportReport> {
  requireStore(flags, `import a COCO file into it first with \`npx quicksort coco import --output-dir ${flags.dataset}\``);
  const ds = await Dataset.open(flags.dataset, { store: flags.store });
  try {
    const report = await ds.exportCoco({ output: flags.output, force: flags.force, rejected: flags.rejected, source: flags.source });
    emit(flags.json ?? false, report, () => describeExport(report));
    return report;
  } finally {
    ds.close();
  }
}

function describeExport(report: CocoExportReport): string {
  const rejected = report.rejectedAs === 'remove' ? 'removed' : 'flagged';
  const lines = [
    `Wrote ${report.output} from ${report.source}: ${report.records} records, ${report.relabeled} relabeled, ${report.rejected} rejected (${rejected}), ` +
      `${report.records - report.relabeled - report.rejected} as they were (${report.seconds.toFixed(1)} s).`,
  ];
  if (report.newCategories.length) {
    const names = report.newCategories.map((c) => `${c.id} ${printable(JSON.stringify(c.name))}`).join(', ');
    lines.push(report.categoriesNotWritten ? `  new classes (the file has no categories list; give these to its reader): ${names}` : `  new categories appended: ${names}`);
  }
  if (report.notFound.length) lines.push(`  ${report.notFound.length} corrected crops name annotations the file does not have (ids ${report.notFound.slice(0, 10).join(', ')}…)`);
  return lines.join('\n');
}

/** Two bars on stderr while cropping (images and crops), one while reading the file. */
class ImportBars {
  private readonly bars: MultiBar | undefined;
  private reading: SingleBar | undefined;
  private images: SingleBar | undefined;
  private crops: SingleBar | undefined;

  constructor(enabled: boolean) {
    this.bars = enabled
      ? new MultiBar({ format: '{name} {bar} {value}/{total} {unit}', hideCursor: true, clearOnComplete: false }, Presets.shades_classic)
      : undefined;
  }

  update(progress: CocoImportProgress): void {
    if (!this.bars) return;
    if (progress.phase === 'reading') {
      const megabytes = (bytes: number) => Math.round(bytes / 1e6);
      this.reading ??= this.bars.create(megabytes(progress.totalBytes), 0, { name: 'reading', unit: 'MB' });
      this.reading.setTotal(megabytes(progress.totalBytes));
      this.reading.update(megabytes(progress.bytesRead));
      return;
    }
    this.images ??= this.bars.create(progress.images.total, 0, { name: 'images ', unit: 'images' });
    this.crops ??= this.bars.create(progress.crops.total, 0, { name: 'crops  ', unit: 'crops' });
    this.images.setTotal(progress.images.total);
    this.images.update(progress.images.done);
    this.crops.setTotal(progress.crops.total);
    this.crops.update(progress.crops.done);
  }

  stop(): void {
    this.bars?.stop();
  }
}

/** Runs `quicksort-coco` with the exit codes of `quicksort`. */
export async function mainCoco(argv: string[]): Promise<void> {
  endQuietlyOnClosedPipe();
  const program = buildCocoProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    reportFailure('quicksort-coco', error);
  }
}

function parseFraction(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new CommanderInvalidArgument(`expected a number from 0 to 1, got ${JSON.stringify(value)}`);
  return n;
}

function parseNonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new CommanderInvalidArgument(`expected a number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CommanderInvalidArgument(`expected a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}
