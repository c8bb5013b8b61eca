import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command, InvalidArgumentError as CommanderInvalidArgument } from 'commander';
import { STATE_FOLDER } from '../dataset';
import { DEFAULT_MAP_SAMPLE, MAP_METHODS, type EmbeddingMap, type MapMethod } from '../map';
import { assertSafeOutput } from '../output';
import { emit, printable, ProgressBar } from './output';
import { openExisting } from './open-dataset';

/** The map's default file, in the state folder. */
const MAP_FILE = 'map.svg';

interface MapFlags {
  dataset: string;
  store?: string;
  out?: string;
  sample?: number;
  seed?: number;
  method: MapMethod;
  model?: string;
  progress?: boolean;
  json?: boolean;
}

/**
 * `quicksort map --dataset DIR [--out map.svg] [--sample N] [--seed S]`: lays out a stratified sample of the
 * dataset's embeddings in 2-D and draws it as SVG, coloured by class.
 *
 * @example
 * registerMapCommand(program);
 */
export function registerMapCommand(program: Command): Command {
  return program
    .command('map')
    .description('draw a 2-D map of the embeddings (UMAP after PCA on a stratified sample), coloured by class, as SVG')
    .requiredOption('-d, --dataset <dir>', 'a dataset with embeddings (`quicksort embed`)')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
    .option('--out <file.svg>', 'where to write the map (default DIR/.quicksort/map.svg)')
    .option('--sample <n>', `lay out at most this many items, every class represented (default ${DEFAULT_MAP_SAMPLE})`, positiveInt)
    .option('--seed <n>', 'seeds the sample and the layout: the same seed draws the same map (default 1)', wholeNumber)
    .addOption(new Option('--method <name>', 'UMAP after PCA, or the first two principal components').choices([...MAP_METHODS]).default('umap'))
    .option('--model <id>', 'the embedding model id or name (default: the most recently used)')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--json', 'print machine-readable JSON on stdout (coordinates with item ids and labels)')
    .action(async (flags: MapFlags) => {
      await mapCommand(flags);
    });
}

export async function mapCommand(flags: MapFlags): Promise<EmbeddingMap> {
  const ds = await openExisting(flags, { readonly: true });
  const out = path.resolve(flags.out ?? path.join(ds.root, STATE_FOLDER, MAP_FILE));
  const bar = new ProgressBar('map', flags.progress ?? process.stderr.isTTY === true);
  const warnings: string[] = [];
  try {
    // Before the layout: a map that cannot be written is refused at once, not after minutes of UMAP.
    await assertSafeOutput(out, ds, { allowInState: [MAP_FILE] });
    const map = await ds.map({
      sample: flags.sample,
      seed: flags.seed,
      method: flags.method,
      model: flags.model,
      onWarning: (message) => warnings.push(message),
      onProgress: (p) => bar.update(p.done, p.total, p.phase === 'layout' ? 'epochs' : p.phase === 'pca' ? 'PCA passes' : p.phase),
    });
    bar.stop();
    for (const warning of warnings) process.stderr.write(`quicksort: warning: ${printable(warning)}\n`);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, map.svg);
    emit(flags.json ?? false, { dataset: ds.root, out, method: flags.method, seed: flags.seed ?? 1, ...map.toJSON() }, () =>
      [
        `Mapped ${map.points.length} of ${map.total} items of ${ds.root} (${map.modelId}, ${flags.method}): ${out}`,
        ...(map.skipped.length ? [`${map.skipped.length} skipped (see the warning above).`] : []),
        `  classes  ${map.classes.map((c) => `${printable(c.name)} (${c.labeled + c.suggested})`).join(', ') || 'none yet'}`,
      ].join('\n'),
    );
    return map;
  } finally {
    bar.stop();
    ds.close();
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CommanderInvalidArgument(`expected a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CommanderInvalidArgument(`expected a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}
