import { Command } from 'commander';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Dataset } from '../dataset';
import { DatasetError } from '../errors';
import { PACKAGE_ROOT } from '../package';
import { describeIngest, describeStats } from './commands';
import { emit, ProgressBar } from './output';
import { parsePort, serveCommand } from './serve-command';

interface QuickstartFlags {
  out?: string;
  serve: boolean;
  port: number;
  json?: boolean;
}

/**
 * `quicksort quickstart` (`npm start`): the main job on the embedded defaults. Ingests and embeds the bundled
 * sample in a working copy, shows its state, then serves the labeling app on it and prints the URL (Ctrl-C
 * stops); `--no-serve` ends after the summary, for scripts.
 *
 * @example
 * registerQuickstartCommand(program);
 */
export function registerQuickstartCommand(program: Command): Command {
  return program
    .command('quickstart')
    .description('the main job on the embedded defaults: ingest and embed the bundled sample dataset, show its state, serve the labeling app')
    .option('--out <dir>', 'where to put the working copy (default: a new temporary folder)')
    .option('--no-serve', 'stop after the summary instead of serving the labeling app')
    .option('-p, --port <n>', 'the port of the labeling app (0: any free one)', parsePort, 8765)
    .option('--json', 'print machine-readable JSON on stdout (then, when serving, {url, port, token} on a line of its own)')
    .action(async (flags: QuickstartFlags) => {
      const dataset = await prepareSample(flags);
      if (flags.serve) await serveCommand({ dataset, port: flags.port, host: '127.0.0.1', embeddings: true, json: flags.json });
    });
}

/** Copies the bundled sample into the working folder, ingests and embeds it, prints the summary; returns the folder. */
async function prepareSample(flags: QuickstartFlags): Promise<string> {
  const sample = path.join(PACKAGE_ROOT, 'examples', 'sample', 'images');
  if (!existsSync(sample)) throw new DatasetError(`the bundled sample dataset is missing at ${sample}`);
  const target = flags.out ? path.resolve(flags.out) : mkdtempSync(path.join(tmpdir(), 'quicksort-quickstart-'));
  const dataset = path.join(target, 'images');
  if (!existsSync(dataset)) cpSync(sample, dataset, { recursive: true });
  if (!flags.json) process.stderr.write(`QuickSort quick start on ${dataset}\n`);
  const ds = await Dataset.open(dataset);
  const bar = new ProgressBar('ingest');
  try {
    const ingest = await ds.ingest({ onProgress: (p) => bar.update(p.done, p.found) });
    bar.stop();
    // The bundled default model: no server, no download.
    const embedBar = new ProgressBar('embed');
    const embed = await ds.embed({ onProgress: (p) => embedBar.update(p.done, p.total, 'images') });
    embedBar.stop();
    const stats = ds.stats();
    emit(flags.json ?? false, { dataset, ingest, embed, stats }, () =>
      [
        describeIngest(ingest, dataset),
        `Embedded ${embed.embedded} images with ${embed.modelId} (${embed.dim}-d, ${embed.provider}); ${embed.cached} cached, ${embed.failed} failed.`,
        describeStats(dataset, stats, ingest.failed),
        nextSteps(dataset, flags.serve),
      ].join('\n'),
    );
    return dataset;
  } finally {
    bar.stop();
    ds.close();
  }
}

/** What to try next, as typed from the clone (`npx` finds the package's own bin there). */
function nextSteps(dataset: string, serving: boolean): string {
  return [
    '\nNext:',
    ...(serving ? [] : [`  label in the browser     npx quicksort serve --dataset ${dataset}`]),
    `  see the embeddings       npx quicksort map --dataset ${dataset} --out map.svg`,
    `  label from a script      npx quicksort label --dataset ${dataset} --item 1 --label cat`,
    `  export for training      npx quicksort export --dataset ${dataset} --format parquet --out labels.parquet`,
    // A blank line before what serve prints.
    ...(serving ? [''] : []),
  ].join('\n');
}
