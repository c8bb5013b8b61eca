import { messageOf } from '../errors';
import type { ItemWithState, Store } from '../store';
import { checkCount, DEFAULT_K, DEFAULT_LIMIT, finishRun, openBank, startRun, type VlmDataset, type VlmRunOptions } from './dataset-run';
import { captionPlan, parseCaptionAnswer } from './prompt';
import { cancelledOutcome, failedOutcome, type ItemOutcome, type RunProgress, type RunReport, type VlmRun } from './run';

export interface CaptionOptions extends VlmRunOptions {
  /** Items without any caption (default; id order), or these ids. */
  items?: 'uncaptioned' | readonly number[];
  onProgress?: (progress: RunProgress<CaptionOutcome>) => void;
}

export interface CaptionOutcome extends ItemOutcome {
  /** The draft (status `ok`). */
  caption?: string;
}

export type CaptionReport = RunReport<CaptionOutcome>;

/**
 * Drafts a caption for each chosen item, few-shot with its nearest items that have a caption a person stands
 * behind (their own or an imported one), in their style. A draft is stored beside the item's other captions
 * as an `add_caption` of source `vlm` and the model's name as author, for a person to review and edit —
 * never on an item that got a person's caption meanwhile. Each item gets a status; answers are cached.
 *
 * @example
 * const report = await draftCaptions(ds, { client, limit: 20 });
 * report.items[0]; // { id, status: 'ok', caption: 'a dog asleep on a sofa', stored: true, … }
 */
export async function draftCaptions(dataset: VlmDataset, options: CaptionOptions): Promise<CaptionReport> {
  const limit = checkCount(options.limit, DEFAULT_LIMIT, 'limit');
  const k = checkCount(options.k, DEFAULT_K, 'k (demonstrations per prompt)');
  const bank = options.bank ?? openBank(dataset, options.seed);
  const targets = Array.isArray(options.items)
    ? options.items.slice(0, limit).map((id) => dataset.store.item(id))
    : uncaptioned(dataset.store, limit);
  const run = startRun(dataset, options);
  try {
    const draft = async (item: ItemWithState): Promise<CaptionOutcome> => {
      if (hasPersonsCaption(item)) return skipped(item.id, 'has a caption by a person');
      if (!bank.has(item.id)) return skipped(item.id, 'not embedded: run `quicksort embed` first');
      return draftOne(run, dataset.store, item, bank.captionDemonstrations(item.id, k));
    };
    let done = 0;
    const items = await run.forEach(targets, draft, (item) => cancelledOutcome(item.id), (item) => options.onProgress?.({ done: ++done, total: targets.length, item }));
    return run.report(items);
  } finally {
    finishRun(run);
  }
}

async function draftOne(run: VlmRun, store: Store, item: ItemWithState, demonstrations: { id: number; caption: string }[]): Promise<CaptionOutcome> {
  const examples = demonstrations.map((d) => d.id);
  let asked;
  try {
    const plan = captionPlan(
      demonstrations.map((d) => ({ image: run.images.add(store.item(d.id)), caption: d.caption })),
      run.images.add(item),
    );
    asked = await run.ask(plan);
  } catch (error) {
    return failedOutcome(item.id, error, examples);
  }
  const { answer, cached } = asked;
  const common = { id: item.id, examples, cached, confidence: answer.confidence };
  const parsed = parseCaptionAnswer(answer);
  if (parsed.kind === 'bad_answer') return { ...common, status: 'failed', failure: 'bad_answer', reason: parsed.reason, stored: false };
  const { stored, reason } = storeDraft(store, item.id, parsed.caption, run.model);
  return { ...common, status: 'ok', caption: parsed.caption, stored, ...(reason ? { reason } : {}) };
}

/** Adds the draft as a `vlm` caption unless a person captioned the item meanwhile or the model drafted it already. */
function storeDraft(store: Store, id: number, caption: string, model: string): { stored: boolean; reason?: string } {
  const current = store.item(id);
  if (hasPersonsCaption(current)) return { stored: false, reason: 'captioned by a person meanwhile' };
  if (current.deleted) return { stored: false, reason: 'deleted meanwhile' };
  if (current.captions.some((c) => c.source === 'vlm' && c.author === model && c.text === caption)) return { stored: false, reason: 'drafted already' };
  try {
    store.act(id, { kind: 'add_caption', caption, source: 'vlm', author: model }, { source: 'vlm', user: model, ifVersion: current.version });
    return { stored: true };
  } catch (error) {
    return { stored: false, reason: `not stored: ${messageOf(error)}` };
  }
}

function hasPersonsCaption(item: ItemWithState): boolean {
  return item.captions.some((c) => c.source === 'human' || c.source === 'import');
}

/** Items with no caption at all (a draft of the model's own counts: it is not drafted twice), id order. */
function uncaptioned(store: Store, limit: number): ItemWithState[] {
  const found: ItemWithState[] = [];
  for (const item of store.iterateItems({ hasCaption: false })) {
    if (found.length >= limit) break;
    found.push(item);
  }
  return found;
}

function skipped(id: number, reason: string): CaptionOutcome {
  return { id, status: 'skipped', reason, cached: false, stored: false, examples: [], confidence: null };
}
