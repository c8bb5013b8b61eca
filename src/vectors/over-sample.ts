import type { CompiledFilter } from './point-table';

/** How many rounds of growing over-sampling a filtered graph search tries before scanning the matches exactly. */
const OVERSAMPLE_ROUNDS = 3;

/**
 * The candidate rows of a filtered graph search, or undefined when the caller should scan the matches exactly.
 * usearch 2.25's JavaScript binding has no filtered search (the C++ core has one, the binding does not expose
 * it), so the filter is applied to an over-sampled result: ask for k scaled by the filter's selectivity, grow
 * ×4 while too few pass, and give up when the graph would have to return a large share of the set anyway.
 * Shared by the persistent index ({@link UsearchIndex}) and the learner's ({@link HnswRowIndex}).
 *
 * @example
 * const rows = overSampledRows((wanted) => native.search(query, wanted, 1).keys, (key) => Number(key), 10, size, filter);
 */
export function overSampledRows(
  search: (wanted: number) => ArrayLike<bigint>,
  rowOfKey: (key: bigint) => number | undefined,
  k: number,
  size: number,
  filter: CompiledFilter,
): Int32Array | undefined {
  const { test } = filter;
  // All the matches when fewer than k pass: counting them exactly lets the graph stop there.
  const enough = Math.min(k, filter.matches);
  let wanted = test === null ? k : Math.ceil((k * size * 1.5) / filter.matches) + filter.excludedRows;
  for (let round = 0; round < OVERSAMPLE_ROUNDS; round++) {
    wanted = Math.min(wanted, size);
    const keys = search(wanted);
    const rows: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const row = rowOfKey(keys[i]!);
      if (row !== undefined && (test === null || test(row))) rows.push(row);
    }
    if (rows.length >= enough) return Int32Array.from(rows);
    if (wanted >= size / 8) break;
    wanted *= 4;
  }
  return undefined;
}
