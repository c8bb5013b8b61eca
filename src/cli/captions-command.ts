import { Command, Option } from 'commander';
import { importCaptions, type CaptionFileFormat, type CaptionImportReport } from '../captions';
import { InvalidArgumentError } from '../errors';
import { CAPTION_SOURCES, type CaptionSource } from '../store';
import { openExisting } from './open-dataset';
import { emit, printable, ProgressBar } from './output';

interface CaptionsImportFlags {
  dataset: string;
  store?: string;
  user?: string;
  coco?: string;
  csv?: string;
  jsonl?: string;
  source: CaptionSource;
  json?: boolean;
  progress?: boolean;
}

/**
 * `quicksort captions import --dataset DIR (--coco FILE | --csv FILE | --jsonl FILE)`: adds the captions of a
 * file to the dataset's images, beside the captions they have (see `importCaptions`). One `quicksort undo`
 * takes the import back; importing the same file again adds nothing.
 *
 * @example
 * registerCaptionsCommands(program);
 */
export function registerCaptionsCommands(program: Command): Command {
  const captions = program.command('captions').description('captions beyond the one typed per item: import them from files');
  captions
    .command('import')
    .description('add the captions of a COCO captions file (matched by file name) or of uri,caption rows (CSV, JSON Lines) to the images')
    .requiredOption('-d, --dataset <dir>', 'the dataset folder (images, with the store in DIR/.quicksort)')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
    .option('--user <name>', 'who imports (their undo takes it back; default $QUICKSORT_USER or "local")')
    .option('--coco <file>', 'a COCO captions file (captions_train2017.json): images matched by file_name')
    .option('--csv <file>', 'a CSV file with a header row naming the columns uri and caption (uri: the path in the dataset folder)')
    .option('--jsonl <file>', 'JSON Lines, one {"uri": …, "caption": …} a line')
    .addOption(new Option('--source <name>', "the captions' source").choices(CAPTION_SOURCES).default('import'))
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--json', 'print machine-readable JSON on stdout')
    .action(async (flags: CaptionsImportFlags) => {
      const report = await captionsImportCommand(flags);
      process.exitCode = exitCodeOf(report);
    });
  return captions;
}

export async function captionsImportCommand(flags: CaptionsImportFlags): Promise<CaptionImportReport> {
  const given = (['coco', 'csv', 'jsonl'] as const).filter((format) => flags[format] !== undefined);
  if (given.length !== 1) {
    throw new InvalidArgumentError(`name exactly one captions file, with --coco, --csv or --jsonl${given.length ? ` (got ${given.map((f) => `--${f}`).join(' and ')})` : ''}`);
  }
  const format: CaptionFileFormat = given[0]!;
  const ds = await openExisting(flags);
  const bar = new ProgressBar('captions', flags.progress ?? process.stderr.isTTY === true);
  try {
    const report = await importCaptions(ds, { file: flags[format]!, format, source: flags.source, onProgress: (p) => bar.update(p.done, p.total, 'captions') });
    bar.stop();
    emit(flags.json ?? false, report, () => describeImport({ ...report, user: flags.user }, flags.dataset));
    return report;
  } finally {
    bar.stop();
    ds.close();
  }
}

/** 0 when the file's captions are on the images (added now or before); 4 when no row named an image of the dataset; 2 when every row was bad. */
function exitCodeOf(report: CaptionImportReport): number {
  if (report.added + report.alreadyPresent > 0) return 0;
  if (report.unmatched > 0) return 4;
  return report.problemCount > 0 ? 2 : 0;
}

export function describeImport(report: CaptionImportReport & { user?: string }, dataset: string): string {
  const lines = [
    `Imported captions from ${printable(report.file)} (${report.format}, source ${report.source}): ${report.added} added to ` +
      `${report.itemsMatched} images, ${report.alreadyPresent} there already; ${report.unmatched} rows matched no image, ` +
      `${report.problemCount} bad rows skipped (${report.seconds.toFixed(1)} s).`,
  ];
  if (report.unmatchedNames.length > 0) {
    lines.push(`  no image for: ${report.unmatchedNames.map(printable).join(', ')}${report.unmatched > report.unmatchedNames.length ? ', …' : ''}`);
  }
  for (const problem of report.problems.slice(0, 20)) {
    lines.push(`  skipped ${printable(problem.file)}, ${problem.where}, ${problem.field}: ${printable(problem.reason)}`);
  }
  if (report.problemCount > 20) lines.push(`  … and ${report.problemCount - 20} more (--json lists the first 100)`);
  const user = report.user === undefined ? '' : ` --user ${printable(report.user)}`;
  if (report.added > 0) lines.push(`Take it back with \`npx quicksort undo --dataset ${printable(dataset)}${user}\` (one undo, the whole import).`);
  return lines.join('\n');
}
