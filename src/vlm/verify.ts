import { InvalidArgumentError, messageOf } from '../errors';
import { mulberry32 } from '../random';
import type { Store } from '../store';
import { isHumanLabelled } from './bank';
import { checkCount, DEFAULT_K, finishRun, openBank, startRun, type VlmDataset, type VlmRunOptions } from './dataset-run';
import { cancelledOutcome, failedOutcome, type ItemOutcome, type RunProgress, type RunReport, type VlmRun } from './run';
import type { VlmConfig } from './types';
import { parseVerifyAnswer, verifyPlan } from './verify-prompt';

export interface VerifyOptions extends Omit<VlmRunOptions, 'limit'> {
  /** The class whose predicted group is checked. */
  label: string;
  /** Items of the group asked about, at most (default 12), drawn at random with the seed. */
  sample?: number;
  /** Labelled examples of the class shown first (default 8; at least 1): its most typical ones. */
  k?: number;
  /**
   * Group images per request (default: 12 at 448 px, more for smaller images, at most 24); the sample is split
   * to fit. The group goes in one user turn after the examples: a model that takes one image per turn needs 1.
   */
  perRequest?: number;
  /**
   * The items the head predicts as the class, when the caller has them at hand (a labeling session reads its
   * learner's scores); default: the bank reads every item of the store for them.
   */
  group?: readonly number[];
  /** Tag each outlier `vlm:not-LABEL` (default true); false only reports. */
  tag?: boolean;
  onProgress?: (progress: RunProgress<VerifyOutcome>) => void;
}

export type Verdict = 'belongs' | 'outlier';

/** One sampled item's verdict (status `ok`), or why it has none (`failed`: its request failed or was answered badly). */
export interface VerifyOutcome extends ItemOutcome {
  verdict?: Verdict;
}

export interface VerifyReport extends RunReport<VerifyOutcome> {
  label: string;
  /** Items the head predicts as the class, a person's labels left out. */
  group: number;
  /** The items asked about, id order. */
  sampled: number[];
  outliers: number[];
  belongs: number[];
  /** belongs / answered: the share of the group the model found to be of the class (null when nothing was answered). */
  purity: number | null;
  /** The tag an outlier gets. */
  tag: string;
}

export const DEFAULT_SAMPLE = 12;
const MAX_PER_REQUEST = 24;

/** The tag of an item the VLM found not to be of `label`. */
export function outlierTag(label: string): string {
  return `vlm:not-${label}`;
}

/**
 * Cluster verification: draws a sample of the items the head predicts as `label` (none a person labelled),
 * shows the VLM the class's most typical labelled items and then the sample, numbered, and asks which are
 * not `label` — one request, or a few when the images do not fit one. Each sampled item `belongs` or is an
 * `outlier`; a request that failed or was answered out of the schema fails its items and marks nothing.
 *
 * Nothing is written as a label either way: a model's check is not a person's decision, and "not a cat"
 * names no class to label it with. An outlier gets the tag `vlm:not-LABEL` — a `vlm`-source event by the
 * model, all of a run's tags one batch (one undo by the model's name takes them back) — so a person finds
 * them with a tag filter and decides; never on an item a person labelled meanwhile, and never twice.
 * Answers are cached by (model, prompt digest): the same sample with the same examples asks nothing again.
 *
 * @example
 * const report = await verifyClusterWithVlm(ds, { client, label: 'cat' });
 * report.outliers; // ids the model found not to be cats, tagged 'vlm:not-cat'
 */
export async function verifyClusterWithVlm(dataset: VlmDataset, options: VerifyOptions): Promise<VerifyReport> {
  const { label } = options;
  if (typeof label !== 'string' || label.trim() === '') throw new InvalidArgumentError(`label (the class to verify) must be a class name; got ${JSON.stringify(label)}`);
  const sample = checkCount(options.sample, DEFAULT_SAMPLE, 'sample', 1);
  const k = checkCount(options.k, DEFAULT_K, 'k (examples of the class)', 1);
  const perRequest = checkCount(options.perRequest, defaultPerRequest(options.client.config), 'perRequest', 1);
  const bank = options.bank ?? openBank(dataset, options.seed);
  if (!bank.knownClasses().includes(label)) throw new InvalidArgumentError(`there is no class ${JSON.stringify(label)}; the classes are ${bank.knownClasses().map((c) => JSON.stringify(c)).join(', ') || 'none yet'}`);
  const examples = bank.typicalExamples(label, k);
  if (examples.length === 0) throw new InvalidArgumentError(`no embedded item is labelled ${JSON.stringify(label)} by a person: the VLM needs examples of the class to check its group against`);
  const group = options.group ? [...options.group] : bank.predictedAs(label);
  const sampled = seededSample(group, sample, options.seed ?? 1);
  const exampleIds = examples.map((e) => e.id);
  const tag = outlierTag(label);
  const writer = new TagWriter(dataset.store, tag);
  const run = startRun(dataset, options);
  try {
    let done = 0;
    const chunks = chunked(sampled, perRequest);
    const outcomes = await Promise.all(
      chunks.map(async (ids) => {
        const verdicts = await verifyChunk(run, dataset.store, label, exampleIds, ids);
        for (const outcome of verdicts) {
          if (outcome.verdict === 'outlier' && options.tag !== false) Object.assign(outcome, writer.tag(outcome.id, run.model));
          options.onProgress?.({ done: ++done, total: sampled.length, item: outcome });
        }
        return verdicts;
      }),
    );
    const items = outcomes.flat();
    const outliers = items.filter((item) => item.verdict === 'outlier').map((item) => item.id);
    const belongs = items.filter((item) => item.verdict === 'belongs').map((item) => item.id);
    const answered = outliers.length + belongs.length;
    return { ...run.report(items), label, group: group.length, sampled, outliers, belongs, purity: answered > 0 ? belongs.length / answered : null, tag };
  } finally {
    finishRun(run);
  }
}

/** One request: the examples, then these items numbered 1..n; a verdict per item, or the same failure for all. */
async function verifyChunk(run: VlmRun, store: Store, label: string, exampleIds: number[], ids: number[]): Promise<VerifyOutcome[]> {
  if (run.signal?.aborted) return ids.map((id) => cancelledOutcome(id));
  let asked;
  try {
    const plan = verifyPlan(
      label,
      exampleIds.map((id) => run.images.add(store.item(id))),
      ids.map((id) => run.images.add(store.item(id))),
    );
    asked = await run.ask(plan);
  } catch (error) {
    return ids.map((id) => failedOutcome(id, error, exampleIds));
  }
  const { answer, cached } = asked;
  const parsed = parseVerifyAnswer(answer, ids.length);
  const common = { examples: exampleIds, cached, confidence: answer.confidence, stored: false };
  if (parsed.kind === 'bad_answer') return ids.map((id) => ({ ...common, id, status: 'failed', failure: 'bad_answer', reason: parsed.reason }));
  return ids.map((id, i) => ({ ...common, id, status: 'ok', verdict: parsed.numbers.includes(i + 1) ? 'outlier' : 'belongs' }));
}

/** Adds the outlier tag as `vlm` events of the model, all of one run in one batch (undone together). */
class TagWriter {
  private batch: number | undefined;

  constructor(
    private readonly store: Store,
    private readonly tagName: string,
  ) {}

  tag(id: number, model: string): { stored: boolean; reason?: string } {
    const current = this.store.item(id);
    if (isHumanLabelled(current)) return { stored: false, reason: 'labelled by a person meanwhile' };
    if (current.deleted) return { stored: false, reason: 'deleted meanwhile' };
    if (current.tags.includes(this.tagName)) return { stored: false, reason: 'tagged already' };
    try {
      const event = this.store.act(id, { kind: 'tags', tags: [...current.tags, this.tagName] }, { source: 'vlm', user: model, ifVersion: current.version, ...(this.batch !== undefined ? { batch: this.batch } : {}) });
      this.batch ??= event.batch;
      return { stored: true };
    } catch (error) {
      // A tag a person set meanwhile is kept: the version guard refuses the write instead of replacing their tags.
      return { stored: false, reason: `not stored: ${messageOf(error)}` };
    }
  }
}

/** Group images per request: a pixel budget of 12 images at 448 px (the images the model reads, not its context, bound it). */
export function defaultPerRequest(config: Pick<VlmConfig, 'maxImageSide'>): number {
  return Math.max(1, Math.min(MAX_PER_REQUEST, Math.floor(DEFAULT_SAMPLE * (448 / config.maxImageSide) ** 2)));
}

/** Up to `count` of the ids, drawn with the seed (the same group and seed draw the same sample), in id order. */
function seededSample(ids: readonly number[], count: number, seed: number): number[] {
  const pool = [...ids];
  const random = mulberry32(seed ^ 0x5e1);
  const n = Math.min(count, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n).sort((a, b) => a - b);
}

/** The ids in runs of at most `size`, as even as they can be (13 at 12 → 7 + 6, not 12 + 1). */
function chunked(ids: readonly number[], size: number): number[][] {
  if (ids.length === 0) return [];
  const parts = Math.ceil(ids.length / size);
  const each = Math.ceil(ids.length / parts);
  const out: number[][] = [];
  for (let i = 0; i < ids.length; i += each) out.push(ids.slice(i, i + each));
  return out;
}
