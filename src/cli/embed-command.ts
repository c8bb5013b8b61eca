import { Command, InvalidArgumentError as CommanderInvalidArgument, Option } from 'commander';
import type { EmbedReport } from '../embed';
import { emit, printable, ProgressBar } from './output';
import { openExisting } from './open-dataset';

interface EmbedFlags {
  dataset: string;
  store?: string;
  user?: string;
  json?: boolean;
  model?: string;
  batch?: number;
  providers?: string;
  threads?: number;
  modelThreads?: number;
  dtype?: 'float16' | 'float32';
  retryFailed?: boolean;
  progress?: boolean;
}

/**
 * `quicksort embed --dataset DIR [--model manifest.json|export-folder] [--batch N]`: embeds the images the
 * cache does not hold yet, with a progress bar on stderr.
 *
 * @example
 * registerEmbedCommand(program);
 */
export function registerEmbedCommand(program: Command): Command {
  return program
    .command('embed')
    .description('embed the images of a dataset into vectors, cached beside the store (only new or changed images are embedded)')
    .requiredOption('-d, --dataset <dir>', 'the dataset folder (images, with the store in DIR/.quicksort)')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
    .option('--user <name>', 'who is acting (default $QUICKSORT_USER or "local")')
    .option('--model <path>', 'a model manifest .json, or a CLIP/SigLIP ONNX export folder (default: the bundled MobileNetV2)')
    .option('--batch <n>', 'images per model call (default 16)', positiveInt)
    .option('--providers <list>', 'execution providers to try in order, e.g. cuda,webgpu,cpu (default $QUICKSORT_PROVIDERS or cuda,webgpu,cpu)')
    .option('--threads <n>', 'preprocessing threads (default: one per core)', positiveInt)
    .option('--model-threads <n>', 'ONNX Runtime threads (default: its own choice)', positiveInt)
    .addOption(new Option('--dtype <type>', 'precision of the vectors on disk').choices(['float16', 'float32']).default('float16'))
    .option('--retry-failed', 'try again images that failed in an earlier run')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--json', 'print machine-readable JSON on stdout')
    .action(async (flags: EmbedFlags) => {
      const report = await embedCommand(flags);
      process.exitCode = report.failed > 0 && report.embedded + report.cached === 0 ? 6 : 0;
    });
}

export async function embedCommand(flags: EmbedFlags): Promise<EmbedReport> {
  const ds = await openExisting(flags);
  const bar = new ProgressBar('embed', flags.progress ?? process.stderr.isTTY === true);
  try {
    const report = await ds.embed({
      model: flags.model,
      batchSize: flags.batch,
      providers: flags.providers,
      threads: flags.threads,
      modelThreads: flags.modelThreads,
      dtype: flags.dtype,
      retryFailed: flags.retryFailed,
      onProgress: (p) => bar.update(p.done, p.total, 'images'),
    });
    bar.stop();
    emit(flags.json ?? false, report, () => describeEmbed(report, ds.root));
    return report;
  } finally {
    bar.stop();
    ds.close();
  }
}

function describeEmbed(report: EmbedReport, root: string): string {
  const lines = [
    `Embedded ${root} with ${report.modelId} (${report.dim}-d, on ${report.provider}): ${report.embedded} embedded, ` +
      `${report.cached} already cached, ${report.failed} failed` +
      `${report.failedBefore ? `, ${report.failedBefore} skipped (failed before; --retry-failed)` : ''} ` +
      `(${report.embedded + report.failed > 0 ? `${report.imagesPerSecond.toFixed(1)} images/s, ` : ''}${report.seconds.toFixed(1)} s).`,
    `Vectors in ${report.cacheFile}.`,
  ];
  if (report.invalidated) lines.push(`${report.invalidated} vectors of an earlier version of this model were dropped.`);
  for (const failure of report.failures.slice(0, 20)) lines.push(`  failed: ${printable(failure.uri)}: ${printable(failure.reason)}`);
  if (report.failures.length > 20) lines.push(`  … and ${report.failed - 20} more (--json lists them)`);
  return lines.join('\n');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CommanderInvalidArgument(`expected a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}
