import { InvalidArgumentError } from '../../src/errors';
import { VectorIndexError, type PointFilter, type SearchHit, type VectorIndex, type VectorMetric, type VectorPoint } from '../../src/vectors';
import { bruteForce, gaussianVector, randomPoints, seeded } from './random-vectors';

/**
 * The behaviour every {@link VectorIndex} promises, run by each implementation's test file (as hono's router
 * implementations share one case file). `open` gives a fresh, empty index; `dispose` removes what it left.
 */
export interface ContractSubject {
  open(dim: number, metric: VectorMetric): Promise<VectorIndex>;
  dispose?(index: VectorIndex): Promise<void>;
}

const DIM = 16;
const POINTS = 120;

export function describeVectorIndexContract(name: string, subject: ContractSubject): void {
  describe.each<VectorMetric>(['cosine', 'dot'])(`${name} honours the VectorIndex contract (%s)`, (metric) => {
    let index: VectorIndex;
    let points: VectorPoint[];

    beforeEach(async () => {
      index = await subject.open(DIM, metric);
      points = randomPoints(POINTS, DIM, 7);
    });

    afterEach(async () => {
      if (subject.dispose) await subject.dispose(index);
      else await index.close();
    });

    const queries = (count: number, seed = 99) => {
      const random = seeded(seed);
      return Array.from({ length: count }, () => gaussianVector(random, DIM));
    };

    /** Same ids in the same order, and scores within float32 rounding of the float64 truth. */
    const expectHits = (actual: SearchHit[], expected: SearchHit[]) => {
      expect(actual.map((hit) => hit.id)).toEqual(expected.map((hit) => hit.id));
      actual.forEach((hit, i) => expect(hit.score).toBeCloseTo(expected[i]!.score, 4));
    };

    it('reports its shape and starts empty', async () => {
      expect(index.dim).toBe(DIM);
      expect(index.metric).toBe(metric);
      expect(await index.count()).toBe(0);
      expect(await index.search(queries(1)[0]!, 5)).toEqual([]);
    });

    it('returns the nearest points, best first, with similarity scores', async () => {
      await index.upsert(points);
      expect(await index.count()).toBe(POINTS);
      for (const query of queries(5)) expectHits(await index.search(query, 10), bruteForce(points, query, 10, metric));
      // A stored vector finds itself first; for cosine its score is 1.
      const self = await index.search(points[17]!.vector, 1);
      expect(self[0]!.id).toBe(points[17]!.id);
      if (metric === 'cosine') expect(self[0]!.score).toBeCloseTo(1, 5);
    });

    it('returns every point when k exceeds the count', async () => {
      await index.upsert(points.slice(0, 7));
      const hits = await index.search(queries(1)[0]!, 50);
      expect(hits).toHaveLength(7);
      expectHits(hits, bruteForce(points.slice(0, 7), queries(1)[0]!, 50, metric));
    });

    const filters: [string, PointFilter][] = [
      ['unlabeled', { labeled: false }],
      ['labeled', { labeled: true }],
      ['one class', { label: 'dog' }],
      ['no class', { label: null }],
      ['a split', { split: 'val' }],
      ['excluded ids', { excludeIds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }],
      ['class and split', { label: 'cat', split: 'train' }],
      ['unlabeled, not these', { labeled: false, excludeIds: [2, 4, 6, 8] }],
    ];

    it.each(filters)('filters: %s', async (_, filter) => {
      await index.upsert(points);
      for (const query of queries(3)) expectHits(await index.search(query, 10, filter), bruteForce(points, query, 10, metric, filter));
    });

    it('answers "nearest unlabeled to X" in one call', async () => {
      await index.upsert(points);
      const x = points[1]!; // unlabeled itself: it must be excluded, not returned first
      const hits = await index.search(x.vector, 5, { labeled: false, excludeIds: [x.id] });
      expectHits(hits, bruteForce(points, x.vector, 5, metric, { labeled: false, excludeIds: [x.id] }));
      expect(hits.map((hit) => hit.id)).not.toContain(x.id);
    });

    it('returns nothing for a class or split no point has', async () => {
      await index.upsert(points);
      expect(await index.search(queries(1)[0]!, 5, { label: 'zebra' })).toEqual([]);
      expect(await index.search(queries(1)[0]!, 5, { split: 'test' })).toEqual([]);
    });

    it('setPayload changes what filters return, and ignores ids it does not hold', async () => {
      await index.upsert(points);
      const query = queries(1)[0]!;
      const [nearestUnlabeled] = await index.search(query, 1, { labeled: false });
      await index.setPayload([nearestUnlabeled!.id, 9999], { labeled: true, label: 'owl' });
      expect(await index.count()).toBe(POINTS);
      const changed = points.map((point) => (point.id === nearestUnlabeled!.id ? { ...point, payload: { ...point.payload!, labeled: true, label: 'owl' } } : point));
      expectHits(await index.search(query, 10, { labeled: false }), bruteForce(changed, query, 10, metric, { labeled: false }));
      expect((await index.search(query, 10, { label: 'owl' })).map((hit) => hit.id)).toEqual([nearestUnlabeled!.id]);
      // A partial payload leaves the other fields alone: the split is what it was.
      const split = points.find((point) => point.id === nearestUnlabeled!.id)!.payload!.split!;
      expect((await index.search(query, 1, { label: 'owl', split })).map((hit) => hit.id)).toEqual([nearestUnlabeled!.id]);
      // Unlabeling brings it back.
      await index.setPayload([nearestUnlabeled!.id], { labeled: false, label: null });
      expect((await index.search(query, 1, { labeled: false, label: null }))[0]!.id).toBe(nearestUnlabeled!.id);
    });

    it('deletes points, ignoring ids it does not hold', async () => {
      await index.upsert(points);
      const query = queries(1)[0]!;
      const before = await index.search(query, 3);
      await index.delete([before[0]!.id, 123456]);
      expect(await index.count()).toBe(POINTS - 1);
      const rest = points.filter((point) => point.id !== before[0]!.id);
      expectHits(await index.search(query, 10), bruteForce(rest, query, 10, metric));
      await index.delete([]);
      expect(await index.count()).toBe(POINTS - 1);
    });

    it('re-upserting an id replaces its vector and payload', async () => {
      await index.upsert(points);
      const moved = { id: points[0]!.id, vector: gaussianVector(seeded(5), DIM), payload: { labeled: false, label: null, split: 'test' } };
      await index.upsert([moved]);
      expect(await index.count()).toBe(POINTS);
      const replaced = points.map((point) => (point.id === moved.id ? moved : point));
      expect((await index.search(moved.vector, 1))[0]!.id).toBe(moved.id);
      for (const query of queries(3)) expectHits(await index.search(query, 10), bruteForce(replaced, query, 10, metric));
      expect((await index.search(moved.vector, 5, { split: 'test' })).map((hit) => hit.id)).toEqual([moved.id]);
      // Within one batch the last occurrence wins.
      const last = { ...moved, vector: gaussianVector(seeded(6), DIM) };
      await index.upsert([moved, last]);
      expect(await index.count()).toBe(POINTS);
      expect((await index.search(last.vector, 1))[0]!.id).toBe(moved.id);
      expect((await index.search(last.vector, 1))[0]!.score).toBeCloseTo(bruteForce([last], last.vector, 1, metric)[0]!.score, 4);
    });

    it('points upserted without a payload are unlabeled', async () => {
      await index.upsert([{ id: 1, vector: points[0]!.vector }]);
      expect((await index.search(points[0]!.vector, 1, { labeled: false, label: null }))[0]!.id).toBe(1);
      expect(await index.search(points[0]!.vector, 1, { labeled: true })).toEqual([]);
    });

    it('refuses vectors of the wrong size with a clear error, writing nothing', async () => {
      const good = points[0]!;
      const bad = { id: 2, vector: new Float32Array(DIM - 1).fill(1) };
      await expect(index.upsert([good, bad])).rejects.toThrow(InvalidArgumentError);
      await expect(index.upsert([good, bad])).rejects.toThrow(`vector of point 2 has ${DIM - 1} dimensions; this index holds ${DIM}-d ${metric} vectors`);
      expect(await index.count()).toBe(0);
      await expect(index.search(new Float32Array(DIM + 1).fill(1), 3)).rejects.toThrow(`query vector has ${DIM + 1} dimensions; this index holds ${DIM}-d`);
    });

    it('refuses malformed arguments before reaching the backend', async () => {
      const vector = points[0]!.vector;
      await expect(index.upsert([{ id: -1, vector }])).rejects.toThrow(/non-negative safe integer/);
      await expect(index.upsert([{ id: 1, vector: Array.from(vector) as never }])).rejects.toThrow(/must be a Float32Array; got Array/);
      await expect(index.upsert([{ id: 1, vector: new Float32Array(DIM).fill(NaN) }])).rejects.toThrow(/non-finite/);
      await expect(index.upsert([{ id: 1, vector, payload: { labeled: 'yes' } as never }])).rejects.toThrow(/labeled must be a boolean/);
      await expect(index.search(vector, 0)).rejects.toThrow(/positive integer/);
      await expect(index.search(vector, 3, { labelled: false } as never)).rejects.toThrow(/unknown key "labelled"; allowed: labeled, label, split, excludeIds/);
      await expect(index.setPayload([1], { class: 'cat' } as never)).rejects.toThrow(/unknown key "class"/);
      if (metric === 'cosine') await expect(index.upsert([{ id: 1, vector: new Float32Array(DIM) }])).rejects.toThrow(/all zeros/);
      expect(await index.count()).toBe(0);
    });

    it('refuses use after close', async () => {
      await index.close();
      await expect(index.count()).rejects.toThrow(VectorIndexError);
      await expect(index.search(points[0]!.vector, 1)).rejects.toThrow(/closed/);
    });
  });
}
