import { InvalidArgumentError } from '../errors';
import type { RowIndex } from '../vectors';
import { dot, rowOf, type EmbeddingMatrix } from './embedding-matrix';
import { kthLargest, RANKED_LENGTH, type RankKey } from './ranked-lists';

/** What a ranker may look at. Rows index the embedding matrix. */
export interface RankContext {
  /** Unit-length embeddings of every item. */
  matrix: EmbeddingMatrix;
  /** The head's calibrated probabilities for every row (rows × classes), or undefined before it has learned. */
  probabilities: Float32Array | undefined;
  classes: readonly string[];
  /** Rows that may be shown next: unlabeled, not skipped, not "don't know", not already handed out. */
  isCandidate: (row: number) => boolean;
  /** For each row, 1 − the cosine similarity to the nearest labeled row (Infinity when nothing is labeled); computed on demand, it costs a pass over the matrix per new label. */
  coverage: () => Float32Array;
  /** Label votes propagated from labeled rows to their nearest neighbours (computed on demand: a search per new label). */
  votes: () => ReadonlyMap<number, Float32Array>;
  /** The row labeled last, if any. */
  lastLabeled?: { row: number; label: string };
  /** Nearest rows to a vector under a filter; when it is `indexed` (a graph) its cost does not grow with the rows, so no sampling is needed. */
  neighbors: RowIndex;
  /**
   * The rows that were candidates at the last re-score, best first by a key of their probabilities (see
   * ranked-lists.ts), at most {@link RANKED_LENGTH} of them; undefined where the context has none (then the
   * rankers scan every row).
   */
  ranked?: (key: RankKey) => Int32Array | undefined;
  /** Rows that became candidates again since the lists were built (an undo): merged into every walk. */
  revived?: readonly number[];
  /**
   * The rows diversity chooses among and `coverage` is kept for, on large sets a fixed sample (k-center greedy
   * over a random subset: the cost per label stays bounded); undefined means every row.
   */
  coverageRows?: Int32Array;
  random: () => number;
}

export interface Pick {
  row: number;
  /** Higher is picked first; the unit depends on the ranker. */
  score: number;
}

export interface Ranker {
  readonly name: RankerName;
  /** One paragraph: what the ranker optimises. */
  readonly summary: string;
  /** Whether its picks read the head's scores of every item (so a re-score can change them). */
  readonly readsScores: boolean;
  /** The next `count` rows to show, best first. */
  pick(context: RankContext, count: number): Pick[];
}

export type RankerName = 'random' | 'least-confidence' | 'margin' | 'entropy' | 'diversity' | 'knn' | 'chain' | 'hybrid';

/** Keeps the `count` highest-scoring candidates, best first: insertion for a few, selection for many. */
function topByScore(context: RankContext, count: number, score: (row: number) => number): Pick[] {
  return count <= 32 ? topFew(context, count, score) : topMany(context, count, score);
}

/** One pass keeping a short sorted list: for small counts, cheaper than scoring into arrays. */
function topFew(context: RankContext, count: number, score: (row: number) => number): Pick[] {
  const best: Pick[] = [];
  const rows = context.matrix.ids.length;
  for (let row = 0; row < rows; row++) {
    if (!context.isCandidate(row)) continue;
    const value = score(row);
    if (best.length === count && value <= best[count - 1]!.score) continue;
    let position = best.length;
    while (position > 0 && best[position - 1]!.score < value) position--;
    best.splice(position, 0, { row, score: value });
    if (best.length > count) best.pop();
  }
  return best;
}

/** Scores every candidate, finds the count-th best by quickselect, then sorts only the winners: O(rows). */
function topMany(context: RankContext, count: number, score: (row: number) => number): Pick[] {
  const rows = context.matrix.ids.length;
  const candidates = new Int32Array(rows);
  const values = new Float64Array(rows);
  let n = 0;
  for (let row = 0; row < rows; row++) {
    if (!context.isCandidate(row)) continue;
    candidates[n] = row;
    values[n++] = score(row);
  }
  let threshold = -Infinity;
  if (n > count) threshold = kthLargest(values.slice(0, n), count);
  const picks: Pick[] = [];
  for (let i = 0; i < n; i++) if (values[i]! > threshold) picks.push({ row: candidates[i]!, score: values[i]! });
  // Ties at the threshold in row order, only as many as fit: sorting thousands of equal scores is wasted work.
  for (let i = 0; i < n && picks.length < count; i++) if (values[i]! === threshold) picks.push({ row: candidates[i]!, score: values[i]! });
  picks.sort((a, b) => b.score - a.score || a.row - b.row);
  return picks.slice(0, count);
}

/**
 * The `count` best candidates by `score`, which must be the measure `key` orders by: walked off the ranked
 * list for the last re-score when the context has one (O(count + rows skipped)), scanned otherwise or when
 * the list runs out of candidates. Both give the same picks.
 */
function topByKey(context: RankContext, count: number, key: RankKey, score: (row: number) => number): Pick[] {
  const list = context.ranked?.(key);
  if (!list) return topByScore(context, count, score);
  // A list shorter than its cap held every candidate of its re-score; a cut one orders only its own rows.
  const complete = list.length < RANKED_LENGTH;
  const revived = context.revived?.length ? [...new Set(context.revived)] : [];
  const merged = revived.filter((row) => context.isCandidate(row)).map((row) => ({ row, score: score(row) }));
  merged.sort(byScore);
  const skip = revived.length ? new Set(revived) : undefined;
  const picks: Pick[] = [];
  let m = 0;
  for (let i = 0; i < list.length && picks.length < count; i++) {
    const row = list[i]!;
    if (skip?.has(row) || !context.isCandidate(row)) continue;
    const pick = { row, score: score(row) };
    while (m < merged.length && picks.length < count && byScore(merged[m]!, pick) < 0) picks.push(merged[m++]!);
    if (picks.length < count) picks.push(pick);
  }
  if (complete) while (m < merged.length && picks.length < count) picks.push(merged[m++]!);
  if (picks.length === count || complete) return picks;
  return topByScore(context, count, score);
}

/** Best first: higher score, then lower row (the order of a full scan). */
function byScore(a: Pick, b: Pick): number {
  return b.score - a.score || a.row - b.row;
}

function probabilitiesOf(context: RankContext, row: number): Float32Array | undefined {
  const C = context.classes.length;
  return context.probabilities && C > 0 ? context.probabilities.subarray(row * C, (row + 1) * C) : undefined;
}

/** Largest and second-largest values of a short vector. */
function topTwo(values: Float32Array): [number, number] {
  let first = -Infinity;
  let second = -Infinity;
  for (const v of values) {
    if (v > first) {
      second = first;
      first = v;
    } else if (v > second) second = v;
  }
  return [first, second === -Infinity ? 0 : second];
}

/** From this many rows on, random order draws rows at random instead of giving every row a random score. */
const RANDOM_DRAW_FROM = 65536;

const randomRanker: Ranker = {
  name: 'random',
  readsScores: false,
  summary: 'Shows items in random order: the baseline every other ranker is measured against.',
  pick(context, count) {
    const rows = context.matrix.ids.length;
    if (rows >= RANDOM_DRAW_FROM) {
      // Draws until `count` candidates are found: O(count) while most rows are candidates.
      const picks: Pick[] = [];
      const taken = new Set<number>();
      for (let attempt = 0; attempt < 64 * count + 1024 && picks.length < count; attempt++) {
        const row = Math.floor(context.random() * rows);
        if (taken.has(row) || !context.isCandidate(row)) continue;
        taken.add(row);
        picks.push({ row, score: context.random() });
      }
      if (picks.length === count) return picks;
      return [...picks, ...topByScore({ ...context, isCandidate: (row) => context.isCandidate(row) && !taken.has(row) }, count - picks.length, () => context.random())];
    }
    return topByScore(context, count, () => context.random());
  },
};

/** An uncertainty ranker; before the head knows two classes it falls back to random order. */
function uncertainty(name: RankerName, key: RankKey, summary: string, measure: (p: Float32Array) => number): Ranker {
  return {
    name,
    summary,
    readsScores: true,
    pick(context, count) {
      if (!context.probabilities || context.classes.length < 2) return randomRanker.pick(context, count);
      return topByKey(context, count, key, (row) => measure(probabilitiesOf(context, row)!));
    },
  };
}

const leastConfidence = uncertainty(
  'least-confidence',
  'low-confidence',
  'Shows first the items whose most likely class is least likely (smallest top probability): the model learns most where it is least sure.',
  (p) => 1 - topTwo(p)[0],
);

const margin = uncertainty(
  'margin',
  'margin',
  'Shows first the items with the smallest gap between the two most likely classes: the points on the decision boundary, where one label moves it most.',
  (p) => {
    const [first, second] = topTwo(p);
    return -(first - second);
  },
);

const entropy = uncertainty(
  'entropy',
  'entropy',
  'Shows first the items whose predicted class distribution has the highest entropy: uncertainty over all classes, not only the top two.',
  (p) => {
    let h = 0;
    for (const v of p) if (v > 0) h -= v * Math.log(v);
    return h;
  },
);

const diversity: Ranker = {
  name: 'diversity',
  readsScores: false,
  summary:
    'k-center greedy: shows first the item farthest (in cosine distance) from everything labeled so far, then the one farthest from that set too, so the labels cover the whole embedding space — best for a cold start.',
  pick(context, count) {
    const sample = context.coverageRows;
    if (!sample) return kCenterGreedy(context, count, undefined);
    const picks = kCenterGreedy(context, count, sample);
    if (picks.length === count) return picks;
    // The sample ran out of candidates (nearly all labeled): the rest in random order.
    const taken = new Set(picks.map((p) => p.row));
    return [...picks, ...randomRanker.pick({ ...context, isCandidate: (row) => context.isCandidate(row) && !taken.has(row) }, count - picks.length)];
  },
};

/** k-center greedy over every row, or over `sample` only (each pick then costs sample × dim, not rows × dim). */
function kCenterGreedy(context: RankContext, count: number, sample: Int32Array | undefined): Pick[] {
  const picks: Pick[] = [];
  const taken = new Set<number>();
  // Distances to picks made in this call, so one batch spreads out instead of piling on one far point.
  const local = new Map<number, number>();
  const coverage = context.coverage();
  const size = sample ? sample.length : context.matrix.ids.length;
  const rowAt = sample ? (i: number) => sample[i]! : (i: number) => i;
  for (let n = 0; n < count; n++) {
    let best: Pick | undefined;
    for (let i = 0; i < size; i++) {
      const row = rowAt(i);
      if (!context.isCandidate(row) || taken.has(row)) continue;
      const value = Math.min(coverage[row]!, local.get(row) ?? Infinity);
      // Highest value first, then the lowest row: the order of a full scan.
      if (!best || value > best.score || (value === best.score && row < best.row)) best = { row, score: value };
    }
    if (!best) break;
    picks.push(best);
    taken.add(best.row);
    if (n + 1 < count) {
      const vector = rowOf(context.matrix, best.row);
      for (let i = 0; i < size; i++) {
        const row = rowAt(i);
        if (!context.isCandidate(row)) continue;
        const distance = 1 - dot(vector, context.matrix.vectors, row * context.matrix.dim);
        if (distance < (local.get(row) ?? Infinity)) local.set(row, distance);
      }
    }
  }
  return picks;
}

const knn: Ranker = {
  name: 'knn',
  readsScores: false,
  summary:
    'k-NN label propagation: every label casts similarity-weighted votes on its nearest unlabeled neighbours; shows first the items whose votes agree most strongly, so a glance confirms them. Needs no trained head.',
  pick(context, count) {
    const allVotes = context.votes();
    if (allVotes.size === 0) return diversity.pick(context, count);
    const picks: Pick[] = [];
    for (const [row, votes] of allVotes) {
      if (!context.isCandidate(row)) continue;
      let total = 0;
      let top = 0;
      for (const v of votes) {
        total += v;
        if (v > top) top = v;
      }
      picks.push({ row, score: (top / total) * Math.min(1, total) });
    }
    picks.sort((a, b) => b.score - a.score);
    const chosen = picks.slice(0, count);
    return chosen.length < count ? [...chosen, ...randomRanker.pick({ ...context, isCandidate: (r) => context.isCandidate(r) && !chosen.some((p) => p.row === r) }, count - chosen.length)] : chosen;
  },
};

/** How many neighbours of the last label the chain looks at. */
const CHAIN_NEIGHBORS = 64;
/**
 * The chain looks for neighbours among this many candidates the head believes most in the class just
 * labeled, walked off the class's ranked list: O(shortlist × dim) per re-rank (about 5 M multiply-adds at
 * 1280-d), whatever the number of items. A nearest-neighbour search in an HNSW index over all items would
 * save those few milliseconds but cost minutes of building and gigabytes at a million items
 * (bench/results/learn.md), so the chain does without one.
 */
const CHAIN_SHORTLIST = 4096;
/**
 * Without scores (the first labels, until the first re-score lands: seconds at a million items), the exact
 * neighbour search looks at a strided sample of at most this many rows: about 20 M multiply-adds at 1280-d.
 */
const CHAIN_SAMPLE = 16384;

const chain: Ranker = {
  name: 'chain',
  readsScores: true,
  summary:
    'The chain reaction: among the unlabeled items the head puts in the class just labeled, shows first the nearest to the item just labeled that the head is most confident about (similarity × confidence), so runs of one-key accepts happen; with no recent label, the most confident item overall.',
  pick(context, count) {
    const { lastLabeled } = context;
    if (!context.probabilities || context.classes.length < 2) {
      return lastLabeled ? nearest(context, lastLabeled.row, count) : diversity.pick(context, count);
    }
    const C = context.classes.length;
    const confidence = (row: number) => topTwo(probabilitiesOf(context, row)!)[0];
    if (!lastLabeled) return topByKey(context, count, 'confidence', confidence);
    const c = context.classes.indexOf(lastLabeled.label);
    const shortlist = c < 0 ? [] : topByKey(context, CHAIN_SHORTLIST, `class:${c}`, (row) => context.probabilities![row * C + c]!);
    const anchor = rowOf(context.matrix, lastLabeled.row);
    const scored = shortlist.map(({ row }) => ({ row, score: Math.max(dot(anchor, context.matrix.vectors, row * context.matrix.dim), 0) * confidence(row) }));
    scored.sort((a, b) => b.score - a.score);
    const picks = scored.slice(0, Math.min(count, CHAIN_NEIGHBORS));
    if (picks.length < count) {
      const taken = new Set(picks.map((p) => p.row));
      picks.push(...topByKey({ ...context, isCandidate: (row) => context.isCandidate(row) && !taken.has(row) }, count - picks.length, 'confidence', confidence));
    }
    return picks;
  },
};

/** Nearest candidates to a row; on large sets among a strided sample, to bound the cost of a cold start. */
function nearest(context: RankContext, row: number, count: number): Pick[] {
  const rows = context.matrix.ids.length;
  const stride = context.neighbors.indexed ? 1 : Math.max(1, Math.ceil(rows / CHAIN_SAMPLE));
  const accept = stride === 1 ? context.isCandidate : (r: number) => r % stride === row % stride && context.isCandidate(r);
  const picks = context.neighbors.search(rowOf(context.matrix, row), count, { accept, matches: rows / stride });
  return picks.length >= count || stride === 1 ? picks : context.neighbors.search(rowOf(context.matrix, row), count, { accept: context.isCandidate });
}

/** Share of picks the hybrid spends on exploration. */
const EXPLORATION = 0.2;

const hybrid: Ranker = {
  name: 'hybrid',
  readsScores: true,
  summary: `The chain reaction with exploration: about ${EXPLORATION * 100}% of the items come from the margin ranker (the decision boundary), the rest from the chain, so the head keeps improving while most items are one-key accepts.`,
  pick(context, count) {
    const picks = chain.pick(context, count);
    for (let i = 0; i < picks.length; i++) {
      if (context.random() >= EXPLORATION) continue;
      const taken = new Set(picks.map((p) => p.row));
      const [explore] = margin.pick({ ...context, isCandidate: (row) => context.isCandidate(row) && !taken.has(row) }, 1);
      if (explore) picks[i] = explore;
    }
    return picks;
  },
};

const REGISTRY: Record<RankerName, Ranker> = {
  random: randomRanker,
  'least-confidence': leastConfidence,
  margin,
  entropy,
  diversity,
  knn,
  chain,
  hybrid,
};

export const RANKER_NAMES = Object.keys(REGISTRY) as RankerName[];

/** The ranker of that name; throws with the list of names otherwise. */
export function getRanker(name: string): Ranker {
  const ranker = REGISTRY[name as RankerName];
  if (!ranker) throw new InvalidArgumentError(`unknown ranker ${JSON.stringify(name)}; choose one of ${RANKER_NAMES.join(', ')}`);
  return ranker;
}

/**
 * A page for the grid: the `size` candidates the head most believes are `label`, best first — verified at a
 * glance, with the odd ones out corrected.
 */
export function pageFor(context: RankContext, label: string, size: number): Pick[] {
  const c = context.classes.indexOf(label);
  if (c < 0 || !context.probabilities) return [];
  const C = context.classes.length;
  return topByKey(context, size, `class:${c}`, (row) => context.probabilities![row * C + c]!);
}

/** The class with the most confident candidates, for the next grid page. */
export function nextPageClass(context: RankContext, sample = 256): string | undefined {
  if (!context.probabilities || context.classes.length === 0) return undefined;
  const C = context.classes.length;
  const mass = new Float64Array(C);
  for (const { row } of topByKey(context, sample, 'confidence', (row) => topTwo(probabilitiesOf(context, row)!)[0])) {
    const p = probabilitiesOf(context, row)!;
    let best = 0;
    for (let c = 1; c < C; c++) if (p[c]! > p[best]!) best = c;
    mass[best]! += p[best]!;
  }
  let best = 0;
  for (let c = 1; c < C; c++) if (mass[c]! > mass[best]!) best = c;
  return context.classes[best];
}
