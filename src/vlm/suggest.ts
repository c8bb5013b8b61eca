import { ConflictError, InvalidArgumentError, messageOf } from '../errors';
import type { ItemWithState, Store } from '../store';
import { isHumanLabelled, type DemonstrationBank, type Demonstration, type RetrieveOptions, type Vote } from './bank';
import { checkCount, DEFAULT_K, DEFAULT_LIMIT, finishRun, openBank, startRun, type VlmDataset, type VlmRunOptions } from './dataset-run';
import { labelPlan, parseLabelAnswer } from './prompt';
import { cancelledOutcome, failedOutcome, type ItemOutcome, type RunProgress, type RunReport, type VlmRun } from './run';

/** Where a prompt's demonstrations come from: the bank's retrieval (the product), or the controls it is measured against. */
export type DemonstrationChoice = 'retrieved' | 'random' | 'none';

export interface SuggestOptions extends VlmRunOptions, RetrieveOptions {
  /**
   * Which items: those without a person's label (default; id order), the head's hard cases (the lowest
   * margins between its two most likely classes), or these ids.
   */
  items?: 'unlabeled' | 'hard' | readonly number[];
  demonstrations?: DemonstrationChoice;
  onProgress?: (progress: RunProgress<LabelOutcome>) => void;
}

/** One item's class suggestion. */
export interface LabelOutcome extends ItemOutcome {
  /** The suggested class (status `ok`). */
  label?: string;
  /** The class the model proposed that the dataset does not have ("other: NAME"; status `new_class`, not stored). */
  newClass?: string;
  /** What the model answered outside the known classes (status `unknown_class`, not stored). */
  unknownClass?: string;
  /** The kNN majority vote of the same demonstrations: the baseline beside the VLM's answer. */
  vote: Vote | null;
}

export type SuggestReport = RunReport<LabelOutcome>;

/**
 * Asks the VLM for a class for each chosen item, few-shot with its nearest labelled items (at least one of
 * each of the head's top candidate classes, a cap per class), the answer held to the known classes or
 * "other: NAME". A suggestion is stored as a `vlm` label event with the answer's confidence — never on an
 * item a person labelled, even one labelled while the run was asking. Each item gets a status; a failed
 * request fails only its item. Answers are cached by (model, prompt digest): a rerun asks nothing twice.
 *
 * @example
 * const report = await suggestWithVlm(ds, { client, items: 'hard', limit: 20 });
 * report.items[0]; // { id, status: 'ok', label: 'cat', confidence: 0.93, vote: { label: 'cat', … }, examples: [...] }
 */
export async function suggestWithVlm(dataset: VlmDataset, options: SuggestOptions): Promise<SuggestReport> {
  const limit = checkCount(options.limit, DEFAULT_LIMIT, 'limit');
  const k = checkCount(options.k, DEFAULT_K, 'k (demonstrations per prompt)');
  const choice = options.demonstrations ?? 'retrieved';
  if (!['retrieved', 'random', 'none'].includes(choice)) throw new InvalidArgumentError(`demonstrations must be retrieved, random or none; got ${JSON.stringify(choice)}`);
  const bank = options.bank ?? openBank(dataset, options.seed);
  const targets = chooseItems(dataset.store, bank, options.items ?? 'unlabeled', limit);
  const classes = bank.knownClasses();
  const run = startRun(dataset, options);
  try {
    const ask = async (item: ItemWithState): Promise<LabelOutcome> => {
      if (isHumanLabelled(item)) return skipped(item.id, 'labelled by a person');
      if (!bank.has(item.id) && choice !== 'none') return skipped(item.id, 'not embedded: run `quicksort embed` first');
      const demonstrations = choice === 'retrieved' ? bank.retrieve(item.id, k, options) : choice === 'random' ? bank.randomDemonstrations(item.id, k) : [];
      return suggestOne(run, dataset.store, item, demonstrations, classes, choice === 'retrieved' ? bank.vote(demonstrations) : null);
    };
    const cancelled = (item: ItemWithState): LabelOutcome => ({ ...cancelledOutcome(item.id), vote: null });
    let done = 0;
    const items = await run.forEach(targets, ask, cancelled, (item) => options.onProgress?.({ done: ++done, total: targets.length, item }));
    return run.report(items);
  } finally {
    finishRun(run);
  }
}

async function suggestOne(run: VlmRun, store: Store, item: ItemWithState, demonstrations: Demonstration[], classes: string[], vote: Vote | null): Promise<LabelOutcome> {
  const examples = demonstrations.map((d) => d.id);
  const base = { id: item.id, examples, vote };
  let asked;
  try {
    const plan = labelPlan(
      classes,
      demonstrations.map((d) => ({ image: run.images.add(store.item(d.id)), label: d.label })),
      run.images.add(item),
    );
    asked = await run.ask(plan);
  } catch (error) {
    return { ...failedOutcome(item.id, error, examples), vote };
  }
  const { answer, cached } = asked;
  const confidence = answer.confidence;
  const parsed = parseLabelAnswer(answer, classes);
  const common = { ...base, cached, confidence };
  switch (parsed.kind) {
    case 'bad_answer':
      return { ...common, status: 'failed', failure: 'bad_answer', reason: parsed.reason, stored: false };
    case 'unknown_class':
      return { ...common, status: 'unknown_class', unknownClass: parsed.name, reason: `the answer names no known class: ${JSON.stringify(parsed.name)}`, stored: false };
    case 'new_class':
      return { ...common, status: 'new_class', newClass: parsed.name, stored: false };
    case 'class': {
      const { stored, reason } = storeSuggestion(store, item.id, parsed.label, confidence, run.model);
      return { ...common, status: 'ok', label: parsed.label, stored, ...(reason ? { reason } : {}) };
    }
  }
}

/**
 * Writes the suggestion as a `vlm` label, unless the item is a person's by now (the store would keep the
 * person's label anyway; this writes no event at all) or already has this very suggestion. The version read
 * here guards the write: a label that lands in between refuses it.
 */
function storeSuggestion(store: Store, id: number, label: string, confidence: number | null, model: string): { stored: boolean; reason?: string } {
  const current = store.item(id);
  if (isHumanLabelled(current)) return { stored: false, reason: 'labelled by a person meanwhile' };
  if (current.deleted || current.dontKnow) return { stored: false, reason: current.deleted ? 'deleted meanwhile' : "marked don't know meanwhile" };
  if (current.label === label && current.labelSource === 'vlm') return { stored: false, reason: 'suggested already' };
  try {
    store.act(id, { kind: 'label', label }, { source: 'vlm', user: model, ifVersion: current.version, ...(confidence !== null ? { confidence } : {}) });
    return { stored: true };
  } catch (error) {
    if (error instanceof ConflictError) return { stored: false, reason: 'changed meanwhile' };
    return { stored: false, reason: `not stored: ${messageOf(error)}` };
  }
}

/** The items of a suggestion run, as they are now. */
function chooseItems(store: Store, bank: DemonstrationBank, items: SuggestOptions['items'], limit: number): ItemWithState[] {
  if (Array.isArray(items)) return items.slice(0, limit).map((id) => store.item(id));
  if (items !== 'unlabeled' && items !== 'hard') throw new InvalidArgumentError(`items must be unlabeled, hard or a list of item ids; got ${JSON.stringify(items)}`);
  const open: number[] = [];
  for (const item of store.iterateItems()) {
    if (!isHumanLabelled(item) && !item.dontKnow && bank.has(item.id)) {
      open.push(item.id);
      if (items === 'unlabeled' && open.length >= limit) break;
    }
  }
  const ids = items === 'hard' ? bank.hardest(open, limit).map((h) => h.id) : open;
  return ids.map((id) => store.item(id));
}

function skipped(id: number, reason: string): LabelOutcome {
  return { id, status: 'skipped', reason, cached: false, stored: false, examples: [], confidence: null, vote: null };
}
