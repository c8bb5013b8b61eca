import { InvalidArgumentError, NotFoundError } from '../errors';
import { EXACT_ROWS, ExactRowIndex, type RowIndex } from '../vectors';
import { centerAndNormalizeRows, normalizeRows, rowIndex, rowOf, dot, type EmbeddingMatrix } from './embedding-matrix';
import { getRanker, nextPageClass, pageFor, type Pick, type RankContext, type Ranker, type RankerName } from './rankers';
import type { OnnxScorer } from './onnx-scorer';
import { defaultRankKeys, rankedList, type RankKey } from './ranked-lists';
import { scoreAll } from './scorer';
import { mulberry32 } from '../random';
import { SoftmaxHead, suggestionFrom, type HeadOptions, type Suggestion } from './softmax-head';

export interface LearnerOptions {
  ranker?: RankerName;
  head?: HeadOptions;
  /**
   * Builds the neighbour index over the learner's unit rows (centred first: the index must see the vectors the
   * learner scores). Default: the exact scan, deterministic for a seed (the simulator's results depend on it).
   * `openRowIndex` from src/vectors gives an HNSW graph on many rows. While the index is not `indexed`,
   * searches over many rows (k-NN votes, the chain's cold start) look at a strided sample of rows.
   */
  neighborIndex?: (rows: EmbeddingMatrix) => RowIndex;
  /**
   * The items handed out to someone and not acted on yet, by id: never picked again until deleted from it.
   * The learner adds what it picks and deletes what it learns or sets aside; a caller that hands items out
   * itself too (a session host before its learner is ready) passes its own set, the one record of both.
   * Default: a set of the learner's own.
   */
  handedOut?: Set<number>;
  /** Neighbours each label votes for (k-NN propagation). */
  voteNeighbors?: number;
  seed?: number;
  /** Subtract the mean embedding before normalising (default true; see {@link centerAndNormalizeRows}). */
  center?: boolean;
  /**
   * The rows given are the learner's own already, centred and normalised by `centeringAndNormalizing`
   * (which a caller can run in slices): used as they are, not copied. `center` is then not read.
   */
  unitRows?: boolean;
}

/** From this many rows on, diversity and its coverage work on a fixed random sample of this many rows. */
export const COVERAGE_SAMPLE = 8192;
/**
 * From this many rows on, the exact neighbour scan for k-NN votes looks at a strided sample of about this many:
 * where openRowIndex switches to a graph, which needs no sample.
 */
const VOTE_SAMPLE = EXACT_ROWS;

const enum RowState {
  Candidate = 0,
  Labeled = 1,
  Skipped = 2,
  DontKnow = 3,
  Excluded = 4,
}

/**
 * The learning loop over one dataset's embeddings: the head, its scores for every item, the label votes and
 * coverage the rankers read, and which items are still to be shown. Transport- and store-agnostic: the
 * session drives it from the store's events, the simulator from an oracle.
 *
 * @example
 * const learner = new ActiveLearner(embeddings, { ranker: 'chain' });
 * learner.learn(id, 'cat');
 * const [next] = learner.next(1);
 */
export class ActiveLearner {
  readonly matrix: EmbeddingMatrix;
  readonly head: SoftmaxHead;
  probabilities: Float32Array | undefined;
  private ranker: Ranker;
  private readonly rows: Map<number, number>;
  private readonly state: Uint8Array;
  private readonly labels = new Map<number, string>();
  private readonly handedOut: Set<number>;
  private readonly coverageValues: Float32Array;
  /** For each coverage row, the labeled row nearest to it (-1: none), so an undo recomputes only the rows it moves. */
  private readonly coverageFrom: Int32Array;
  /** The rows coverage is kept for on large sets (undefined: all). */
  private readonly coverageRows: Int32Array | undefined;
  private pendingCoverage: number[] = [];
  /** Labeled rows forgotten since coverage was last brought up to date. */
  private uncovered = new Set<number>();
  /** Ranked lists for the current probabilities (see ranked-lists.ts), built on first use or by the scorer. */
  private ranked = new Map<RankKey, Int32Array>();
  /**
   * Rows that became candidates again (undo, un-skip) since the current probabilities were computed: lists
   * built before may miss them, so the rankers merge them in (see rankers.ts, topByKey) instead of rebuilding
   * a list of a million rows on the thread that answers keypresses.
   */
  private revived: number[] = [];
  private readonly votes = new Map<number, Float32Array>();
  /** Labeled rows whose votes are not cast yet: a neighbour search each, done only when a ranker reads votes. */
  private pendingVotes: number[] = [];
  private readonly voteLog = new Map<number, { row: number; weight: number; label: string }[]>();
  private lastLabeled: { row: number; label: string } | undefined;
  private readonly neighbors: RowIndex;
  private readonly voteNeighbors: number;
  private readonly random: () => number;
  /** The head's class list when the probabilities were computed (classes can be added since). */
  private scoredClasses: readonly string[] = [];

  constructor(embeddings: EmbeddingMatrix, options: LearnerOptions = {}) {
    this.matrix = options.unitRows ? embeddings : options.center === false ? normalizeRows(embeddings) : centerAndNormalizeRows(embeddings);
    this.rows = rowIndex(this.matrix);
    const rows = this.matrix.ids.length;
    // Shared memory: the scorer's worker reads which rows are candidates when it builds the ranked lists.
    this.state = new Uint8Array(new SharedArrayBuffer(rows));
    this.coverageValues = new Float32Array(rows).fill(Infinity);
    this.coverageFrom = new Int32Array(rows).fill(-1);
    this.coverageRows = rows > COVERAGE_SAMPLE ? sampleRows(rows, COVERAGE_SAMPLE, mulberry32((options.seed ?? 7) ^ 0x5eed)) : undefined;
    this.head = new SoftmaxHead(this.matrix.dim, { seed: options.seed, ...options.head });
    this.ranker = getRanker(options.ranker ?? 'hybrid');
    this.random = mulberry32(options.seed ?? 7);
    this.neighbors = options.neighborIndex ? options.neighborIndex(this.matrix) : new ExactRowIndex(this.matrix);
    this.voteNeighbors = options.voteNeighbors ?? 10;
    this.handedOut = options.handedOut ?? new Set();
  }

  /** Each item's row in {@link matrix}, by id (read-only: the learner's own index, not a copy). */
  get rowsById(): ReadonlyMap<number, number> {
    return this.rows;
  }

  get rankerName(): RankerName {
    return this.ranker.name;
  }

  setRanker(name: string): void {
    this.ranker = getRanker(name);
  }

  /** Number of items still to be shown. */
  get remaining(): number {
    let n = 0;
    for (let row = 0; row < this.state.length; row++) if (this.state[row] === RowState.Candidate) n++;
    return n;
  }

  get labeledCount(): number {
    return this.labels.size;
  }

  /** The label the learner learned for an item, if any. */
  labelOf(id: number): string | undefined {
    return this.labels.get(id);
  }

  has(id: number): boolean {
    return this.rows.has(id);
  }

  /** Learns a label: the head updates at once; votes and the chain's anchor follow. */
  learn(id: number, label: string): void {
    const row = this.rowOf(id);
    if (this.labels.has(id)) this.removeVotes(row);
    this.pendingVotes = this.pendingVotes.filter((r) => r !== row);
    this.head.learn(id, rowOf(this.matrix, row), label);
    this.labels.set(id, label);
    this.state[row] = RowState.Labeled;
    this.handedOut.delete(id);
    this.pendingCoverage.push(row);
    this.pendingVotes.push(row);
    this.lastLabeled = { row, label };
  }

  /** Takes a label back (undo): the head forgets it and the item can be shown again. */
  forget(id: number): void {
    const row = this.rowOf(id);
    if (!this.labels.has(id)) return;
    this.head.forget(id);
    this.labels.delete(id);
    this.removeVotes(row);
    this.pendingVotes = this.pendingVotes.filter((r) => r !== row);
    this.revive(row);
    this.handedOut.delete(id);
    // The rows this label covered best are recomputed from the remaining labels when coverage is next read.
    this.pendingCoverage = this.pendingCoverage.filter((r) => r !== row);
    this.uncovered.add(row);
    if (this.lastLabeled?.row === row) this.lastLabeled = undefined;
  }

  /** Marks an item as not to be shown (skipped, don't know, deleted) or as a candidate again. */
  setShown(id: number, state: 'skipped' | 'dont-know' | 'excluded' | 'candidate'): void {
    const row = this.rowOf(id);
    if (state === 'candidate') this.revive(row);
    else this.state[row] = { skipped: RowState.Skipped, 'dont-know': RowState.DontKnow, excluded: RowState.Excluded }[state];
    if (state !== 'candidate') this.handedOut.delete(id);
  }

  /** Makes a row a candidate; if it was not one, ranked lists built before cannot know it (see {@link revived}). */
  private revive(row: number): void {
    if (this.state[row] === RowState.Candidate) return;
    this.state[row] = RowState.Candidate;
    this.revived.push(row);
  }

  /** Re-scores every item with the current head (the full pass; run it in the background). */
  rescore(): void {
    this.probabilities = this.head.classes.length > 0 && this.head.size > 0 ? scoreAll(this.head.exportWeights(), this.matrix) : undefined;
    this.scoredClasses = [...this.head.classes];
    this.ranked.clear();
    this.revived = [];
  }

  /**
   * The same re-score on onnxruntime (SIMD) in the scorer's worker thread, which also builds the ranked lists
   * the rankers walk (see ranked-lists.ts), so the thread that answers keypresses does neither.
   */
  async rescoreWith(scorer: OnnxScorer): Promise<void> {
    if (this.head.classes.length === 0 || this.head.size === 0) return this.rescore();
    const classes = [...this.head.classes];
    const keys = defaultRankKeys(classes.length);
    const mark = this.revived.length;
    const { probabilities, ranked } = await scorer.scoreRanked(this.head.exportWeights(), this.matrix, { candidates: this.state, keys });
    this.probabilities = probabilities;
    this.scoredClasses = classes;
    this.ranked = ranked;
    // Rows revived while the worker ran may or may not be in its lists: they stay merged in until the next re-score.
    this.revived = this.revived.slice(mark);
  }

  /** The next `count` items by the current ranker, each handed out once until released. */
  next(count: number): { id: number; score: number }[] {
    const picks = this.ranker.pick(this.context(), count);
    return this.handOut(picks);
  }

  /** A grid page: up to `size` items the head believes are `label` (by default the most promising class). */
  page(size: number, label?: string, minConfidence = 0.5): { label: string; items: { id: number; score: number }[] } | undefined {
    const context = this.context();
    const chosen = label ?? nextPageClass(context);
    if (!chosen) return undefined;
    // Only items the head believes in: a page is verified at a glance, so odd ones out must be rare.
    const picks = pageFor(context, chosen, size).filter((pick) => pick.score >= minConfidence);
    return { label: chosen, items: this.handOut(picks) };
  }

  /** The labeled items nearest to an item: the reference strip beside the current image. */
  labeledNeighbors(id: number, k: number): number[] {
    const row = this.rowOf(id);
    const accept = (r: number) => r !== row && this.state[r] === RowState.Labeled;
    return this.neighbors.search(rowOf(this.matrix, row), k, { accept, matches: this.labels.size }).map((n) => this.matrix.ids[n.row]!);
  }

  /** Lets an item handed out but not acted on be shown again. */
  release(id: number): void {
    this.handedOut.delete(id);
  }

  /** The head's fresh suggestion for one item (not the possibly stale batch scores). */
  suggest(id: number): Suggestion | undefined {
    return this.head.suggest(rowOf(this.matrix, this.rowOf(id)));
  }

  /** The suggestion from the last full re-score, cheap to read for many items. */
  scoredSuggestion(id: number): Suggestion | undefined {
    if (!this.probabilities || this.scoredClasses.length === 0) return undefined;
    const C = this.scoredClasses.length;
    const row = this.rowOf(id);
    return suggestionFrom(this.probabilities.subarray(row * C, (row + 1) * C), this.scoredClasses);
  }

  private handOut(picks: Pick[]): { id: number; score: number }[] {
    return picks.map(({ row, score }) => {
      const id = this.matrix.ids[row]!;
      this.handedOut.add(id);
      return { id, score };
    });
  }

  private context(): RankContext {
    // The last scores stay usable while a re-score runs, even after a class was added: they are consistent
    // with the class list they were computed for, which is what the rankers read.
    return {
      matrix: this.matrix,
      probabilities: this.probabilities,
      classes: this.scoredClasses,
      isCandidate: (row) => this.state[row] === RowState.Candidate && !this.handedOut.has(this.matrix.ids[row]!),
      coverage: () => this.coverage(),
      votes: () => this.currentVotes(),
      lastLabeled: this.lastLabeled,
      neighbors: this.neighbors,
      ranked: (key) => this.rankedRows(key),
      revived: this.revived,
      coverageRows: this.coverageRows,
      random: this.random,
    };
  }

  private rankedRows(key: RankKey): Int32Array | undefined {
    const { probabilities } = this;
    const C = this.scoredClasses.length;
    if (!probabilities || C === 0) return undefined;
    let list = this.ranked.get(key);
    if (!list) {
      list = rankedList(probabilities, C, key, (row) => this.state[row] === RowState.Candidate);
      this.ranked.set(key, list);
    }
    return list;
  }

  /** 1 − cosine similarity to the nearest labeled row, for the coverage rows; brought up to date lazily. */
  private coverage(): Float32Array {
    const { matrix, coverageRows } = this;
    const size = coverageRows ? coverageRows.length : matrix.ids.length;
    const rowAt = coverageRows ? (i: number) => coverageRows[i]! : (i: number) => i;
    if (this.uncovered.size > 0) {
      // Rows whose nearest label was taken back: nearest among the labels left (pending ones fold in below).
      const labeledRows = [...this.labels.keys()].map((id) => this.rows.get(id)!);
      for (let i = 0; i < size; i++) {
        const row = rowAt(i);
        if (!this.uncovered.has(this.coverageFrom[row]!)) continue;
        let best = Infinity;
        let from = -1;
        for (const labeledRow of labeledRows) {
          const distance = 1 - dot(rowOf(matrix, labeledRow), matrix.vectors, row * matrix.dim);
          if (distance < best) {
            best = distance;
            from = labeledRow;
          }
        }
        this.coverageValues[row] = best;
        this.coverageFrom[row] = from;
      }
      this.uncovered.clear();
    }
    for (const labeledRow of this.pendingCoverage) {
      const vector = rowOf(matrix, labeledRow);
      for (let i = 0; i < size; i++) {
        const row = rowAt(i);
        const distance = 1 - dot(vector, matrix.vectors, row * matrix.dim);
        if (distance < this.coverageValues[row]!) {
          this.coverageValues[row] = distance;
          this.coverageFrom[row] = labeledRow;
        }
      }
    }
    this.pendingCoverage = [];
    return this.coverageValues;
  }

  private currentVotes(): ReadonlyMap<number, Float32Array> {
    for (const row of this.pendingVotes) {
      const label = this.labels.get(this.matrix.ids[row]!);
      if (label !== undefined && !this.voteLog.has(row)) this.castVotes(row, label);
    }
    this.pendingVotes = [];
    return this.votes;
  }

  private castVotes(row: number, label: string): void {
    const rows = this.matrix.ids.length;
    // The exact scan over a million rows costs a second per label: it looks at a strided sample instead.
    const stride = this.neighbors.indexed ? 1 : Math.max(1, Math.ceil(rows / VOTE_SAMPLE));
    const accept = (r: number) => r !== row && this.state[r] !== RowState.Labeled && (stride === 1 || r % stride === row % stride);
    // "Nearest unlabeled to this label": one filtered query.
    const cast = this.neighbors.search(rowOf(this.matrix, row), this.voteNeighbors, { accept, matches: (rows - this.labels.size) / stride });
    const log = cast.map(({ row: target, score }) => ({ row: target, weight: Math.max(score, 0), label }));
    for (const vote of log) this.addVote(vote.row, vote.label, vote.weight);
    this.voteLog.set(row, log);
  }

  private removeVotes(row: number): void {
    for (const vote of this.voteLog.get(row) ?? []) this.addVote(vote.row, vote.label, -vote.weight);
    this.voteLog.delete(row);
  }

  private addVote(row: number, label: string, weight: number): void {
    const c = this.head.classes.indexOf(label);
    let votes = this.votes.get(row);
    if (!votes || votes.length < this.head.classes.length) {
      const grown = new Float32Array(this.head.classes.length);
      if (votes) grown.set(votes);
      votes = grown;
      this.votes.set(row, votes);
    }
    votes[c] = Math.max(0, votes[c]! + weight);
    if (votes.every((v) => v <= 1e-9)) this.votes.delete(row);
  }

  private rowOf(id: number): number {
    const row = this.rows.get(id);
    if (row === undefined) throw new NotFoundError(`item ${id} has no embedding; run \`npx quicksort embed\` first`);
    return row;
  }
}

/** `count` distinct rows of `rows`, drawn at random, in ascending order. */
function sampleRows(rows: number, count: number, random: () => number): Int32Array {
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(random() * rows));
  return Int32Array.from(chosen).sort();
}

export function checkPageSize(size: number): number {
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw new InvalidArgumentError(`a page holds 1 to 1000 items; got ${size}`);
  return size;
}
