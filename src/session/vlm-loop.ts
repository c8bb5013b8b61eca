import { InvalidArgumentError, messageOf } from '../errors';
import type { ActiveLearner } from '../learn';
import type { Store, StoredEvent } from '../store';
import { createVlmClient, DemonstrationBank, draftCaptions, PromptImageCache, resolveVlmConfig, suggestWithVlm, verifyClusterWithVlm, VlmCache, vlmCachePath, type VerifyOptions, type VlmClient } from '../vlm';
import type { VlmStateView } from './protocol';

export interface VlmLoopOptions {
  /** The server to ask; default: from QUICKSORT_VLM_* and DIR/.quicksort/vlm.json (off when neither names one). */
  client?: VlmClient;
  /** The head's hardest items asked about per round (default 8). */
  batch?: number;
  /** A round starts after this many labels by people (default 10), and once the head has scored the items. */
  everyLabels?: number;
  /** Demonstrations per prompt (default 8). */
  k?: number;
  /** Caption drafts for the round's items that have no caption (default true). */
  captions?: boolean;
  /**
   * In the first round and every this many rounds after, a cluster verification (default 3; 0: never): a sample of the items the head
   * predicts as one class — the largest group not checked lately — shown beside the class's typical labelled
   * examples; those the VLM finds not to be the class are tagged `vlm:not-CLASS` for a person to look at.
   */
  verifyEvery?: number;
}

const DEFAULTS = { batch: 8, everyLabels: 10, k: 8, captions: true, verifyEvery: 3 };
/** Verifications the pages are told of, newest first. */
const VERIFIED_SHOWN = 5;

/**
 * A vision-language model's second opinion, off the hot path: after every few labels, the head's hardest
 * unlabeled items (smallest margin between its two best classes) go to the VLM, few-shot with their nearest
 * labelled items, and the answers are stored as `vlm` labels (never over a person's) and caption drafts for
 * items without a caption. The labeling thread only picks the items (one pass over the head's scores) and
 * hears the outcome; the requests run concurrently in the client's queue. A round starts after the reply to
 * the label that called for it and that label's queue refill, never inside its round trip; the cache of
 * answers (and the cost shown in the state) stays open for the loop's life: opening and closing its SQLite
 * file several times a round held the labeling thread for tens of ms a round, and so do the prompt images
 * of earlier rounds (encoding them again was the largest part of its work on that thread; BENCHMARKS.md). The stored events reach every page
 * through the host's follower, like any other writer's; the examples each suggestion was made from are kept
 * here for the pages to show.
 */
export class VlmLoop {
  private readonly client: VlmClient | undefined;
  private readonly settings: typeof DEFAULTS;
  private stateNow: VlmStateView;
  private labelsSinceRound = 0;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  /** A round asked for by a label, to start once that label's work is done; resolves when it has started. */
  private pending: { timer: NodeJS.Immediate; started: Promise<void>; done: () => void } | undefined;
  /** The dataset's cache of answers and cost, opened on first use and kept open (closed with the loop). */
  private cacheHandle: VlmCache | undefined;
  /** Prompt images of earlier rounds: the same labelled neighbours are shown round after round. */
  private readonly promptImages = new PromptImageCache();
  /** Items asked about in this host's life (their answer is stored or cached): not asked again each round. */
  private readonly asked = new Set<number>();
  /** Items whose VLM label a person turned down: never asked again while the host runs. */
  private readonly rejected = new Set<number>();
  /** The demonstrations each stored suggestion was made from, for the pages. */
  private readonly examplesOf = new Map<number, number[]>();
  private counts = { asked: 0, stored: 0, failed: 0 };
  private rounds = 0;
  private verified: NonNullable<Extract<VlmStateView, { status: 'idle' | 'asking' }>['verified']> = [];
  /** Classes verified since every class with a group was last verified: the next check takes another. */
  private readonly checkedClasses = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly store: Store,
    private readonly learner: () => ActiveLearner | undefined,
    private readonly onState: (state: VlmStateView) => void,
    options: VlmLoopOptions | false = {},
  ) {
    this.settings = { ...DEFAULTS, ...(options || {}) };
    if (options === false) {
      this.stateNow = { status: 'off', reason: 'turned off for this session' };
    } else {
      try {
        this.client = options.client ?? createVlmClient(resolveVlmConfig({ root }));
      } catch (error) {
        this.stateNow = { status: 'off', reason: messageOf(error) };
      }
    }
    this.stateNow ??= this.describe('idle');
  }

  get state(): VlmStateView {
    return this.stateNow;
  }

  /** The items a stored suggestion for this item was made from (most similar last). */
  examples(itemId: number): readonly number[] | undefined {
    return this.examplesOf.get(itemId);
  }

  /** The events a host met: people's labels count towards the next round. */
  noticed(events: readonly StoredEvent[]): void {
    if (!this.client || this.closed) return;
    this.labelsSinceRound += events.filter((event) => event.kind === 'label' && event.source === 'human').length;
    if (this.labelsSinceRound < this.settings.everyLabels || this.pending || this.running) return;
    // After the label's round trip: the session re-ranks its queue one check phase after the write (an
    // immediate queued after this one), so the round starts in the check phase after that.
    let done!: () => void;
    const started = new Promise<void>((resolve) => (done = resolve));
    const timer = setImmediate(() => {
      if (this.pending?.timer !== timer) return;
      this.pending.timer = setImmediate(() => {
        this.pending = undefined;
        void this.start();
        done();
      });
    });
    this.pending = { timer, started, done };
  }

  /** The head has fresh scores: a round may start (the first one, or one that had nothing to ask). */
  scored(): void {
    if (this.client && !this.running && (this.counts.asked === 0 || this.labelsSinceRound >= this.settings.everyLabels)) this.start();
  }

  /** A person turned the item's VLM label down: it is not asked about again. */
  reject(itemId: number): void {
    this.rejected.add(itemId);
    this.examplesOf.delete(itemId);
  }

  /** Resolves when no round is running or about to start (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending || this.running) {
      if (this.pending) await this.pending.started;
      else await this.running;
    }
  }

  /** Starts a round unless one runs; returns it. */
  start(): Promise<void> {
    if (this.running || this.closed || !this.client) return this.running ?? Promise.resolve();
    this.labelsSinceRound = 0;
    this.running = this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    const learner = this.learner();
    const client = this.client!;
    const ids = learner ? hardest(learner, this.settings.batch, (id) => this.asked.has(id) || this.rejected.has(id)) : [];
    // The first round verifies too: a person sees the check's result early, then every few rounds.
    const verifying = this.settings.verifyEvery > 0 && this.rounds % this.settings.verifyEvery === 0;
    if (!learner || (ids.length === 0 && !verifying)) return;
    this.rounds++;
    for (const id of ids) this.asked.add(id);
    this.setState(this.describe('asking'));
    const dataset = { root: this.root, store: this.store };
    try {
      const bank = DemonstrationBank.fromLearner(this.store, learner!);
      const common = { client, k: this.settings.k, bank, signal: this.abort.signal, vlmCache: this.cache, promptImages: this.promptImages };
      const report = ids.length > 0 ? await suggestWithVlm(dataset, { ...common, items: ids, limit: ids.length }) : { items: [] };
      for (const outcome of report.items) {
        if (outcome.stored) this.examplesOf.set(outcome.id, outcome.examples);
        if (outcome.status === 'failed') this.counts.failed++;
        else if (outcome.status !== 'skipped') this.counts.asked++;
        if (outcome.stored) this.counts.stored++;
      }
      if (this.settings.captions && !this.closed) {
        const uncaptioned = ids.filter((id) => this.store.item(id).captions.length === 0);
        if (uncaptioned.length > 0) await draftCaptions(dataset, { ...common, items: uncaptioned, limit: uncaptioned.length });
      }
      if (verifying && !this.closed) await this.verifyOne(learner!, common);
      if (!this.closed) this.setState(this.describe('idle'));
    } catch (error) {
      if (!this.closed) this.setState({ ...this.describe('idle'), lastError: messageOf(error) });
    }
  }

  /** A cluster verification of the largest predicted group not checked lately (see {@link VlmLoopOptions.verifyEvery}). */
  private async verifyOne(learner: ActiveLearner, common: Omit<VerifyOptions, 'label'>): Promise<void> {
    const groups = [...predictedGroups(learner)].filter(([, ids]) => ids.length > 0).sort((a, b) => b[1].length - a[1].length);
    if (groups.every(([label]) => this.checkedClasses.has(label))) this.checkedClasses.clear();
    const next = groups.find(([label]) => !this.checkedClasses.has(label));
    if (!next) return;
    const [label, group] = next;
    this.checkedClasses.add(label);
    try {
      const report = await verifyClusterWithVlm({ root: this.root, store: this.store }, { ...common, label, group });
      this.verified = [{ label, sampled: report.sampled.length, outliers: report.outliers.length, tag: report.tag }, ...this.verified.filter((v) => v.label !== label)].slice(0, VERIFIED_SHOWN);
    } catch (error) {
      // A class without a person's example cannot be checked: the next round tries another.
      if (!(error instanceof InvalidArgumentError)) throw error;
    }
  }

  private describe(status: 'idle' | 'asking'): Extract<VlmStateView, { status: 'idle' | 'asking' }> {
    let cost;
    try {
      cost = this.cache.stats();
    } catch {
      cost = undefined;
    }
    return {
      status,
      model: this.client!.config.model,
      ...this.counts,
      ...(this.verified.length > 0 ? { verified: this.verified } : {}),
      ...(cost ? { cost: { requests: cost.requests, images: cost.images, promptTokens: cost.promptTokens, completionTokens: cost.completionTokens, seconds: cost.seconds, cacheHits: cost.cacheHits } } : {}),
    };
  }

  private get cache(): VlmCache {
    this.cacheHandle ??= VlmCache.open(vlmCachePath(this.store.file));
    return this.cacheHandle;
  }

  private setState(state: VlmStateView): void {
    this.stateNow = state;
    if (!this.closed) this.onState(state);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pending) {
      clearImmediate(this.pending.timer);
      this.pending.done();
      this.pending = undefined;
    }
    this.abort.abort(new Error('the session host closed'));
    this.client?.close();
    await this.running?.catch(() => undefined);
    this.cacheHandle?.close();
  }
}

/**
 * The `limit` unlabeled items the head is least sure of, by the smallest gap between its two most likely
 * classes in the last full scoring: one pass over the scores, no allocation per item.
 */
export function hardest(learner: ActiveLearner, limit: number, skip: (id: number) => boolean): number[] {
  const scores = learner.probabilities;
  const { ids } = learner.matrix;
  if (!scores || ids.length === 0 || limit <= 0) return [];
  const classes = scores.length / ids.length;
  if (classes < 2) return [];
  const best: { id: number; margin: number }[] = [];
  for (let row = 0; row < ids.length; row++) {
    const id = ids[row]!;
    if (learner.labelOf(id) !== undefined || skip(id)) continue;
    let first = -1;
    let second = -1;
    for (let c = row * classes, end = c + classes; c < end; c++) {
      const p = scores[c]!;
      if (p > first) {
        second = first;
        first = p;
      } else if (p > second) second = p;
    }
    const margin = first - second;
    if (best.length === limit && margin >= best[limit - 1]!.margin) continue;
    let at = best.length;
    while (at > 0 && best[at - 1]!.margin > margin) at--;
    best.splice(at, 0, { id, margin });
    if (best.length > limit) best.pop();
  }
  return best.map((hit) => hit.id);
}

/** The unlabeled items by the class the head's last full scoring gives them: one pass over the scores. */
export function predictedGroups(learner: ActiveLearner): Map<string, number[]> {
  const scores = learner.probabilities;
  const { ids } = learner.matrix;
  const groups = new Map<string, number[]>();
  if (!scores || ids.length === 0) return groups;
  const classes = scores.length / ids.length;
  // Classes are only ever appended: the scores' columns are the head's first classes.
  const names = learner.head.classes.slice(0, classes);
  for (let row = 0; row < ids.length; row++) {
    const id = ids[row]!;
    if (learner.labelOf(id) !== undefined) continue;
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[row * classes + c]! > scores[row * classes + best]!) best = c;
    const name = names[best];
    if (name === undefined) continue;
    const group = groups.get(name) ?? [];
    group.push(id);
    groups.set(name, group);
  }
  return groups;
}
