import { ActiveLearner, centeringAndNormalizing, checkShape, getRanker, OnnxScorer, type EmbeddingMatrix, type RankerName } from '../learn';
import type { ItemWithState, StoreReader } from '../store';
import { openRowIndex } from '../vectors';

export interface LearningLoopOptions {
  ranker?: RankerName;
  /** Milliseconds between background re-scores of every item (they follow labels, coalesced). */
  rescoreDelayMs?: number;
  /** Refit the head from scratch after this many new labels (in the background, beside the weights in use). */
  refitEvery?: number;
  /**
   * Milliseconds of the learner's start-up (centring the rows, learning the stored labels, the full fit) done
   * at once, in the constructor; the rest runs in slices between requests, and {@link LearningLoop.ready} says when it is
   * done. Default 500: a small dataset's first page already has suggestions, a large one's server listens.
   */
  warmUpBudgetMs?: number;
}

/** Longest stretch of start-up training between two looks at the event loop. */
const WARM_UP_SLICE_MS = 15;
/**
 * Above this many items the neighbour search stays the learner's (sampled) scan instead of an HNSW graph:
 * the graph is built on this thread, in slices beside the keypresses, and its cost grows with the rows —
 * 273 CPU-s to build and 992 MB saved at 100k × 1280-d (BENCHMARKS.md, vectors and the learner's neighbour
 * index) — so at 1M it would be about ten times that. A build in a worker thread would lift this.
 */
const MAX_GRAPH_ROWS = 250_000;

/**
 * The one learner of a dataset's sessions, kept in line with the store: it starts by centring the rows and
 * learning the stored labels (in slices of the event loop on large datasets, so the server answers meanwhile), learns every
 * change its host syncs, refits now and then, and re-scores every item in the background (in the ONNX
 * worker once it has loaded). Its learner keeps the host's set of handed-out items, the one record of them:
 * what it picks is added, what is labeled, skipped or deleted leaves, and what was handed out before it was
 * ready is never picked.
 */
export class LearningLoop {
  /** Resolves when the learner has learned every label the store held at start (at once on small datasets). */
  readonly ready: Promise<void>;
  readonly curve: { labels: number; accuracy: number }[] = [];
  private trained: ActiveLearner | undefined;
  /** The ranker asked for, kept here too: the learner is made during the start-up, after the rows are centred. */
  private ranker: RankerName;
  /** Items synced while the learner was still starting: it learns their state as it is when it is ready. */
  private syncedWhileWarming: Map<number, ItemWithState> | undefined;
  private rescoreTimer: NodeJS.Timeout | undefined;
  private rescoring: Promise<void> | undefined;
  private rescoreAgain = false;
  private scorer: OnnxScorer | undefined;
  private readonly rescoreDelayMs: number;
  private readonly refitEvery: number;
  private sinceRefit = 0;
  /** The refit running in the background, if one is. */
  private refit: Promise<void> | undefined;
  /** The refit's steps, so close() can end it (its generator then lets go of the head). */
  private refitSteps: Generator<void, boolean> | undefined;
  private closed = false;
  /** Stops a graph build still running when the loop closes. */
  private readonly closing = new AbortController();

  constructor(
    embeddings: EmbeddingMatrix,
    store: StoreReader,
    handedOut: Set<number>,
    /** Called once the learner is ready, when start-up ran in the background (the pages get suggestions then). */
    onReadyLater: () => void,
    options: LearningLoopOptions = {},
  ) {
    this.rescoreDelayMs = options.rescoreDelayMs ?? 250;
    this.refitEvery = options.refitEvery ?? 200;
    this.ranker = options.ranker ?? 'hybrid';
    getRanker(this.ranker); // validates now, not in the background
    checkShape(embeddings);
    this.ready = this.warmUp(embeddings, store, handedOut, options.warmUpBudgetMs ?? 500, onReadyLater);
    // The SIMD scorer loads in the background; until then re-scores run in JavaScript.
    OnnxScorer.create().then(
      (scorer) => {
        if (this.closed) void scorer.close();
        else this.scorer = scorer;
      },
      () => undefined,
    );
  }

  /** The learner, once it has learned the stored labels (until then: items in order, no suggestions). */
  get learner(): ActiveLearner | undefined {
    return this.trained;
  }

  get rankerName(): RankerName {
    return this.ranker;
  }

  setRanker(name: string): void {
    this.ranker = getRanker(name).name; // validates, with the list of names in the error
    this.trained?.setRanker(name);
  }

  /** Brings the learner in line with these items as they are now (after labels, undo, redo, other users). */
  sync(items: readonly ItemWithState[]): void {
    if (this.syncedWhileWarming) {
      for (const item of items) this.syncedWhileWarming.set(item.id, item);
      return;
    }
    const learner = this.trained;
    if (!learner) return;
    let learned = 0;
    for (const item of items) if (learner.has(item.id)) learned += this.syncItem(learner, item);
    if (learned > 0) {
      this.sinceRefit += learned;
      if (this.sinceRefit >= this.refitEvery && !this.refit) {
        this.sinceRefit = 0;
        this.refit = this.refitInSlices(learner);
      }
      const accuracy = learner.head.heldOutAccuracy();
      if (accuracy !== undefined && learner.labeledCount % 10 === 0) this.curve.push({ labels: learner.labeledCount, accuracy });
    }
    this.scheduleRescore();
  }

  /**
   * Brings the learner up: the rows centred, every stored label learned one by one, the deleted items
   * excluded, a full fit and a re-score — on a fully labeled dataset of 600 crops in 80 classes, tens of
   * seconds of CPU; at 1M rows the centring alone is seconds. The first `budgetMs` run at once; the rest in
   * slices of the event loop, so the server answers meanwhile (pages get items in order, without
   * suggestions, until it is ready, then the items they hold again with them).
   */
  private async warmUp(
    embeddings: EmbeddingMatrix,
    store: StoreReader,
    handedOut: Set<number>,
    budgetMs: number,
    onReadyLater: () => void,
  ): Promise<void> {
    this.syncedWhileWarming = new Map();
    // Read now, in one go (a statement left open across the slices would hold the store's connection), and
    // only what is not a plain candidate: a new learner holds every row as one already.
    const stored: ItemWithState[] = [];
    const deleted: number[] = [];
    for (const item of store.iterateSettledItems()) {
      if (item.deleted) deleted.push(item.id);
      else stored.push(item);
    }
    const steps = this.training(embeddings, handedOut, stored, deleted);
    let sliceEnd = performance.now() + budgetMs;
    let inBackground = false;
    while (!this.closed) {
      if (performance.now() >= sliceEnd) {
        inBackground = true;
        await new Promise((resolve) => setImmediate(resolve));
        sliceEnd = performance.now() + WARM_UP_SLICE_MS;
        continue;
      }
      const step = steps.next();
      if (!step.done) continue;
      const learner = step.value;
      // In the background the first re-score goes to the SIMD worker when it has loaded (at 1M rows the
      // JavaScript pass would hold this thread for a second); at once, in JavaScript, so the first page has
      // suggestions.
      if (inBackground && this.scorer) {
        // Kept as the re-score in flight: close() must wait for it before it closes the worker.
        this.rescoring = learner.rescoreWith(this.scorer).catch(() => learner.rescore());
        await this.rescoring;
        this.rescoring = undefined;
      } else {
        learner.rescore();
      }
      if (this.closed) return;
      this.trained = learner;
      const synced = this.syncedWhileWarming;
      this.syncedWhileWarming = undefined;
      if (synced.size > 0) this.sync([...synced.values()]);
      if (inBackground) onReadyLater();
      return;
    }
  }

  /** The start-up work, one small piece per iteration: exactly what a start at once does, in the same order. */
  private *training(embeddings: EmbeddingMatrix, handedOut: Set<number>, stored: ItemWithState[], deleted: number[]): Generator<void, ActiveLearner> {
    const rows = yield* centeringAndNormalizing(embeddings);
    const neighborIndex = rows.ids.length <= MAX_GRAPH_ROWS ? (unit: EmbeddingMatrix) => openRowIndex(unit, { signal: this.closing.signal }) : undefined;
    const learner = new ActiveLearner(rows, { ranker: this.ranker, neighborIndex, handedOut, unitRows: true });
    for (const item of stored) {
      if (learner.has(item.id)) this.syncItem(learner, item);
      yield;
    }
    for (const id of deleted) if (learner.has(id)) learner.setShown(id, 'excluded');
    yield* learner.head.fitting();
    return learner;
  }

  /**
   * A full refit of the head (tens of seconds with many classes and labels) in slices of the event loop,
   * fitted beside the weights in use so labeling goes on; then a re-score with the new weights. Tried again
   * if a label was forgotten meanwhile.
   */
  private async refitInSlices(learner: ActiveLearner): Promise<void> {
    try {
      for (let attempt = 0; attempt < 3 && !this.closed; attempt++) {
        const steps = learner.head.refitting();
        this.refitSteps = steps;
        let installed: boolean | undefined;
        while (installed === undefined && !this.closed) {
          // Each slice after a turn of the event loop: the label that started the refit is answered first.
          await new Promise((resolve) => setImmediate(resolve));
          const sliceEnd = performance.now() + WARM_UP_SLICE_MS;
          while (performance.now() < sliceEnd && !this.closed) {
            const step = steps.next();
            if (step.done) {
              installed = step.value;
              break;
            }
          }
        }
        if (installed) {
          this.scheduleRescore();
          return;
        }
      }
    } finally {
      this.refitSteps?.return(false);
      this.refitSteps = undefined;
      this.refit = undefined;
    }
  }

  /** Returns 1 when the head learned a new label. */
  private syncItem(learner: ActiveLearner, item: ItemWithState): number {
    const humanLabel = item.labelSource === 'human' ? item.label : null;
    const known = learner.labelOf(item.id);
    if (humanLabel && known !== humanLabel) {
      learner.learn(item.id, humanLabel);
      return 1;
    }
    if (!humanLabel && known) learner.forget(item.id);
    if (!humanLabel) {
      learner.setShown(item.id, item.deleted ? 'excluded' : item.dontKnow ? 'dont-know' : item.skipped ? 'skipped' : 'candidate');
    }
    return 0;
  }

  /** Coalesces re-scores: at most one runs, and one more follows if labels arrived meanwhile. */
  private scheduleRescore(): void {
    const learner = this.trained;
    if (!learner || this.closed) return;
    if (this.rescoring) {
      this.rescoreAgain = true;
      return;
    }
    if (this.rescoreTimer) return;
    this.rescoreTimer = setTimeout(() => {
      this.rescoreTimer = undefined;
      this.rescoring = (this.scorer ? learner.rescoreWith(this.scorer) : Promise.resolve(learner.rescore()))
        .catch(() => learner.rescore())
        .finally(() => {
          this.rescoring = undefined;
          if (this.rescoreAgain) {
            this.rescoreAgain = false;
            this.scheduleRescore();
          }
        });
    }, this.rescoreDelayMs);
    this.rescoreTimer.unref?.();
  }

  /** Resolves when no re-score is pending (tests, benchmarks, shutdown). */
  async settled(): Promise<void> {
    while (this.refit || this.rescoreTimer || this.rescoring) {
      if (this.refit) await this.refit;
      else if (this.rescoring) await this.rescoring;
      else await new Promise((resolve) => setTimeout(resolve, this.rescoreDelayMs));
    }
  }

  /**
   * Stops re-scoring and closes the scorer's worker once a re-score in flight has finished: a worker thread
   * torn down in the middle of an onnxruntime run aborts the whole process. Resolves when it is closed.
   */
  close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    this.refitSteps?.return(false);
    if (this.rescoreTimer) clearTimeout(this.rescoreTimer);
    this.rescoreTimer = undefined;
    const scorer = this.scorer;
    this.scorer = undefined;
    if (!scorer) return Promise.resolve();
    return Promise.resolve(this.rescoring)
      .catch(() => undefined)
      .then(() => scorer.close());
  }
}
