import { ActiveLearner, type EmbeddingMatrix } from '../../src/learn';
import { HnswRowIndex, openRowIndex, type RowIndex } from '../../src/vectors';

/** Points on a line x ∈ [-1, 1], lifted to 3-D as (x, 0, 1): nearness on the line is nearness in angle. */
function line(count: number): EmbeddingMatrix {
  const xs = Array.from({ length: count }, (_, i) => -1 + (2 * i) / (count - 1));
  return { ids: xs.map((_, i) => i + 1), dim: 3, vectors: new Float32Array(xs.flatMap((x) => [x, 0, 1])) };
}

describe('the learner searches neighbours through the index it is given', () => {
  // More rows than the exact scan's vote sample (16,384), so the scan would look at every other row only.
  const matrix = line(20_000);
  let index: HnswRowIndex | undefined;
  afterEach(() => index?.close());

  const learnerWith = async (): Promise<ActiveLearner> => {
    const learner = new ActiveLearner(matrix, {
      ranker: 'knn',
      voteNeighbors: 4,
      center: false,
      neighborIndex: (rows) => (index = new HnswRowIndex(rows, { insertThreads: 1, exactThreshold: 0 })),
    });
    await index!.built;
    return learner;
  };

  it('k-NN votes go to the true nearest unlabeled items once the graph is built (no strided sample)', async () => {
    const learner = await learnerWith();
    learner.learn(1, 'left');
    // The four items next to item 1 on the line, nearest first; the strided scan would give 3, 5, 7, 9.
    expect(learner.next(4).map((pick) => pick.id)).toEqual([2, 3, 4, 5]);
  });

  it('the reference strip (labeled neighbours of an item) comes from the same index, and agrees with the scan', async () => {
    const learner = await learnerWith();
    const exact = new ActiveLearner(matrix, { ranker: 'knn', center: false });
    for (const id of [10, 500, 9_000, 9_010, 15_000, 19_999]) {
      learner.learn(id, 'a');
      exact.learn(id, 'a');
    }
    expect(learner.labeledNeighbors(9_005, 3)).toEqual([9_010, 9_000, 15_000]);
    expect(learner.labeledNeighbors(9_005, 3)).toEqual(exact.labeledNeighbors(9_005, 3));
  });

  it('openRowIndex is a drop-in factory: the exact scan for a small set, the same answers', () => {
    let chosen: RowIndex | undefined;
    const small = line(200);
    const learner = new ActiveLearner(small, { ranker: 'chain', center: false, neighborIndex: (rows) => (chosen = openRowIndex(rows)) });
    learner.learn(100, 'mid');
    expect(chosen!.indexed).toBe(false);
    expect(learner.next(3).map((pick) => pick.id)).toEqual([99, 101, 98]);
  });
});
