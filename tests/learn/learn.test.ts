import { ActiveLearner, COVERAGE_SAMPLE, getRanker, lineChartSvg, OnnxScorer, pageFor, RANKER_NAMES, rankedList, simulate, SoftmaxHead, type EmbeddingMatrix, type RankContext } from '../../src/learn';
import { mulberry32 } from '../../src/random';
import { ExactRowIndex } from '../../src/vectors';

/** Points on a line x ∈ [-1, 1], lifted to 3-D so that normalisation keeps their order: (x, 0, 1); used uncentred. */
function line(xs: number[]): EmbeddingMatrix {
  return { ids: xs.map((_, i) => i + 1), dim: 3, vectors: new Float32Array(xs.flatMap((x) => [x, 0, 1])) };
}

/** `perClass` points around each of `classes` random unit centres in `dim` dimensions. */
function clusters(classes: number, perClass: number, dim: number, spread = 0.3, seed = 3): { matrix: EmbeddingMatrix; truth: Map<number, string> } {
  const random = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, gaussian));
  const vectors: number[] = [];
  const truth = new Map<number, string>();
  let id = 1;
  for (let i = 0; i < perClass; i++) {
    centres.forEach((centre, c) => {
      vectors.push(...centre.map((v) => v + spread * Math.sqrt(dim) * gaussian() / Math.sqrt(dim)));
      truth.set(id++, `class-${c}`);
    });
  }
  return { matrix: { ids: [...truth.keys()], dim, vectors: new Float32Array(vectors) }, truth };
}

describe('SoftmaxHead', () => {
  it('learns a linearly separable set, online and by a full fit', () => {
    const { matrix, truth } = clusters(4, 50, 16);
    const learner = new ActiveLearner(matrix, { ranker: 'random' });
    // Online: every label updates the head at once.
    for (const id of matrix.ids.slice(0, 40)) learner.learn(id, truth.get(id)!);
    const accuracy = () => matrix.ids.slice(40).filter((id) => learner.suggest(id)!.label === truth.get(id)).length / (matrix.ids.length - 40);
    expect(accuracy()).toBeGreaterThan(0.95);
    learner.head.fit();
    expect(accuracy()).toBe(1);
    const suggestion = learner.suggest(matrix.ids[100]!)!;
    expect(suggestion.confidence).toBeGreaterThan(0.5);
    expect(suggestion.alternatives).toHaveLength(3);
  });

  it('adds classes on the fly and refuses vectors of the wrong size', () => {
    const head = new SoftmaxHead(3);
    head.learn(1, new Float32Array([1, 0, 0]), 'a');
    head.learn(2, new Float32Array([0, 1, 0]), 'b');
    head.learn(3, new Float32Array([0, 0, 1]), 'c');
    expect(head.classes).toEqual(['a', 'b', 'c']);
    expect(head.predict(new Float32Array([0, 0, 1]))).toHaveLength(3);
    expect(() => head.predict(new Float32Array(4))).toThrow(/expects 3-d vectors; got 4-d/);
  });

  it('undo of a label removes its effect on the next suggestions', () => {
    const { matrix, truth } = clusters(3, 20, 8);
    const learner = new ActiveLearner(matrix, { ranker: 'margin' });
    for (const id of matrix.ids.slice(0, 12)) learner.learn(id, truth.get(id)!);
    learner.rescore();
    const before = matrix.ids.map((id) => learner.suggest(id));
    const nextBefore = learner.next(5);
    for (const { id } of nextBefore) learner.release(id);

    learner.learn(matrix.ids[30]!, 'a-brand-new-class');
    learner.rescore();
    expect(matrix.ids.map((id) => learner.suggest(id))).not.toEqual(before);

    learner.forget(matrix.ids[30]!);
    learner.rescore();
    expect(matrix.ids.map((id) => learner.suggest(id))).toEqual(before);
    expect(learner.head.classes).not.toContain('a-brand-new-class');
    expect(learner.next(5)).toEqual(nextBefore);
  });
});

describe('rankers', () => {
  const xs = [-1, -0.95, -0.6, 0.03, 0.5, 0.97, 1];

  function trained(ranker: string): ActiveLearner {
    const learner = new ActiveLearner(line(xs), { ranker: ranker as never, center: false });
    learner.learn(1, 'left'); // x = -1
    learner.learn(7, 'right'); // x = 1
    for (let i = 0; i < 20; i++) {
      learner.head.learn(1, learner.matrix.vectors.subarray(0, 3), 'left');
      learner.head.learn(7, learner.matrix.vectors.subarray(18, 21), 'right');
    }
    learner.rescore();
    return learner;
  }

  it('margin, least-confidence and entropy pick the point on the decision boundary', () => {
    for (const name of ['margin', 'least-confidence', 'entropy']) {
      expect(trained(name).next(1)[0]!.id).toBe(4); // x = 0.03
    }
  });

  it('the chain picks the nearest unlabeled item to the one just labeled', () => {
    const learner = new ActiveLearner(line(xs), { ranker: 'chain', center: false });
    learner.learn(7, 'right'); // head knows one class: pure nearest-neighbour chain
    expect(learner.next(2).map((p) => p.id)).toEqual([6, 5]);
    const trainedChain = trained('chain');
    trainedChain.learn(1, 'left');
    // Next to x = -1: x = -0.95 is both nearest and confidently "left".
    expect(trainedChain.next(1)[0]!.id).toBe(2);
  });

  it('diversity picks the item farthest from everything labeled', () => {
    const learner = new ActiveLearner(line(xs), { ranker: 'diversity', center: false });
    learner.learn(1, 'left');
    expect(learner.next(1)[0]!.id).toBe(7);
    learner.learn(7, 'right');
    expect(learner.next(1)[0]!.id).toBe(4);
  });

  it('k-NN propagation picks the items whose neighbours agree', () => {
    const learner = new ActiveLearner(line(xs), { ranker: 'knn', voteNeighbors: 2, center: false });
    learner.learn(1, 'left'); // votes for x = -0.95 and -0.6
    learner.learn(7, 'right'); // votes for x = 0.97 and 0.5
    const picked = learner.next(2).map((p) => p.id).sort();
    expect(picked).toEqual([2, 6]); // the nearest neighbours, with the heaviest unanimous votes
  });

  it('never hands out the same item twice, and every ranker is documented', () => {
    const { matrix } = clusters(3, 30, 8);
    for (const name of RANKER_NAMES) {
      const learner = new ActiveLearner(matrix, { ranker: name });
      learner.learn(1, 'class-0');
      learner.learn(2, 'class-1');
      learner.rescore();
      const seen = new Set<number>();
      for (let i = 0; i < 10; i++) {
        for (const { id } of learner.next(8)) {
          expect(seen.has(id)).toBe(false);
          seen.add(id);
        }
      }
      expect(seen.size).toBe(80);
      expect(getRanker(name).summary.length).toBeGreaterThan(40);
    }
    expect(() => getRanker('best')).toThrow(/unknown ranker "best"; choose one of random, least-confidence/);
  });
});

describe('simulate', () => {
  it('measures human-seconds under the time model and draws learning curves', () => {
    const { matrix, truth } = clusters(4, 60, 16, 0.5);
    const test = clusters(4, 20, 16, 0.5, 3); // same centres (same seed), fresh points
    const oracle = (id: number) => truth.get(id)!;
    const noSuggestions = simulate(matrix, oracle, { ranker: 'random', mode: 'one', suggestions: false });
    expect(noSuggestions).toMatchObject({ labels: 240, secondsPerLabel: 2.5, acceptedRate: 0 });

    const one = simulate(matrix, oracle, {
      ranker: 'margin', mode: 'one', checkpoints: [20, 100], test: { matrix: test.matrix, truth: (id) => test.truth.get(id)! },
    });
    expect(one.labels).toBe(240);
    expect(one.secondsPerLabel).toBeLessThan(1.2); // most labels were one-key confirmations
    expect(one.curve.map((p) => p.labels)).toEqual([20, 100]);
    expect(one.curve[1]!.accuracy).toBeGreaterThan(0.9);

    const grid = simulate(matrix, oracle, { ranker: 'chain', mode: 'grid', pageSize: 12 });
    expect(grid.labels).toBe(240);
    expect(grid.secondsPerLabel).toBeLessThan(one.secondsPerLabel);

    const svg = lineChartSvg([{ name: 'chain', points: one.curve.map((p) => ({ x: p.labels, y: p.accuracy })) }], {
      title: 'curve <test>', xLabel: 'labels', yLabel: 'accuracy',
    });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('curve &lt;test&gt;');
    expect(svg).toContain('<polyline');
  });
});

describe('OnnxScorer', () => {
  it('scores every row like the JavaScript scorer, with the temperature applied', async () => {
    const { matrix } = clusters(3, 40, 24);
    const learner = new ActiveLearner(matrix, { ranker: 'random' });
    for (const id of matrix.ids.slice(0, 9)) learner.learn(id, `class-${id % 3}`);
    learner.head.temperature = 1.7;
    learner.rescore();
    const expected = learner.probabilities!;
    const scorer = await OnnxScorer.create({ threads: 1 });
    try {
      await learner.rescoreWith(scorer);
      expect(learner.probabilities!.length).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) expect(learner.probabilities![i]).toBeCloseTo(expected[i]!, 5);
    } finally {
      await scorer.close();
    }
  });
});

describe('ranked lists (bounded re-rank)', () => {
  /** A context without ranked lists: what a full scan of every row picks. */
  function scanContext(learner: ActiveLearner, isCandidate: (row: number) => boolean): RankContext {
    return {
      matrix: learner.matrix,
      probabilities: learner.probabilities,
      classes: learner.head.classes,
      isCandidate,
      coverage: () => { throw new Error('not used'); },
      votes: () => new Map(),
      neighbors: new ExactRowIndex(learner.matrix),
      random: () => 0.5,
    };
  }

  /** 960 points in 4 overlapping clusters, 12 labeled, re-scored. */
  function taught(ranker: string): { learner: ActiveLearner; matrix: EmbeddingMatrix; truth: Map<number, string> } {
    const { matrix, truth } = clusters(4, 240, 16, 0.9, 5);
    const learner = new ActiveLearner(matrix, { ranker: ranker as never });
    for (const id of matrix.ids.slice(0, 12)) learner.learn(id, truth.get(id)!);
    learner.rescore();
    return { learner, matrix, truth };
  }

  it('rankedList orders by the key, then by row, and holds only eligible rows', () => {
    const probabilities = new Float32Array([0.5, 0.5, 0.9, 0.1, 0.5, 0.5, 0.2, 0.8, 0.5, 0.5]);
    // Margins: rows 0, 2, 4 have none; row 3 (0.2 / 0.8) has a smaller one than row 1 (0.9 / 0.1).
    expect([...rankedList(probabilities, 2, 'margin')]).toEqual([0, 2, 4, 3, 1]);
    expect([...rankedList(probabilities, 2, 'class:1')]).toEqual([3, 0, 2, 4, 1]);
    expect([...rankedList(probabilities, 2, 'confidence')]).toEqual([1, 3, 0, 2, 4]);
    expect([...rankedList(probabilities, 2, 'margin', (row) => row !== 2)]).toEqual([0, 4, 3, 1]);
    // Many ties: capped at the length, lowest rows first.
    const flat = new Float32Array(2 * 1000).fill(0.5);
    expect([...rankedList(flat, 2, 'entropy', () => true, 3)]).toEqual([0, 1, 2]);
  });

  it('walking the lists picks what a full scan picks, also after labels the lists do not know of', () => {
    for (const name of ['margin', 'least-confidence', 'entropy']) {
      const { learner, matrix, truth } = taught(name);
      // Labels since the re-score: the lists still hold these rows; the walk must skip them.
      for (const id of matrix.ids.slice(12, 30)) learner.learn(id, truth.get(id)!);
      const picked = learner.next(8).map((p) => p.id);
      for (const id of picked) learner.release(id);
      const rowOf = (id: number) => matrix.ids.indexOf(id);
      const labeled = new Set(matrix.ids.slice(0, 30).map(rowOf));
      const context = scanContext(learner, (row) => !labeled.has(row));
      expect(picked).toEqual(getRanker(name).pick(context, 8).map((p) => matrix.ids[p.row]));
    }
  });

  it('the chain and the grid page walk the class list: same picks as a scan', () => {
    const { learner, matrix, truth } = taught('chain');
    const anchor = matrix.ids[20]!;
    learner.learn(anchor, truth.get(anchor)!);
    const picked = learner.next(6).map((p) => p.id);
    for (const id of picked) learner.release(id);
    const labeled = new Set([...matrix.ids.slice(0, 12), anchor].map((id) => matrix.ids.indexOf(id)));
    const context = { ...scanContext(learner, (row: number) => !labeled.has(row)), lastLabeled: { row: matrix.ids.indexOf(anchor), label: truth.get(anchor)! } };
    expect(picked).toEqual(getRanker('chain').pick(context, 6).map((p) => matrix.ids[p.row]));
    const page = learner.page(10, truth.get(anchor)!, 0)!;
    expect(page.items.map((p) => p.id)).toEqual(pageFor(context, truth.get(anchor)!, 10).map((p) => matrix.ids[p.row]));
  });

  it('an item taken back (undo) can be picked again before the next re-score', () => {
    const { learner } = taught('margin');
    const [first] = learner.next(1);
    learner.learn(first!.id, 'class-0');
    expect(learner.next(1)[0]!.id).not.toBe(first!.id);
    learner.forget(first!.id);
    // The probabilities are those from before the label: the same item is again the one on the boundary.
    expect(learner.next(1)[0]!.id).toBe(first!.id);
    learner.release(first!.id);
    // Lists built while it was labeled do not hold it: after the undo it must still come out.
    learner.learn(first!.id, 'class-0');
    learner.rescore();
    learner.next(1).forEach(({ id }) => learner.release(id));
    learner.forget(first!.id);
    expect(learner.next(2000).map((p) => p.id)).toContain(first!.id);
  });

  it('merges items taken back since the lists were built in the order a scan gives them', () => {
    // 10,000 points on a line: the lists are cut at RANKED_LENGTH.
    const xs = Array.from({ length: 10000 }, (_, i) => -1 + (2 * i) / 9999);
    const learner = new ActiveLearner(line(xs), { ranker: 'margin', center: false });
    learner.learn(1, 'left');
    learner.learn(10000, 'right');
    learner.rescore();
    const candidates = new Set(xs.map((_, row) => row).filter((row) => row !== 0 && row !== 9999));
    const context: RankContext = {
      matrix: learner.matrix, probabilities: learner.probabilities, classes: learner.head.classes, isCandidate: (row) => candidates.has(row),
      coverage: () => new Float32Array(0), votes: () => new Map(), neighbors: new ExactRowIndex(learner.matrix), random: () => 0.5,
    };
    const scanned = getRanker('margin').pick(context, 12).map((p) => p.row + 1);
    // Labeled before the lists are built (so not in them), then taken back: the walk must merge them in.
    const back = [scanned[0]!, scanned[3]!, scanned[11]!];
    for (const id of back) learner.learn(id, 'left');
    learner.next(1).forEach(({ id }) => learner.release(id)); // builds the margin list, without them
    for (const id of back) learner.forget(id);
    expect(learner.next(12).map((p) => p.id)).toEqual(scanned);
  });

  it('falls back to a scan when a list runs out of candidates', () => {
    // 10,000 points on a line: more than RANKED_LENGTH, so the lists are cut.
    const xs = Array.from({ length: 10000 }, (_, i) => -1 + (2 * i) / 9999);
    const learner = new ActiveLearner(line(xs), { ranker: 'margin', center: false });
    learner.learn(1, 'left');
    learner.learn(10000, 'right');
    learner.rescore();
    const [best] = learner.next(1);
    learner.release(best!.id);
    // Hide every row the margin list holds (skipped, no re-score): what is left comes from a scan.
    const hidden = new Set<number>();
    while (hidden.size < 9000) {
      for (const { id } of learner.next(500)) {
        hidden.add(id);
        learner.setShown(id, 'skipped');
      }
    }
    const rest = learner.next(2000).map((p) => p.id);
    expect(rest.length).toBe(10000 - 2 - hidden.size);
    expect(rest.some((id) => hidden.has(id))).toBe(false);
  });

  it('the scorer worker builds the same lists, among candidates only', async () => {
    const { learner, matrix, truth } = taught('margin');
    for (const id of matrix.ids.slice(12, 20)) learner.learn(id, truth.get(id)!);
    const scorer = await OnnxScorer.create({ threads: 1 });
    try {
      const candidates = new Uint8Array(new SharedArrayBuffer(matrix.ids.length));
      candidates[3] = 1;
      const { probabilities, ranked } = await scorer.scoreRanked(learner.head.exportWeights(), learner.matrix, { candidates, keys: ['margin', 'class:2'] });
      expect([...ranked.keys()]).toEqual(['margin', 'class:2']);
      for (const key of ['margin', 'class:2'] as const) {
        expect([...ranked.get(key)!]).toEqual([...rankedList(probabilities, 4, key, (row) => row !== 3)]);
        expect(ranked.get(key)!.includes(3)).toBe(false);
      }
      await learner.rescoreWith(scorer);
      const picked = learner.next(5).map((p) => p.id);
      expect(new Set(picked).size).toBe(5);
      expect(picked.some((id) => matrix.ids.slice(0, 20).includes(id))).toBe(false);
    } finally {
      await scorer.close();
    }
  });

  it('diversity on a large set works on a sample, and an undo uncovers what the label covered', () => {
    const xs = Array.from({ length: 3 * COVERAGE_SAMPLE }, (_, i) => -1 + (2 * i) / (3 * COVERAGE_SAMPLE - 1));
    const learner = new ActiveLearner(line(xs), { ranker: 'diversity', center: false });
    const x = (id: number) => xs[id - 1]!;
    learner.learn(1, 'left');
    const [far] = learner.next(1);
    expect(x(far!.id)).toBeGreaterThan(0.99);
    learner.learn(far!.id, 'right');
    const [middle] = learner.next(1);
    expect(Math.abs(x(middle!.id))).toBeLessThan(0.01);
    learner.release(middle!.id);
    learner.forget(far!.id);
    const [again] = learner.next(1);
    expect(x(again!.id)).toBeGreaterThan(0.99);
  });

  it('random order on a large set draws distinct candidates', () => {
    const rows = 70000;
    const matrix: EmbeddingMatrix = { ids: Array.from({ length: rows }, (_, i) => i + 1), dim: 2, vectors: new Float32Array(rows * 2).fill(1) };
    const learner = new ActiveLearner(matrix, { ranker: 'random', center: false });
    learner.learn(5, 'a');
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++) for (const { id } of learner.next(50)) seen.add(id);
    expect(seen.size).toBe(1000);
    expect(seen.has(5)).toBe(false);
  });
});
