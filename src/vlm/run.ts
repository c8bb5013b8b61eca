import { messageOf } from '../errors';
import { planDigest, materialize, type PromptPlan } from './prompt';
import type { PromptImages } from './prompt-images';
import type { VlmClient, VlmFailure } from './types';
import { emptyCost, type CachedAnswer, type VlmCache, type VlmCost } from './vlm-cache';

/** How one item of a run ended. */
export type ItemStatus = 'ok' | 'failed' | 'unknown_class' | 'new_class' | 'skipped';

export interface ItemOutcome {
  id: number;
  status: ItemStatus;
  /** For `failed`: why the request failed, when it was the request (else the reason says what). */
  failure?: VlmFailure;
  /** What went wrong or why nothing was stored, in words. */
  reason?: string;
  /** The answer came from the cache: nothing was asked. */
  cached: boolean;
  /** An event was written for the item. */
  stored: boolean;
  /** The items shown as demonstrations, in prompt order. */
  examples: number[];
  /** From the answer's log-probabilities, where the server gave them. */
  confidence: number | null;
}

/** What a run did, item by item, and what it cost. */
export interface RunReport<Outcome extends ItemOutcome> {
  model: string;
  items: Outcome[];
  counts: Record<ItemStatus, number>;
  /** Items an event was written for. */
  stored: number;
  cost: VlmCost;
  seconds: number;
  /** Per answered request (cache hits not counted), ms. */
  latency: { p50: number; p99: number } | null;
  /** Requests answered per second of the run. */
  requestsPerSecond: number;
}

/** Progress of a run: items done (each with its outcome) of the total. */
export interface RunProgress<Outcome extends ItemOutcome = ItemOutcome> {
  done: number;
  total: number;
  item: Outcome;
}

/** What every request of a run shares: the client, the cache, the images and the tally of the cost. */
export class VlmRun {
  readonly cost = emptyCost();
  private readonly latencies: number[] = [];
  private readonly started = performance.now();

  constructor(
    readonly client: VlmClient,
    readonly images: PromptImages,
    /** Answers and the running cost are kept here; off only when the file cannot be used. */
    readonly cache: VlmCache | undefined,
    readonly signal: AbortSignal | undefined,
    /** Answers are read from the cache (false: asked again, and the new answer kept). */
    private readonly reuseAnswers = true,
  ) {}

  get model(): string {
    return this.client.config.model;
  }

  /** The answer to a prompt: from the cache when this model answered the same prompt before, else asked. */
  async ask(plan: PromptPlan<string>): Promise<{ answer: CachedAnswer; cached: boolean }> {
    const { maxImageSide, layout } = this.client.config;
    const digest = planDigest(plan, { maxImageSide, layout });
    const hit = this.reuseAnswers ? this.cache?.get(this.model, digest) : undefined;
    if (hit) {
      this.cost.cacheHits++;
      return { answer: hit, cached: true };
    }
    const request = await materialize(plan, this.images.load);
    try {
      const answer = await this.client.complete(request, { signal: this.signal });
      this.cost.requests++;
      this.cost.images += request.examples.length + request.images.length;
      this.cost.promptTokens += answer.usage?.promptTokens ?? 0;
      this.cost.completionTokens += answer.usage?.completionTokens ?? 0;
      this.cost.seconds += answer.ms / 1000;
      this.latencies.push(answer.ms);
      this.cache?.put(this.model, digest, answer);
      return { answer, cached: false };
    } catch (error) {
      if (failureOf(error).failure !== 'cancelled') this.cost.failures++;
      throw error;
    }
  }

  /** Calls `work` for every item, as many at once as the client sends; stops starting new ones once cancelled. */
  async forEach<T, Outcome extends ItemOutcome>(items: readonly T[], work: (item: T) => Promise<Outcome>, cancelled: (item: T) => Outcome, onDone: (outcome: Outcome, index: number) => void): Promise<Outcome[]> {
    const outcomes: Outcome[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const index = next++;
        const item = items[index]!;
        outcomes[index] = this.signal?.aborted ? cancelled(item) : await work(item);
        onDone(outcomes[index]!, index);
      }
    };
    const lanes = Math.max(1, Math.min(this.client.config.concurrency, items.length));
    await Promise.all(Array.from({ length: lanes }, worker));
    return outcomes;
  }

  report<Outcome extends ItemOutcome>(items: Outcome[]): RunReport<Outcome> {
    const counts: Record<ItemStatus, number> = { ok: 0, failed: 0, unknown_class: 0, new_class: 0, skipped: 0 };
    for (const item of items) counts[item.status]++;
    const seconds = (performance.now() - this.started) / 1000;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return {
      model: this.model,
      items,
      counts,
      stored: items.filter((item) => item.stored).length,
      cost: { ...this.cost },
      seconds,
      latency: sorted.length ? { p50: at(0.5), p99: at(0.99) } : null,
      requestsPerSecond: seconds > 0 ? this.cost.requests / seconds : 0,
    };
  }

  /** Adds the run's cost to the dataset's running total. */
  keepCost(): void {
    this.cache?.addCost(this.model, this.cost);
  }
}

const FAILURES: readonly VlmFailure[] = ['timeout', 'rate_limited', 'server_error', 'connection', 'bad_answer', 'refused', 'cancelled'];

/** The VlmFailure of a client's error (a VlmError carries one; an abort is `cancelled`), and its message. */
export function failureOf(error: unknown): { failure?: VlmFailure; reason: string } {
  const failure = (error as { failure?: unknown } | null)?.failure;
  if (FAILURES.includes(failure as VlmFailure)) return { failure: failure as VlmFailure, reason: messageOf(error) };
  if ((error as { name?: unknown } | null)?.name === 'AbortError') return { failure: 'cancelled', reason: 'cancelled' };
  return { reason: messageOf(error) };
}

/** The outcome of an item whose request or image failed: the run goes on with the others. */
export function failedOutcome(id: number, error: unknown, examples: number[] = []): ItemOutcome {
  return { id, status: 'failed', ...failureOf(error), cached: false, stored: false, examples, confidence: null };
}

/** The outcome of an item not asked about because the run was cancelled first. */
export function cancelledOutcome(id: number): ItemOutcome {
  return { id, status: 'failed', failure: 'cancelled', reason: 'cancelled before it was asked', cached: false, stored: false, examples: [], confidence: null };
}
