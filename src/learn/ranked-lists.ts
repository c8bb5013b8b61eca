/**
 * Ranked lists: for one re-score (one probabilities array), the rows that were candidates then, in
 * descending order of a key read from their probabilities — the smallest margin, the highest confidence,
 * the highest probability of one class — cut to the first {@link RANKED_LENGTH}. The score-based rankers walk
 * them, skipping rows that stopped being candidates since, instead of scanning every row per re-rank: a
 * re-rank costs O(count + rows skipped), not O(rows × classes), which keeps it bounded at a million items.
 *
 * The order is (key descending, row ascending), so the first `count` candidates of a list are exactly what a
 * full scan of the candidates would pick. Built once per re-score: in the scorer's worker thread (see
 * {@link OnnxScorer}), or on first use on the calling thread after a JavaScript re-score.
 *
 * No imports from the rest of the engine: the scorer worker loads this module alone.
 */

/** Rows kept per list: the chain's shortlist (4,096) and the largest grid page fit, with room for rows labeled since. */
export const RANKED_LENGTH = 8192;

/**
 * What a list orders by. `confidence`: the top probability; `low-confidence`: 1 − it; `margin`: minus the gap
 * between the two top probabilities; `entropy`: the entropy of the distribution; `class:N`: the probability
 * of class N (an index into the classes the probabilities were computed for).
 */
export type RankKey = 'confidence' | 'low-confidence' | 'margin' | 'entropy' | `class:${number}`;

/** The keys the scorer's worker builds with every re-score: every ranker's, so switching rankers builds nothing here. */
export function defaultRankKeys(classes: number): RankKey[] {
  return ['confidence', 'margin', 'low-confidence', 'entropy', ...Array.from({ length: classes }, (_, c) => `class:${c}` as RankKey)];
}

/**
 * The key's value for every row (NaN for rows `eligible` rejects). The arithmetic matches the rankers'
 * per-row measures exactly (same operations, in doubles), so lists and scans agree to the bit.
 */
function keyValues(probabilities: Float32Array, classes: number, key: RankKey, rows: number, eligible: (row: number) => boolean): Float64Array {
  const C = classes;
  const values = new Float64Array(rows);
  if (key.startsWith('class:')) {
    const c = Number(key.slice(6));
    for (let row = 0; row < rows; row++) values[row] = eligible(row) ? probabilities[row * C + c]! : NaN;
    return values;
  }
  for (let row = 0; row < rows; row++) {
    if (!eligible(row)) {
      values[row] = NaN;
      continue;
    }
    const offset = row * C;
    if (key === 'entropy') {
      let h = 0;
      for (let c = 0; c < C; c++) {
        const v = probabilities[offset + c]!;
        if (v > 0) h -= v * Math.log(v);
      }
      values[row] = h;
      continue;
    }
    let first = -Infinity;
    let second = -Infinity;
    for (let c = 0; c < C; c++) {
      const v = probabilities[offset + c]!;
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) second = v;
    }
    if (second === -Infinity) second = 0;
    values[row] = key === 'confidence' ? first : key === 'low-confidence' ? 1 - first : -(first - second);
  }
  return values;
}

/**
 * The first `length` eligible rows by (key descending, row ascending). `eligible` is read once per row, now:
 * rows that become candidates later (an undo) are not in the list, so callers drop lists when that happens.
 */
export function rankedList(
  probabilities: Float32Array,
  classes: number,
  key: RankKey,
  eligible: (row: number) => boolean = () => true,
  length = RANKED_LENGTH,
): Int32Array {
  const rows = classes > 0 ? Math.floor(probabilities.length / classes) : 0;
  const values = keyValues(probabilities, classes, key, rows, eligible);
  let n = 0;
  for (let row = 0; row < rows; row++) if (!Number.isNaN(values[row]!)) n++;
  const compact = new Float64Array(n);
  const compactRows = new Int32Array(n);
  n = 0;
  for (let row = 0; row < rows; row++) {
    const v = values[row]!;
    if (Number.isNaN(v)) continue;
    compact[n] = v;
    compactRows[n++] = row;
  }
  const threshold = n > length ? kthLargest(compact.slice(), length) : -Infinity;
  // Everything above the threshold, then ties at it in row order (the order they sort in) up to the length:
  // a saturated head gives many rows the same probability, and sorting them all would cost O(rows log rows).
  const chosen: number[] = [];
  for (let i = 0; i < n; i++) if (compact[i]! > threshold) chosen.push(i);
  for (let i = 0; i < n && chosen.length < length; i++) if (compact[i]! === threshold) chosen.push(i);
  chosen.sort((a, b) => compact[b]! - compact[a]! || compactRows[a]! - compactRows[b]!);
  const list = new Int32Array(Math.min(length, chosen.length));
  for (let i = 0; i < list.length; i++) list[i] = compactRows[chosen[i]!]!;
  return list;
}

/** The k-th largest value (1-based) of `values`, which it reorders: Hoare's quickselect. */
export function kthLargest(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! > pivot) i++;
      while (values[j]! < pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i++] = values[j]!;
        values[j--] = t;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return values[target]!;
}
