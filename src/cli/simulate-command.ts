import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Dataset, STATE_FOLDER } from '../dataset';
import { loadEmbeddings } from '../embed';
import { DatasetError, InvalidArgumentError } from '../errors';
import { getRanker, lineChartSvg, RANKER_NAMES, simulate, type EmbeddingMatrix, type RankerName, type SimulationResult } from '../learn';
import { assertSafeOutput } from '../output';
import { emit } from './output';

/** The learning curves' default file, in the state folder. */
const SIMULATION_FILE = 'simulation.svg';

interface SimulateFlags {
  dataset: string;
  store?: string;
  rankers: string;
  mode: 'one' | 'grid' | 'both';
  budget?: number;
  holdOut: number;
  out?: string;
  json?: boolean;
}

/**
 * `quicksort simulate`: replays labeling on a dataset whose items people already labeled, with an oracle in
 * their place and the roadmap's time model, for every ranker; writes the learning curves as SVG.
 */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description("replay labeling with an oracle (the dataset's own labels) and a time model; compare rankers")
    .requiredOption('-d, --dataset <dir>', 'a dataset with human labels and embeddings (`quicksort embed`)')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
    .option('--rankers <names>', `comma-separated, from ${RANKER_NAMES.join(', ')}`, RANKER_NAMES.join(','))
    .option('--mode <mode>', 'one at a time, grid pages, or both', 'both')
    .option('--budget <n>', 'stop each run after this many labels', (v) => positiveInt(v, '--budget'))
    .option('--hold-out <share>', 'share of labeled items kept aside for the learning curve', (v) => share(v), 0.2)
    .option('--out <file.svg>', 'where to draw the learning curves (default DIR/.quicksort/simulation.svg)')
    .option('--json', 'print machine-readable JSON on stdout')
    .action(async (flags: SimulateFlags) => {
      const rankers = flags.rankers.split(',').map((name) => getRanker(name.trim()).name);
      if (!['one', 'grid', 'both'].includes(flags.mode)) throw new InvalidArgumentError(`--mode must be one, grid or both; got ${JSON.stringify(flags.mode)}`);
      const ds = await Dataset.open(flags.dataset, { store: flags.store });
      try {
        const out = path.resolve(flags.out ?? path.join(ds.root, STATE_FOLDER, SIMULATION_FILE));
        await assertSafeOutput(out, ds, { allowInState: [SIMULATION_FILE] });
        const { pool, test, truth } = splitLabeled(ds, flags.holdOut);
        const modes: ('one' | 'grid')[] = flags.mode === 'both' ? ['one', 'grid'] : [flags.mode];
        const checkpoints = [10, 25, 50, 100, 200, 500, 1000, 2000, 5000].filter((n) => n <= pool.ids.length);
        const results: SimulationResult[] = [simulate(pool, truth, { ranker: 'random', mode: 'one', suggestions: false, budget: flags.budget })];
        for (const mode of modes) {
          for (const ranker of rankers) {
            results.push(simulate(pool, truth, { ranker: ranker as RankerName, mode, budget: flags.budget, checkpoints, test: test.ids.length ? { matrix: test, truth } : undefined, rescoreEvery: 5 }));
          }
        }
        const curves = results.filter((r) => r.mode === 'one' && r.curve.length).map((r) => ({ name: r.ranker, points: r.curve.map((p) => ({ x: p.labels, y: p.accuracy })) }));
        writeFileSync(out, lineChartSvg(curves, { title: `Head accuracy on ${test.ids.length} held-out items`, xLabel: 'labels', yLabel: 'accuracy', yMin: 0, yMax: 1 }));
        const baseline = results[0]!.secondsPerLabel;
        emit(flags.json ?? false, { pool: pool.ids.length, heldOut: test.ids.length, curves: out, results }, () =>
          [
            `Simulated on ${pool.ids.length} labeled items (${test.ids.length} held out). Learning curves: ${out}`,
            'ranker            mode  s/label  accepted  gain',
            ...results.map((r) =>
              `${(r.suggestions ? r.ranker : 'random, no suggestions').padEnd(18)}${r.mode.padEnd(6)}${r.secondsPerLabel.toFixed(2).padStart(7)}  ${(r.acceptedRate * 100).toFixed(0).padStart(7)}%  ${(baseline / r.secondsPerLabel).toFixed(2)}×`,
            ),
          ].join('\n'),
        );
      } finally {
        ds.close();
      }
    });
}

/** The dataset's human-labeled items with embeddings, split into a pool to label and a held-out set. */
function splitLabeled(ds: Dataset, holdOut: number): { pool: EmbeddingMatrix; test: EmbeddingMatrix; truth: (id: number) => string } {
  let embeddings: EmbeddingMatrix;
  try {
    embeddings = loadEmbeddings(ds.root, { store: ds.store });
  } catch (error) {
    throw new DatasetError(`${ds.root} has no embeddings yet; run \`npx quicksort embed --dataset ${ds.root}\` first`, { cause: error });
  }
  const labels = new Map<number, string>();
  for (const item of ds.store.iterateItems({ labelSource: 'human' })) labels.set(item.id, item.label!);
  const rows = embeddings.ids.map((id, row) => ({ id, row })).filter(({ id }) => labels.has(id));
  if (rows.length < 10) throw new DatasetError(`simulate needs at least 10 human-labeled items with embeddings; ${ds.root} has ${rows.length}`);
  const testEvery = holdOut > 0 ? Math.max(2, Math.round(1 / holdOut)) : Infinity;
  const take = (keep: (index: number) => boolean): EmbeddingMatrix => {
    const chosen = rows.filter((_, index) => keep(index));
    const vectors = new Float32Array(chosen.length * embeddings.dim);
    chosen.forEach(({ row }, index) => vectors.set(embeddings.vectors.subarray(row * embeddings.dim, (row + 1) * embeddings.dim), index * embeddings.dim));
    return { ids: chosen.map(({ id }) => id), dim: embeddings.dim, vectors };
  };
  return { pool: take((i) => (i + 1) % testEvery !== 0), test: take((i) => (i + 1) % testEvery === 0), truth: (id) => labels.get(id)! };
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive whole number; got ${JSON.stringify(value)}`);
  return n;
}

function share(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError(`--hold-out must be a number from 0 to below 1; got ${JSON.stringify(value)}`);
  return n;
}
