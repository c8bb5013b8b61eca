import { type Command, InvalidArgumentError as CommanderInvalidArgument } from 'commander';
import type { SearchHit, TextTrainReport } from '../dataset';
import { emit, printable, ProgressBar } from './output';
import { openExisting } from './open-dataset';

interface TextTrainFlags {
  dataset: string;
  store?: string;
  epochs?: number;
  model?: string;
  seed?: number;
  progress?: boolean;
  json?: boolean;
}

interface SearchFlags {
  dataset: string;
  store?: string;
  text: string;
  k?: number;
  label?: string;
  tag?: string;
  unlabeled?: boolean;
  split?: string;
  json?: boolean;
}

/**
 * `quicksort text train --dataset DIR [--epochs N]` and `quicksort search --dataset DIR --text "…" [--k N]`:
 * the text model learned from the dataset's captions, and natural-language search with it.
 *
 * @example
 * registerTextCommands(program);
 */
export function registerTextCommands(program: Command): void {
  program
    .command('text')
    .description('the text model: learns text–image similarity from the captions (InfoNCE) for natural-language search')
    .command('train')
    .description("train the dataset's text model on its captions (every source), in a worker thread — with a CLIP/SigLIP embedding model, light adapters on its two towers; draws the loss curve")
    .requiredOption('-d, --dataset <dir>', 'a dataset with embeddings (`quicksort embed`) and captions (`quicksort captions import`)')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
    .option('--epochs <n>', 'passes over the captions (default 40)', positiveInt)
    .option('--model <id>', 'the embedding model id or name (default: the most recently used)')
    .option('--seed <n>', 'the same seed, captions and embeddings train the same model (default 1)', positiveInt)
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--json', 'print machine-readable JSON on stdout (the report, with the loss per epoch)')
    .action(async (flags: TextTrainFlags) => {
      await textTrainCommand(flags);
    });

  program
    .command('search')
    .description('find the items that match a description, best first: with the text model trained on the captions (`quicksort text train`), or zero-shot with the text tower of a CLIP/SigLIP embedding model')
    .requiredOption('-d, --dataset <dir>', 'a dataset with a trained text model, or embedded with a two-tower model (CLIP, SigLIP)')
    .requiredOption('--text <query>', 'what to look for, e.g. "a dog asleep on a sofa"')
    .option('--store <file>', 'the store file, if not DIR/.quicksort/quicksort.db')
    .option('--k <n>', 'how many results (default 20)', positiveInt)
    .option('--label <name>', 'only items with this label')
    .option('--tag <name>', 'only items with this tag')
    .option('--unlabeled', 'only items without a label')
    .option('--split <name>', 'only items of this split')
    .option('--json', 'print machine-readable JSON on stdout: an array of { id, uri, score, tower }, best first (tower: "trained", "adapted" or "embedding-model")')
    .action(async (flags: SearchFlags) => {
      await searchCommand(flags);
    });
}

export async function textTrainCommand(flags: TextTrainFlags): Promise<TextTrainReport> {
  const ds = await openExisting(flags);
  const bar = new ProgressBar('text train', flags.progress ?? process.stderr.isTTY === true);
  try {
    const report = await ds.trainText({
      epochs: flags.epochs,
      model: flags.model,
      seed: flags.seed,
      onProgress: (p) => bar.update(p.epoch, p.epochs, `epochs, loss ${p.loss.toFixed(3)}`),
    });
    bar.stop();
    emit(flags.json ?? false, report, () =>
      [
        `Trained ${report.tower === 'adapted' ? `adapters on the towers of ${report.imageModel} for` : 'the text model of'} ${printable(ds.root)} on ${report.captions} captions of ${report.images} images (${report.imageModel}, ${report.epochs} epochs, ${report.seconds.toFixed(1)} s):`,
        `  loss ${report.losses[0]?.toFixed(3) ?? '—'} → ${report.losses.at(-1)?.toFixed(3) ?? '—'}; curve ${report.files.chart}`,
        `  model ${report.files.model}`,
        `Search with: quicksort search --dataset ${printable(ds.root)} --text "…"`,
      ].join('\n'),
    );
    return report;
  } finally {
    bar.stop();
    ds.close();
  }
}

export async function searchCommand(flags: SearchFlags): Promise<SearchHit[]> {
  const ds = await openExisting(flags, { readonly: true });
  try {
    const where = {
      ...(flags.label !== undefined ? { label: flags.label } : {}),
      ...(flags.tag !== undefined ? { tag: flags.tag } : {}),
      ...(flags.unlabeled ? { labeled: false } : {}),
      ...(flags.split !== undefined ? { split: flags.split } : {}),
    };
    const hits = await ds.search(flags.text, { k: flags.k, where: Object.keys(where).length ? where : undefined });
    emit(flags.json ?? false, hits, () => {
      const lines = hits.map((hit, rank) => `${String(rank + 1).padStart(3)}. ${hit.score.toFixed(3)}  ${printable(hit.uri)}  (id ${hit.id})`);
      // Said on stderr, so stdout stays one line per item for scripts.
      if (hits[0]?.tower === 'embedding-model') process.stderr.write("Zero-shot: the embedding model's own text tower answered (no text model trained on these embeddings yet).\n");
      return hits.length === 0 ? 'No items match.' : lines.join('\n');
    });
    return hits;
  } finally {
    ds.close();
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CommanderInvalidArgument(`expected a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}
