import { Presets, SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError as CommanderInvalidArgument, Option } from 'commander';
import { loadEmbeddings } from '../embed';
import { InvalidArgumentError } from '../errors';
import {
  EXPORT_FORMATS,
  PARQUET_COMPRESSIONS,
  type ExportFormat,
  type ExportProgress,
  type ExportReport,
  type ParquetCompression,
} from '../export';
import type { ItemFilter } from '../store';
import { emit, printable } from './output';
import { openExisting } from './open-dataset';

interface ExportFlags {
  dataset: string;
  store?: string;
  user?: string;
  json?: boolean;
  format: ExportFormat;
  out: string;
  force?: boolean;
  compression?: ParquetCompression;
  rowGroupRows?: number;
  shardSize?: number;
  shardSamples?: number;
  shardName?: string;
  withEmbeddings?: boolean;
  model?: string;
  split?: string;
  label?: string;
  labeled?: boolean;
  unlabeled?: boolean;
  progress?: boolean;
}

/**
 * `quicksort export --dataset DIR --format arrow|arrow-stream|parquet|webdataset|coco --out PATH`: writes the
 * dataset's items (labels, captions, tags, optionally embeddings) as a file or a folder of shards, with a
 * progress bar of rows and bytes on stderr. Exit code 9 when the export cannot be written.
 *
 * @example
 * registerExportCommand(program);
 */
export function registerExportCommand(program: Command): Command {
  return program
    .command('export')
    .description('write the items with their labels, captions and tags as Arrow, Parquet, WebDataset shards or COCO')
    .requiredOption('-d, --dataset <dir>', 'the dataset folder (images, with the store in DIR/.quicksort)')
    .addOption(new Option('--format <name>', 'the output format').choices(EXPORT_FORMATS).makeOptionMandatory())
    .requiredOption('-o, --out <path>', 'the file to write (a folder for webdataset); written beside it first, then renamed into place')
    .option('--force', 'replace an existing output (never the store, an image of the dataset or the COCO file it came from)')
    .addOption(new Option('--compression <codec>', 'Parquet compression (default snappy)').choices(PARQUET_COMPRESSIONS))
    .option('--row-group-rows <n>', 'Parquet rows per row group (default: about 128 MiB of data)', positiveInt)
    .option('--shard-size <size>', 'WebDataset: most bytes in a shard, e.g. 500MB or 1GB (default 1GB)', byteSize)
    .option('--shard-samples <n>', 'WebDataset: most samples in a shard (default 100000)', positiveInt)
    .option('--shard-name <name>', 'WebDataset: shard name prefix, NAME-000000.tar (default: the --out folder name)')
    .option('--with-embeddings', 'add the cached embeddings as a column (arrow, arrow-stream, parquet); run `npx quicksort embed` first')
    .option('--model <name>', 'with --with-embeddings: the model whose vectors to export (default: the most recently used)')
    .option('--split <name>', 'only items of this split')
    .option('--label <name>', 'only items with this label')
    .option('--labeled', 'only labeled items')
    .option('--unlabeled', 'only items without a label')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
    .option('--user <name>', 'who is acting (default $QUICKSORT_USER or "local")')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (flags: ExportFlags) => {
      await exportCommand(flags);
    });
}

export async function exportCommand(flags: ExportFlags): Promise<ExportReport> {
  if (flags.labeled && flags.unlabeled) throw new InvalidArgumentError('--labeled and --unlabeled exclude each other; give one of them');
  const ds = await openExisting(flags);
  const bar = new ExportBar(flags.format, flags.progress ?? process.stderr.isTTY === true);
  const controller = new AbortController();
  // Ctrl-C stops the export cleanly: the partial output is removed before the process exits.
  const interrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  try {
    const where: ItemFilter = {};
    if (flags.split !== undefined) where.split = flags.split;
    if (flags.label !== undefined) where.label = flags.label;
    if (flags.labeled) where.labeled = true;
    if (flags.unlabeled) where.labeled = false;
    const report = await ds.export({
      format: flags.format,
      out: flags.out,
      force: flags.force,
      where,
      compression: flags.compression,
      rowGroupRows: flags.rowGroupRows,
      shardBytes: flags.shardSize,
      shardSamples: flags.shardSamples,
      shardName: flags.shardName,
      embeddings: flags.withEmbeddings ? async () => loadEmbeddings(ds.root, { model: flags.model, store: ds.store }) : undefined,
      onProgress: (progress) => bar.update(progress),
      signal: controller.signal,
    });
    bar.stop();
    emit(flags.json ?? false, report, () => describeExport(report));
    return report;
  } finally {
    bar.stop();
    process.removeListener('SIGINT', interrupt);
    ds.close();
  }
}

/** Rows and bytes on one line: `export parquet [=====-----] 120000/200000 rows | 312.4 MB | 41000 rows/s`. */
class ExportBar {
  private readonly bar: SingleBar | undefined;
  private started = false;
  private readonly startedAt = performance.now();

  constructor(format: string, enabled: boolean) {
    this.bar = enabled
      ? new SingleBar({ format: `export ${format} {bar} {value}/{total} rows | {size} | {rate} rows/s`, hideCursor: true }, Presets.shades_classic)
      : undefined;
  }

  update(progress: ExportProgress): void {
    if (!this.bar) return;
    const seconds = (performance.now() - this.startedAt) / 1000;
    const payload = { size: formatBytes(progress.bytes), rate: seconds > 0 ? Math.round(progress.rows / seconds) : 0 };
    if (!this.started) {
      this.bar.start(progress.totalRows, progress.rows, payload);
      this.started = true;
    } else {
      this.bar.setTotal(progress.totalRows);
      this.bar.update(progress.rows, payload);
    }
  }

  stop(): void {
    if (this.started) this.bar?.stop();
    this.started = false;
  }
}

function describeExport(report: ExportReport): string {
  const what = report.viaCocoBridge ? `${report.rows} annotations (the imported COCO file, corrected)` : `${report.rows} items`;
  const lines = [
    `Exported ${what} as ${report.format} to ${report.output} (${formatBytes(report.bytes)}, ${report.seconds.toFixed(1)} s).`,
  ];
  if (report.rows === 0 && !report.viaCocoBridge) lines.push('No items matched: the output is valid but empty.');
  if (report.format === 'webdataset') lines.push(`${report.files.length - 2} shards, with classes.txt (${report.classes.length} classes) and shards.json beside them.`);
  if (report.embeddingDim !== null) lines.push(`With ${report.embeddingDim}-d embeddings (null where an item has none).`);
  if (report.skippedCount > 0) {
    lines.push(`Skipped ${report.skippedCount} items whose image could not be read:`);
    for (const item of report.skipped.slice(0, 20)) lines.push(`  ${printable(item.uri)}: ${printable(item.reason)}`);
    if (report.skippedCount > 20) lines.push(`  … and ${report.skippedCount - 20} more (--json lists up to 1,000)`);
  }
  return lines.join('\n');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** `500MB`, `1GB`, `1.5GiB`, `1e9` or a plain number of bytes. */
export function byteSize(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(value);
  const bytes = match ? Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]! : NaN;
  if (!Number.isFinite(bytes) || bytes < 1) throw new CommanderInvalidArgument(`expected a size such as 500MB, 1GB or 1000000, got ${JSON.stringify(value)}`);
  return Math.floor(bytes);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CommanderInvalidArgument(`expected a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}
