import { PointTable } from '../../src/vectors/point-table';
import type { PointFilter, PointPayload } from '../../src/vectors';

/** The table's filter counts must equal a scan, through adds, payload changes, replacements and swap-removes. */
describe('PointTable', () => {
  const filters: PointFilter[] = [
    {},
    { labeled: true },
    { labeled: false },
    { label: null },
    { label: 'a' },
    { label: 'b', split: 'val' },
    { labeled: false, split: 'train' },
    { labeled: true, excludeIds: [1, 2, 3, 999] },
    { excludeIds: [4, 5] },
  ];

  function check(table: PointTable, truth: Map<number, PointPayload>) {
    for (const filter of filters) {
      const expected = [...truth.entries()].filter(
        ([id, payload]) =>
          (filter.labeled === undefined || payload.labeled === filter.labeled) &&
          (filter.label === undefined || payload.label === filter.label) &&
          (filter.split === undefined || payload.split === filter.split) &&
          !(filter.excludeIds ?? []).includes(id),
      );
      const compiled = table.compile(filter);
      expect({ filter, matches: compiled.matches }).toEqual({ filter, matches: expected.length });
      const rows = compiled.test === null ? Array.from({ length: table.size }, (_, row) => row) : Array.from(table.rowsWhere(compiled.test));
      expect(rows.map((row) => table.ids[row]!).sort((a, b) => a - b)).toEqual(expected.map(([id]) => id).sort((a, b) => a - b));
    }
    for (const [id, payload] of truth) {
      const row = table.rowOf(id)!;
      expect(table.payloadAt(row)).toEqual(payload);
      expect(table.vectorAt(row)[0]).toBe(id);
    }
  }

  it('keeps exact filter counts and dense rows through every change', () => {
    const table = new PointTable(2);
    const truth = new Map<number, PointPayload>();
    const put = (id: number, payload: PointPayload) => {
      table.put(id, new Float32Array([id, -id]), payload);
      truth.set(id, payload);
    };
    for (let id = 1; id <= 40; id++) put(id, { labeled: id % 3 === 0, label: id % 3 === 0 ? (id % 2 ? 'a' : 'b') : null, split: id % 4 === 0 ? 'val' : 'train' });
    check(table, truth);
    table.setPayload(table.rowOf(7)!, { labeled: true, label: 'b' });
    truth.set(7, { ...truth.get(7)!, labeled: true, label: 'b' });
    put(8, { labeled: false, label: null, split: null });
    for (const id of [1, 40, 13]) {
      expect(table.remove(id)).toBe(true);
      truth.delete(id);
    }
    expect(table.remove(1)).toBe(false);
    expect(table.size).toBe(37);
    check(table, truth);
    expect(table.compile({ label: 'never-seen' }).matches).toBe(0);
    table.reindex();
    check(table, truth);
  });
});
