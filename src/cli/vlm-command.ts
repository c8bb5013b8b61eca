import { type Command, InvalidArgumentError as CommanderInvalidArgument, Option } from 'commander';
import type { Dataset } from '../dataset';
import { withClient, type ItemOutcome, type RunReport, type ServerChoice, type VerifyReport, type VlmStats } from '../vlm';
import { emit, printable, ProgressBar } from './output';
import { openExisting } from './open-dataset';

interface ServerFlags {
  url?: string;
  model?: string;
  dialect?: 'openai' | 'ollama';
  layout?: 'interleaved' | 'per-message';
  timeout?: number;
  concurrency?: number;
}

interface RunFlags extends ServerFlags {
  dataset: string;
  store?: string;
  limit?: number;
  k?: number;
  cache?: boolean;
  progress?: boolean;
  json?: boolean;
}

interface SuggestFlags extends RunFlags {
  items?: 'unlabeled' | 'hard';
}

interface VerifyFlags extends Omit<RunFlags, 'limit'> {
  class: string;
  sample?: number;
  perRequest?: number;
  tag?: boolean;
}

/**
 * `quicksort vlm suggest|caption|verify|stats --dataset DIR`: class suggestions and caption drafts from a
 * vision-language model the user runs (OpenAI-compatible or Ollama), few-shot with the dataset's nearest
 * labelled or captioned items, stored as `vlm` events for people to review; a check of a predicted class's
 * group (which of a sample are not of it, tagged for review); and what it cost so far.
 *
 * @example
 * registerVlmCommands(program);
 */
export function registerVlmCommands(program: Command): void {
  const vlm = program.command('vlm').description('suggestions and caption drafts from a vision-language model, few-shot with the nearest labelled items (stored as vlm events for review)');
  const withServer = (command: Command) =>
    command
      .requiredOption('-d, --dataset <dir>', 'an embedded dataset (`quicksort embed`)')
      .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
      .option('--url <url>', 'the server: http://HOST:PORT/v1 (OpenAI-compatible) or http://HOST:11434 (Ollama); default QUICKSORT_VLM_URL or DIR/.quicksort/vlm.json')
      .option('--model <name>', 'the model to ask; default QUICKSORT_VLM_MODEL or DIR/.quicksort/vlm.json')
      .addOption(new Option('--dialect <dialect>', 'the wire format').choices(['openai', 'ollama']))
      .addOption(new Option('--layout <layout>', 'demonstrations in one message, or one message each (models that take one image per message)').choices(['interleaved', 'per-message']))
      .option('--timeout <s>', 'seconds per attempt', positiveInt)
      .option('--concurrency <n>', 'requests in flight at once', positiveInt)
      .option('--no-cache', 'ask again even what DIR/.quicksort/vlm-cache.db answered before')
      .option('--progress', 'show the progress bar even when stderr is not a terminal')
      .option('--json', 'print machine-readable JSON on stdout (the report, item by item)');
  const withRun = (command: Command) =>
    withServer(command)
      .option('--limit <n>', 'items to ask about, at most (default 50)', positiveInt)
      .option('--k <n>', 'demonstrations per prompt (default 8)', nonNegativeInt);

  withRun(vlm.command('suggest').description("suggest a class for items without a person's label (or the head's hard cases), stored as vlm labels"))
    .addOption(new Option('--items <which>', "unlabeled: no person's label yet; hard: the head's lowest margins").choices(['unlabeled', 'hard']).default('unlabeled'))
    .action(async (flags: SuggestFlags) => {
      const report = await vlmRunCommand(flags, 'suggest');
      process.exitCode = exitCodeOf(report);
    });

  withRun(vlm.command('caption').description('draft captions for items without one, in the style of the nearest captioned items (stored as vlm captions)')).action(async (flags: RunFlags) => {
    const report = await vlmRunCommand(flags, 'caption');
    process.exitCode = exitCodeOf(report);
  });

  withServer(vlm.command('verify').description("check a class's predicted group: which of a sample of the items the head puts in it are not of it (tagged vlm:not-CLASS, no label written)"))
    .requiredOption('--class <label>', 'the class whose predicted group is checked')
    .option('--sample <n>', 'items of the group to ask about (default 12), drawn with a fixed seed', positiveInt)
    .option('--k <n>', "labelled examples of the class shown first (default 8): its most typical", positiveInt)
    .option('--per-request <n>', 'group images per request (default 12 at 448 px); 1 for a model that takes one image per message', positiveInt)
    .option('--no-tag', 'only report: tag no outlier')
    .action(async (flags: VerifyFlags) => {
      const report = await vlmVerifyCommand(flags);
      process.exitCode = exitCodeOf(report);
    });

  vlm
    .command('stats')
    .description('what the VLM assist cost so far: requests, images, tokens, time, cache hits (per model)')
    .requiredOption('-d, --dataset <dir>', 'the dataset folder')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
    .option('--json', 'print machine-readable JSON on stdout')
    .action(async (flags: { dataset: string; store?: string; json?: boolean }) => {
      const ds = await openExisting(flags, { readonly: true });
      try {
        const stats = ds.vlmStats();
        emit(flags.json ?? false, stats, () => describeStats(stats));
      } finally {
        ds.close();
      }
    });
}

export async function vlmRunCommand(flags: SuggestFlags, what: 'suggest' | 'caption'): Promise<RunReport<ItemOutcome>> {
  const ds = await openExisting(flags);
  const bar = new ProgressBar(what === 'suggest' ? 'vlm suggest' : 'vlm caption', flags.progress ?? process.stderr.isTTY === true);
  // Ctrl-C cancels what is in flight; what was answered is stored and reported.
  const controller = new AbortController();
  const cancel = () => controller.abort();
  process.once('SIGINT', cancel);
  try {
    const common = { limit: flags.limit ?? 50, k: flags.k, cache: flags.cache, signal: controller.signal, onProgress: (p: { done: number; total: number }) => bar.update(p.done, p.total, 'items') };
    const report = await withClient<RunReport<ItemOutcome>>(ds.root, serverChoice(flags), (client) =>
      what === 'suggest' ? ds.vlm.suggest({ ...common, client, items: flags.items ?? 'unlabeled' }) : ds.vlm.caption({ ...common, client }),
    );
    bar.stop();
    emit(flags.json ?? false, report, () => describeRun(ds, report, what));
    return report;
  } finally {
    process.off('SIGINT', cancel);
    bar.stop();
    ds.close();
  }
}

export async function vlmVerifyCommand(flags: VerifyFlags): Promise<VerifyReport> {
  const ds = await openExisting(flags);
  const bar = new ProgressBar('vlm verify', flags.progress ?? process.stderr.isTTY === true);
  const controller = new AbortController();
  const cancel = () => controller.abort();
  process.once('SIGINT', cancel);
  try {
    const report = await withClient(ds.root, serverChoice(flags), (client) =>
      ds.vlm.verify({ client, label: flags.class, sample: flags.sample, k: flags.k, perRequest: flags.perRequest, cache: flags.cache, tag: flags.tag, signal: controller.signal, onProgress: (p) => bar.update(p.done, p.total, 'items') }),
    );
    bar.stop();
    emit(flags.json ?? false, report, () => describeVerify(ds, report));
    return report;
  } finally {
    process.off('SIGINT', cancel);
    bar.stop();
    ds.close();
  }
}

function serverChoice(flags: ServerFlags): ServerChoice {
  const choice: ServerChoice = {};
  if (flags.url !== undefined) choice.url = flags.url;
  if (flags.model !== undefined) choice.model = flags.model;
  if (flags.dialect !== undefined) choice.dialect = flags.dialect;
  if (flags.layout !== undefined) choice.layout = flags.layout;
  if (flags.timeout !== undefined) choice.timeoutMs = flags.timeout * 1000;
  if (flags.concurrency !== undefined) choice.concurrency = flags.concurrency;
  return choice;
}

/** Fails with the VLM problem's code (12, as a VlmError exits) only when items were asked about and none succeeded. */
function exitCodeOf(report: RunReport<ItemOutcome>): number {
  return report.counts.failed > 0 && report.counts.ok === 0 ? 12 : 0;
}

function describeRun(ds: Dataset, report: RunReport<ItemOutcome>, what: 'suggest' | 'caption'): string {
  const { counts, cost } = report;
  const lines = [
    `${what === 'suggest' ? 'Class suggestions' : 'Caption drafts'} for ${printable(ds.root)} from ${printable(report.model)}: ` +
      `${counts.ok} answered (${report.stored} stored), ${counts.failed} failed, ${counts.unknown_class} unknown class, ${counts.new_class} new class, ${counts.skipped} skipped (${report.seconds.toFixed(1)} s).`,
    `  ${cost.requests} requests, ${cost.cacheHits} from the cache, ${cost.images} images, ${cost.promptTokens} + ${cost.completionTokens} tokens` +
      (report.latency ? `, p50 ${report.latency.p50.toFixed(0)} ms, p99 ${report.latency.p99.toFixed(0)} ms` : ''),
  ];
  const shown = report.items.filter((item) => item.status !== 'ok' && item.status !== 'skipped').slice(0, 20);
  for (const item of shown) lines.push(`  item ${item.id}: ${item.status}${item.failure ? ` (${item.failure})` : ''}: ${printable(item.reason ?? '')}`);
  return lines.join('\n');
}

function describeVerify(ds: Dataset, report: VerifyReport): string {
  const { counts, cost, label } = report;
  const quoted = JSON.stringify(label);
  if (report.sampled.length === 0) return `No item is predicted as ${printable(quoted)} (a person's labels left out): nothing to verify.`;
  const lines = [
    `Verified ${report.sampled.length} of the ${report.group} items predicted as ${printable(quoted)} with ${printable(report.model)}: ` +
      `${report.belongs.length} belong, ${report.outliers.length} not ${printable(quoted)} (${report.stored} tagged ${printable(report.tag)}), ${counts.failed} failed (${report.seconds.toFixed(1)} s).`,
    `  ${cost.requests} requests, ${cost.cacheHits} from the cache, ${cost.images} images, ${cost.promptTokens} + ${cost.completionTokens} tokens`,
  ];
  if (report.outliers.length > 0) lines.push(`  not ${printable(quoted)}: items ${report.outliers.join(', ')}`);
  if (report.stored > 0) lines.push(`  the tags are the model's to take back: quicksort undo --dataset ${printable(ds.root)} --user ${printable(report.model)}`);
  const failed = report.items.find((item) => item.status === 'failed');
  if (failed) lines.push(`  failed: ${failed.failure ?? ''} ${printable(failed.reason ?? '')}`.trimEnd());
  return lines.join('\n');
}

function describeStats(stats: VlmStats): string {
  const lines = [`VLM cost so far (${printable(stats.file)}): ${stats.requests} requests, ${stats.cacheHits} cache hits, ${stats.failures} failed, ${stats.images} images, ${stats.promptTokens} + ${stats.completionTokens} tokens, ${stats.seconds.toFixed(1)} s.`];
  for (const [model, cost] of Object.entries(stats.models)) lines.push(`  ${printable(model)}: ${cost.requests} requests, ${cost.cacheHits} cache hits, ${cost.promptTokens + cost.completionTokens} tokens`);
  return lines.join('\n');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CommanderInvalidArgument(`expected a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CommanderInvalidArgument(`expected a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}
