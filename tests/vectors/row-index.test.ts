import { EXACT_ROWS, ExactRowIndex, HnswRowIndex, openRowIndex, type RowFilter, type RowHit, type RowIndex } from '../../src/vectors';
import type { EmbeddingMatrix } from '../../src/embed';
import { gaussianVector, seeded } from './random-vectors';

/** `rows` unit vectors in `dim` dimensions around 20 centres: clustered, as image embeddings are. */
function unitRows(rows: number, dim: number, seed: number): EmbeddingMatrix {
  const random = seeded(seed);
  const centres = Array.from({ length: 20 }, () => gaussianVector(random, dim));
  const vectors = new Float32Array(rows * dim);
  for (let row = 0; row < rows; row++) {
    const centre = centres[row % centres.length]!;
    const noise = gaussianVector(random, dim);
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += (vectors[row * dim + j] = centre[j]! + 0.5 * noise[j]!) ** 2;
    for (let j = 0; j < dim; j++) vectors[row * dim + j]! /= Math.sqrt(norm);
  }
  return { ids: Array.from({ length: rows }, (_, row) => 1000 + row), dim, vectors };
}

/** What a correct search answers: a float64 brute force over the accepted rows, best first, ties by row. */
function bruteForce(matrix: EmbeddingMatrix, query: Float32Array, k: number, accept: (row: number) => boolean = () => true): number[] {
  const scored: { row: number; score: number }[] = [];
  for (let row = 0; row < matrix.ids.length; row++) {
    if (!accept(row)) continue;
    let score = 0;
    for (let j = 0; j < matrix.dim; j++) score += query[j]! * matrix.vectors[row * matrix.dim + j]!;
    scored.push({ row, score });
  }
  return scored.sort((a, b) => b.score - a.score || a.row - b.row).slice(0, k).map((hit) => hit.row);
}

const rowsOf = (hits: RowHit[]) => hits.map((hit) => hit.row);

/** One contract for every RowIndex: the exact scan, and the graph once built. */
function describeRowIndexContract(name: string, open: (matrix: EmbeddingMatrix) => Promise<RowIndex>): void {
  describe(`${name} (RowIndex contract)`, () => {
    const matrix = unitRows(1500, 24, 5);
    const query = (row: number) => matrix.vectors.subarray(row * matrix.dim, (row + 1) * matrix.dim);
    let index: RowIndex;
    beforeAll(async () => {
      index = await open(matrix);
    });
    afterAll(() => index.close());

    it('finds the nearest rows, best first, the query row itself first', () => {
      for (const row of [0, 7, 1499]) {
        const hits = index.search(query(row), 10);
        expect(rowsOf(hits)).toEqual(bruteForce(matrix, query(row), 10));
        expect(hits[0]!.row).toBe(row);
        expect(hits.every((hit, i) => i === 0 || hit.score <= hits[i - 1]!.score)).toBe(true);
      }
    });

    it('answers "nearest unlabeled to X" as one filtered query, over-sampling or scanning as the filter needs', () => {
      const labeled = (row: number) => row % 3 === 0;
      const filters: RowFilter[] = [
        { accept: (row) => row !== 3 && !labeled(row), matches: 1000 }, // most rows pass: the graph
        { accept: (row) => row !== 3 && labeled(row), matches: 499 }, // a third
        { accept: (row) => row % 100 === 1, matches: 15 }, // few: the scan
        { accept: (row) => row % 100 === 1 }, // no count given: assumed all, the graph grows and then scans
      ];
      for (const filter of filters) {
        const hits = index.search(query(3), 10, filter);
        expect(rowsOf(hits)).toEqual(bruteForce(matrix, query(3), 10, filter.accept));
        expect(hits.every((hit) => filter.accept(hit.row))).toBe(true);
      }
    });

    it('returns every accepted row when fewer than k pass, and nothing when none does', () => {
      expect(rowsOf(index.search(query(0), 10, { accept: (row) => row < 4, matches: 4 }))).toEqual(bruteForce(matrix, query(0), 10, (row) => row < 4));
      expect(index.search(query(0), 10, { accept: () => false, matches: 0 })).toEqual([]);
    });

    it('scores a row alike whichever path found it', () => {
      const all = index.search(query(11), 5);
      const filtered = index.search(query(11), 5, { accept: (row) => row === all[2]!.row, matches: 1 });
      expect(filtered).toEqual([all[2]]);
    });
  });
}

describeRowIndexContract('ExactRowIndex', async (matrix) => new ExactRowIndex(matrix));
// A beam wider than the set: the walk visits every reachable node, so the graph must be exact here. One
// insert thread: concurrent insertion is nondeterministic (see usearch-index.test.ts).
describeRowIndexContract('HnswRowIndex', async (matrix) => {
  const index = new HnswRowIndex(matrix, { hnsw: { expansionSearch: 2048 }, insertThreads: 1, exactThreshold: 0 });
  await index.built;
  return index;
});

describe('HnswRowIndex builds in the background', () => {
  const matrix = unitRows(3000, 16, 9);
  const query = matrix.vectors.slice(0, matrix.dim);

  it('answers exactly (not indexed) until its graph holds every row, then through the graph', async () => {
    const index = new HnswRowIndex(matrix, { insertThreads: 1 });
    // The constructor does no work: the first slice waits for a turn of the event loop.
    expect(index.indexed).toBe(false);
    expect(rowsOf(index.search(query, 5))).toEqual(bruteForce(matrix, query, 5));
    await index.built;
    expect(index.indexed).toBe(true);
    expect(rowsOf(index.search(query, 5))).toEqual(bruteForce(matrix, query, 5));
    index.close();
  });

  it('stops building when its signal aborts, and keeps answering exactly', async () => {
    const stop = new AbortController();
    const index = new HnswRowIndex(matrix, { signal: stop.signal, insertThreads: 1 });
    stop.abort();
    await index.built;
    expect(index.indexed).toBe(false);
    expect(rowsOf(index.search(query, 5, { accept: (row) => row > 0 }))).toEqual(bruteForce(matrix, query, 5, (row) => row > 0));
  });

  it('does not start when the signal has already aborted', async () => {
    const index = new HnswRowIndex(matrix, { signal: AbortSignal.abort() });
    await index.built;
    expect(index.indexed).toBe(false);
  });
});

describe('openRowIndex', () => {
  it('scans below EXACT_ROWS rows and builds a graph from there', async () => {
    const small = unitRows(50, 8, 1);
    expect(openRowIndex(small)).toBeInstanceOf(ExactRowIndex);
    expect(EXACT_ROWS).toBeGreaterThan(50);
    const graph = openRowIndex(small, { exactBelow: 50, insertThreads: 1 });
    expect(graph).toBeInstanceOf(HnswRowIndex);
    await (graph as HnswRowIndex).built;
    expect(graph.indexed).toBe(true);
    graph.close();
  });
});
