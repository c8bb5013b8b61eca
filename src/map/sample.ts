import { mulberry32 } from '../random';

/**
 * A stratified sample of `groups.length` candidates: about `size` of them, every group represented (a class
 * of 3 items in a million stays on the map), the rest shared in proportion to group sizes. Deterministic for
 * a seed; the chosen positions come back ascending.
 *
 * Each group first gets min(its size, a floor of up to 20, less when the sample is small), then the seats
 * left go in proportion to what each group has left (largest remainders). With more groups than seats each
 * group still gets one, so the sample can exceed `size` by the number of groups.
 *
 * @example
 * stratifiedSample(['cat', 'cat', 'cat', 'dog'], 2, 1); // one cat and the dog, e.g. [1, 3]
 */
export function stratifiedSample(groups: readonly (string | null)[], size: number, seed: number): number[] {
  if (groups.length <= size) return groups.map((_, index) => index);
  const members = new Map<string | null, number[]>();
  groups.forEach((group, index) => {
    let list = members.get(group);
    if (!list) members.set(group, (list = []));
    list.push(index);
  });
  const lists = [...members.values()];
  const floor = Math.max(1, Math.min(20, Math.floor(size / (2 * lists.length))));
  const seats = lists.map((list) => Math.min(list.length, floor));
  let left = size - seats.reduce((sum, n) => sum + n, 0);
  if (left > 0) {
    const remaining = lists.map((list, i) => list.length - seats[i]!);
    const pool = remaining.reduce((sum, n) => sum + n, 0);
    const shares = remaining.map((n) => (n * left) / pool);
    const whole = shares.map(Math.floor);
    whole.forEach((n, i) => (seats[i]! += n));
    left -= whole.reduce((sum, n) => sum + n, 0);
    const byRemainder = shares.map((share, i) => ({ i, rest: share - whole[i]! })).sort((a, b) => b.rest - a.rest || a.i - b.i);
    for (const { i } of byRemainder) {
      if (left <= 0) break;
      if (seats[i]! < lists[i]!.length) {
        seats[i]!++;
        left--;
      }
    }
  }
  const random = mulberry32(seed);
  const chosen: number[] = [];
  lists.forEach((list, i) => {
    const copy = list.slice();
    // A partial Fisher–Yates shuffle: the first `seats` entries are a uniform sample of the group.
    for (let s = 0; s < seats[i]!; s++) {
      const pick = s + Math.floor(random() * (copy.length - s));
      [copy[s], copy[pick]] = [copy[pick]!, copy[s]!];
      chosen.push(copy[s]!);
    }
  });
  return chosen.sort((a, b) => a - b);
}
