import { InvalidArgumentError } from '../errors';
import { centerAndNormalizeRows, type EmbeddingMatrix } from './embedding-matrix';
import { ActiveLearner } from './learner';
import { getRanker, type RankerName } from './rankers';
import { SpanBasis } from './span-basis';

/** Seconds a person spends per action; the defaults are the roadmap's. */
export interface TimeModel {
  /** One at a time: confirming the suggestion with one key. */
  confirm: number;
  /** One at a time: choosing another class (or any class with no suggestion shown). */
  choose: number;
  /** Grid: looking at one item of a page. */
  look: number;
  /** Grid: correcting one item of a page. */
  correct: number;
}

export const DEFAULT_TIME_MODEL: TimeModel = { confirm: 0.6, choose: 2.5, look: 0.3, correct: 1.5 };

export interface SimulationOptions {
  ranker: RankerName;
  /** `one`: one item at a time; `grid`: pages verified at a glance. */
  mode: 'one' | 'grid';
  /** Show the head's suggestion (without it every label costs `choose`). */
  suggestions?: boolean;
  time?: TimeModel;
  pageSize?: number;
  /** Stop after this many labels (default: the whole pool). */
  budget?: number;
  /** Label counts at which to measure the head's accuracy on `test`. */
  checkpoints?: number[];
  /** A held-out set for the learning curve. */
  test?: { matrix: EmbeddingMatrix; truth: (id: number) => string };
  /** Re-score every item after this many labels (the background re-score of the session). */
  rescoreEvery?: number;
  /** Full refit of the head after this many labels. */
  refitEvery?: number;
  seed?: number;
}

export interface CurvePoint {
  labels: number;
  accuracy: number;
  humanSeconds: number;
}

export interface SimulationResult {
  ranker: RankerName;
  mode: 'one' | 'grid';
  suggestions: boolean;
  labels: number;
  humanSeconds: number;
  secondsPerLabel: number;
  /** Share of labels where the suggestion shown was right. */
  acceptedRate: number;
  curve: CurvePoint[];
}

/**
 * Runs an oracle labeler over a pool whose true labels are known, with an explicit time model: how many
 * human-seconds it takes to label everything correctly with a given ranker, one at a time or in the grid,
 * and the head's learning curve on a held-out set.
 *
 * @example
 * const result = simulate(pool, (id) => truth.get(id)!, { ranker: 'chain', mode: 'grid' });
 */
export function simulate(pool: EmbeddingMatrix, truth: (id: number) => string, options: SimulationOptions): SimulationResult {
  const time = options.time ?? DEFAULT_TIME_MODEL;
  const suggestions = options.suggestions ?? true;
  const pageSize = options.pageSize ?? 24;
  const budget = Math.min(options.budget ?? pool.ids.length, pool.ids.length);
  const rescoreEvery = options.rescoreEvery ?? 1;
  const refitEvery = options.refitEvery ?? 500;
  if (budget <= 0) throw new InvalidArgumentError('the pool is empty: nothing to simulate');
  const checkpoints = [...(options.checkpoints ?? [])].sort((a, b) => a - b);
  // Random order, diversity and k-NN never read the scores, and the suggestions shown come from the head
  // itself: re-scoring every item for them would be work whose result nobody reads.
  const readsScores = getRanker(options.ranker).readsScores;
  // Without suggestions, a learning curve or a ranker that reads scores, nothing reads the head: it still
  // records each label (classes, for the votes) but takes no gradient steps and no refits.
  const readsHead = suggestions || options.test !== undefined || readsScores;

  const prepared = preparedPool(pool);
  const learnerOptions = { ranker: options.ranker, seed: options.seed, head: readsHead ? undefined : { onlineSteps: 0 } };
  const learner = prepared.basis ? new ActiveLearner(prepared.basis.coordinates, { ...learnerOptions, center: false }) : new ActiveLearner(pool, learnerOptions);
  const test = options.test ? prepared.test(options.test.matrix) : undefined;
  const result: SimulationResult = {
    ranker: options.ranker, mode: options.mode, suggestions, labels: 0, humanSeconds: 0, secondsPerLabel: 0, acceptedRate: 0, curve: [],
  };
  let accepted = 0;
  let sinceRescore = 0;
  let sinceRefit = 0;

  const afterLabels = (count: number) => {
    sinceRescore += count;
    sinceRefit += count;
    if (sinceRefit >= refitEvery) {
      if (readsHead) learner.head.fit();
      sinceRefit = 0;
      sinceRescore = rescoreEvery;
    }
    if (sinceRescore >= rescoreEvery) {
      if (readsScores) learner.rescore();
      sinceRescore = 0;
    }
    while (checkpoints.length && result.labels >= checkpoints[0]!) {
      checkpoints.shift();
      result.curve.push({ labels: result.labels, accuracy: test ? accuracyOn(learner, test, options.test!.truth) : NaN, humanSeconds: result.humanSeconds });
    }
  };

  while (result.labels < budget) {
    if (options.mode === 'one') {
      const [next] = learner.next(1);
      if (!next) break;
      const label = truth(next.id);
      const shown = suggestions ? learner.suggest(next.id) : undefined;
      const right = shown?.label === label;
      result.humanSeconds += right ? time.confirm : time.choose;
      if (right) accepted++;
      learner.learn(next.id, label);
      result.labels++;
      afterLabels(1);
    } else {
      const size = Math.min(pageSize, budget - result.labels);
      // The chain in the grid shows pages of one class; other rankers show their next items with each one's suggestion.
      let page = options.ranker === 'chain' || options.ranker === 'hybrid' ? learner.page(size) : undefined;
      if (page && page.items.length < Math.min(4, size)) {
        for (const { id } of page.items) learner.release(id);
        page = undefined;
      }
      const items = page?.items.length ? page.items : learner.next(size);
      if (items.length === 0) break;
      for (const { id } of items) {
        const label = truth(id);
        const shown = suggestions ? (page?.items.length ? page.label : learner.suggest(id)?.label) : undefined;
        const right = shown === label;
        result.humanSeconds += time.look + (right ? 0 : time.correct);
        if (right) accepted++;
      }
      // The page is accepted at once; then the head learns from all of it.
      for (const { id } of items) learner.learn(id, truth(id));
      result.labels += items.length;
      afterLabels(items.length);
    }
  }
  result.secondsPerLabel = result.humanSeconds / Math.max(1, result.labels);
  result.acceptedRate = accepted / Math.max(1, result.labels);
  return result;
}

interface PreparedPool {
  /** The centred pool in the basis of its own span, when that has fewer dimensions (see {@link SpanBasis}). */
  basis: SpanBasis | undefined;
  /** A held-out set as the head of a run on this pool reads it: centred and normalised, then projected. */
  test(matrix: EmbeddingMatrix): EmbeddingMatrix;
}

/** Made once per pool (and held-out set) and reused by every run on it: a comparison of rankers is many runs. */
const preparedPools = new WeakMap<EmbeddingMatrix, PreparedPool>();

function preparedPool(pool: EmbeddingMatrix): PreparedPool {
  let prepared = preparedPools.get(pool);
  if (!prepared) {
    // The learner would centre and normalise the pool the same way; its basis is of those rows.
    const basis = SpanBasis.of(centerAndNormalizeRows(pool));
    const tests = new WeakMap<EmbeddingMatrix, EmbeddingMatrix>();
    prepared = {
      basis,
      test: (matrix) => {
        let projected = tests.get(matrix);
        if (!projected) {
          const centred = centerAndNormalizeRows(matrix);
          projected = basis ? basis.project(centred) : centred;
          tests.set(matrix, projected);
        }
        return projected;
      },
    };
    preparedPools.set(pool, prepared);
  }
  return prepared;
}

function accuracyOn(learner: ActiveLearner, test: EmbeddingMatrix, truth: (id: number) => string): number {
  let right = 0;
  for (let row = 0; row < test.ids.length; row++) {
    const suggestion = learner.head.suggest(test.vectors.subarray(row * test.dim, (row + 1) * test.dim));
    if (suggestion?.label === truth(test.ids[row]!)) right++;
  }
  return right / test.ids.length;
}
