import { Command, InvalidArgumentError as CommanderInvalidArgument } from 'commander';
import { DISK_THUMBNAIL_MAX, fillThumbnails, type FillThumbnailsReport } from '../session';
import { emit, printable, ProgressBar } from './output';
import { openExisting } from './open-dataset';

interface ThumbnailsFlags {
  dataset: string;
  store?: string;
  size: number[];
  json?: boolean;
  progress?: boolean;
}

/**
 * `quicksort thumbnails --dataset DIR [--size 128,256]`: makes the grid's thumbnails ahead, into the thumbnail
 * cache beside the store (DIR/.quicksort/thumbnails.db), so the labeling app scrolls through images already
 * made. Optional: the app fills the same cache on first view. Re-running makes only what changed.
 *
 * @example
 * registerThumbnailsCommand(program);
 */
export function registerThumbnailsCommand(program: Command): Command {
  return program
    .command('thumbnails')
    .description('make the labeling grid\'s thumbnails ahead, into DIR/.quicksort/thumbnails.db (the app otherwise makes them on first view)')
    .requiredOption('-d, --dataset <dir>', 'the dataset folder (images, with the store in DIR/.quicksort)')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db (the cache goes beside it)')
    .option('--size <px,…>', `thumbnail sizes, longer side, up to ${DISK_THUMBNAIL_MAX} (128: the grid at a device pixel ratio of 1; 256 for 2)`, parseSizes, [128])
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--json', 'print machine-readable JSON on stdout')
    .action(async (flags: ThumbnailsFlags) => {
      const report = await thumbnailsCommand(flags);
      process.exitCode = report.failed.length > 0 && report.made + report.cached === 0 ? 6 : 0;
    });
}

export async function thumbnailsCommand(flags: ThumbnailsFlags): Promise<FillThumbnailsReport> {
  const ds = await openExisting(flags);
  const bar = new ProgressBar('thumbnails', flags.progress ?? process.stderr.isTTY === true);
  try {
    const report = await fillThumbnails(ds, { sizes: flags.size, onProgress: (p) => bar.update(p.done, p.total, 'images') });
    bar.stop();
    emit(flags.json ?? false, report, () => {
      const lines = [`Thumbnails of ${ds.root} in ${report.file}: ${report.made} made, ${report.cached} there already, ${report.failed.length} failed (${report.seconds.toFixed(1)} s).`];
      for (const failure of report.failed.slice(0, 20)) lines.push(`  failed: ${printable(failure.uri)}: ${printable(failure.reason)}`);
      return lines.join('\n');
    });
    return report;
  } finally {
    bar.stop();
    ds.close();
  }
}

function parseSizes(value: string): number[] {
  const sizes = value.split(',').map((part) => Number(part.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 16 || n > DISK_THUMBNAIL_MAX)) {
    throw new CommanderInvalidArgument(`expected sizes from 16 to ${DISK_THUMBNAIL_MAX} separated by commas, got ${JSON.stringify(value)}`);
  }
  return sizes;
}
