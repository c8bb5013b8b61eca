import { DatasetError } from '../../src/errors';
import { mulberry32 } from '../../src/random';
import { layout2d, mapSvg, pca, projectEmbeddings, stratifiedSample, type MapPoint } from '../../src/map';
import { symmetricEigen } from '../../src/map/pca';

/** Standard normal draws from a seeded generator. */
function normal(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(Math.max(uniform(), 1e-12))) * Math.cos(2 * Math.PI * uniform());
}

/** `classes` Gaussian blobs in `dim` dimensions: centres ~N(0, 1) per axis, points ~N(centre, spread²). */
function blobs(classes: number, perClass: number, dim: number, spread = 0.5, seed = 3): { ids: number[]; dim: number; vectors: Float32Array; truth: number[] } {
  const g = normal(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, g));
  const rows = classes * perClass;
  const vectors = new Float32Array(rows * dim);
  const truth: number[] = [];
  for (let r = 0; r < rows; r++) {
    truth.push(r % classes);
    for (let j = 0; j < dim; j++) vectors[r * dim + j] = centres[r % classes]![j]! + g() * spread;
  }
  return { ids: truth.map((_, r) => r + 1), dim, vectors, truth };
}

/** Share of each point's k nearest 2-D neighbours that have its class. */
function knnAgreement(xy: Float32Array, truth: number[], k: number): number {
  const n = truth.length;
  let agree = 0;
  for (let i = 0; i < n; i++) {
    const distances: [number, number][] = [];
    for (let j = 0; j < n; j++) if (j !== i) distances.push([(xy[2 * i]! - xy[2 * j]!) ** 2 + (xy[2 * i + 1]! - xy[2 * j + 1]!) ** 2, j]);
    distances.sort((a, b) => a[0] - b[0]);
    for (let m = 0; m < k; m++) if (truth[distances[m]![1]] === truth[i]) agree++;
  }
  return agree / (n * k);
}

describe('pca', () => {
  it('finds the known axes and variances of a tiny matrix', () => {
    // Four points on the axes: variance 8/3 along x, 2/3 along y (over n − 1 = 3).
    const result = pca(Float32Array.from([2, 0, 0, 1, -2, 0, 0, -1]), 4, 2, 2);
    expect(Array.from(result.mean)).toEqual([0, 0]);
    expect(result.variance[0]).toBeCloseTo(8 / 3, 10);
    expect(result.variance[1]).toBeCloseTo(2 / 3, 10);
    expect(Array.from(result.components).map((v) => Math.abs(v))).toEqual([1, 0, 0, 1].map((v) => expect.closeTo(v, 10)));
    expect(Array.from(result.projected)).toEqual([2, 0, 0, 1, -2, 0, 0, -1].map((v) => expect.closeTo(v, 5)));
    expect(result.totalVariance).toBeCloseTo(10 / 3, 10);
  });

  it('puts points on a line onto one component along the line', () => {
    // x = (1, 1, 1) + t (1, 2, 2) / 3 for t = −3, −1, 0, 4: one direction, all the variance.
    const ts = [-3, -1, 0, 4];
    const vectors = Float32Array.from(ts.flatMap((t) => [1 + t / 3, 1 + (2 * t) / 3, 1 + (2 * t) / 3]));
    const result = pca(vectors, 4, 3, 2);
    expect(Array.from(result.components.subarray(0, 3))).toEqual([1 / 3, 2 / 3, 2 / 3].map((v) => expect.closeTo(v, 5)));
    const meanT = ts.reduce((s, t) => s + t, 0) / 4;
    expect(result.variance[0]).toBeCloseTo(ts.reduce((s, t) => s + (t - meanT) ** 2, 0) / 3, 4);
    expect(result.variance[1]).toBeCloseTo(0, 5);
    expect(Array.from({ length: 4 }, (_, r) => result.projected[r * 2]!)).toEqual(ts.map((t) => expect.closeTo(t - meanT, 4)));
  });

  it('matches the eigenvalues of the covariance on a bigger matrix when the subspace is narrower than the data', () => {
    const rows = 300;
    const dim = 40;
    const g = normal(9);
    // Axis j scaled by 1/(j+1): a decaying spectrum, as embeddings have.
    const vectors = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) vectors[r * dim + j] = (g() * 3) / (j + 1) + j;
    const result = pca(vectors, rows, dim, 5, { seed: 4 });
    const covariance = new Float64Array(dim * dim);
    for (let r = 0; r < rows; r++) {
      for (let a = 0; a < dim; a++) {
        for (let b = 0; b < dim; b++) covariance[a * dim + b]! += (vectors[r * dim + a]! - result.mean[a]!) * (vectors[r * dim + b]! - result.mean[b]!);
      }
    }
    for (let i = 0; i < covariance.length; i++) covariance[i]! /= rows - 1;
    const exact = Array.from(symmetricEigen(covariance, dim).values).sort((a, b) => b - a);
    for (let c = 0; c < 5; c++) expect(result.variance[c]! / exact[c]!).toBeCloseTo(1, 3);
  });
});

describe('stratifiedSample', () => {
  it('keeps every class, respects the size and repeats for a seed', () => {
    const groups: (string | null)[] = [...Array(9000).fill('big'), ...Array(900).fill(null), ...Array(97).fill('mid'), 'rare', 'rare', 'rare'];
    const sample = stratifiedSample(groups, 500, 7);
    expect(sample).toHaveLength(500);
    expect(new Set(sample).size).toBe(500);
    expect(sample).toEqual([...sample].sort((a, b) => a - b));
    const counts = new Map<string | null, number>();
    for (const index of sample) counts.set(groups[index]!, (counts.get(groups[index]!) ?? 0) + 1);
    expect(counts.get('rare')).toBe(3);
    expect(counts.get('mid')).toBeGreaterThanOrEqual(20);
    expect(counts.get('big')).toBeGreaterThan(counts.get(null)!);
    expect(stratifiedSample(groups, 500, 7)).toEqual(sample);
    expect(stratifiedSample(groups, 500, 8)).not.toEqual(sample);
    expect(stratifiedSample(['a', 'b'], 10, 1)).toEqual([0, 1]);
  });
});

describe('layout2d and projectEmbeddings', () => {
  const data = blobs(5, 60, 256);

  it('keeps five well-separated 256-d clusters apart in 2-D (UMAP), the same for a seed', async () => {
    const first = await projectEmbeddings(data, { seed: 1, epochs: 200 });
    expect(first.ids).toEqual(data.ids);
    expect(first.xy).toHaveLength(data.ids.length * 2);
    expect(knnAgreement(first.xy, data.truth, 10)).toBeGreaterThanOrEqual(0.9);
    const again = await projectEmbeddings(data, { seed: 1, epochs: 200 });
    expect(Array.from(again.xy)).toEqual(Array.from(first.xy));
    const other = await projectEmbeddings(data, { seed: 2, epochs: 200 });
    expect(Array.from(other.xy)).not.toEqual(Array.from(first.xy));
  });

  it('keeps the clusters apart with PCA alone too: between-centroid distances ≫ spread within', () => {
    const xy = layout2d(data.vectors, data.ids.length, data.dim, { method: 'pca' });
    const centroids = Array.from({ length: 5 }, (_, c) => {
      const rows = data.truth.map((t, r) => (t === c ? r : -1)).filter((r) => r >= 0);
      return [rows.reduce((s, r) => s + xy[2 * r]!, 0) / rows.length, rows.reduce((s, r) => s + xy[2 * r + 1]!, 0) / rows.length, rows] as const;
    });
    const within = Math.max(
      ...centroids.map(([cx, cy, rows]) => Math.sqrt(rows.reduce((s, r) => s + (xy[2 * r]! - cx) ** 2 + (xy[2 * r + 1]! - cy) ** 2, 0) / rows.length)),
    );
    let between = Infinity;
    for (let a = 0; a < 5; a++) for (let b = a + 1; b < 5; b++) between = Math.min(between, Math.hypot(centroids[a]![0] - centroids[b]![0], centroids[a]![1] - centroids[b]![1]));
    // Five random centres in 256-d project to 2-D with some pairs closer than others; still well above the spread.
    expect(between / within).toBeGreaterThan(3);
  });

  it('runs in a worker thread with the same answer as inline, reporting progress', async () => {
    const phases = new Set<string>();
    const inline = await projectEmbeddings(data, { seed: 5, epochs: 50, worker: false });
    const threaded = await projectEmbeddings(data, { seed: 5, epochs: 50, worker: true, onProgress: (p) => phases.add(p.phase) });
    expect(Array.from(threaded.xy)).toEqual(Array.from(inline.xy));
    expect([...phases].sort()).toEqual(['layout', 'neighbors', 'pca']);
  });

  it('skips vectors with NaN with a warning naming the item', async () => {
    const vectors = data.vectors.slice(0, 40 * data.dim);
    vectors[7 * data.dim + 3] = NaN;
    vectors[20 * data.dim] = Infinity;
    const warnings: string[] = [];
    const result = await projectEmbeddings({ ids: data.ids.slice(0, 40), dim: data.dim, vectors }, { method: 'pca', onWarning: (m) => warnings.push(m) });
    expect(result.ids).toHaveLength(38);
    expect(result.ids).not.toContain(8);
    expect(result.skipped.map((s) => s.id)).toEqual([8, 21]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/skipped 2 items .*NaN.*item 8, 21/);
  });

  it('refuses fewer than 3 items and identical vectors with a clear DatasetError', async () => {
    const two = { ids: [1, 2], dim: 3, vectors: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    await expect(projectEmbeddings(two)).rejects.toThrow(DatasetError);
    await expect(projectEmbeddings(two)).rejects.toThrow(/at least 3 items .*got 2/);
    const nanThird = { ids: [1, 2, 3], dim: 3, vectors: Float32Array.from([1, 2, 3, 4, 5, 6, NaN, 0, 0]) };
    await expect(projectEmbeddings(nanThird)).rejects.toThrow(/got 2 \(1 skipped\)/);
    const same = { ids: [1, 2, 3, 4], dim: 3, vectors: Float32Array.from([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]) };
    await expect(projectEmbeddings(same)).rejects.toThrow(/all 4 vectors are identical/);
  });

  it('lays out as few as 3 items with UMAP', async () => {
    const three = { ids: [1, 2, 3], dim: 3, vectors: Float32Array.from([0, 0, 0, 1, 0, 0, 0, 5, 0]) };
    const result = await projectEmbeddings(three, { seed: 1 });
    expect(Array.from(result.xy).every(Number.isFinite)).toBe(true);
  });
});

describe('mapSvg', () => {
  const points: MapPoint[] = [
    ...Array.from({ length: 30 }, (_, i): MapPoint => ({ x: i, y: i % 7, label: 'cat', source: 'human' })),
    ...Array.from({ length: 12 }, (_, i): MapPoint => ({ x: -i, y: i, label: 'dog', source: 'human' })),
    ...Array.from({ length: 5 }, (_, i): MapPoint => ({ x: i, y: -i, label: 'dog', source: 'model' })),
    ...Array.from({ length: 4 }, (_, i): MapPoint => ({ x: i, y: 2 * i, label: 'bird <&>', source: 'model' })),
    ...Array.from({ length: 9 }, (_, i): MapPoint => ({ x: i / 2, y: 3, label: null, source: null })),
  ];

  it('draws one mark per point and a legend entry per class with its counts', () => {
    const svg = mapSvg(points, { title: 'test map' });
    const marks = svg.slice(svg.indexOf('<g class="points">'), svg.indexOf('<g class="legend">'));
    expect(marks.match(/<circle /g)).toHaveLength(points.length);
    expect(svg.match(/<g class="legend-entry">/g)).toHaveLength(4); // cat, dog, bird, unlabeled
    expect(svg).toContain('cat <tspan fill="#666">30 labeled</tspan>');
    expect(svg).toContain('dog <tspan fill="#666">12 labeled, 5 suggested</tspan>');
    expect(svg).toContain('bird &lt;&amp;&gt; <tspan fill="#666">4 suggested</tspan>');
    expect(svg).toContain('unlabeled <tspan fill="#666">9</tspan>');
    // Suggestions hollow, labels filled, unlabeled grey.
    expect(svg).toMatch(/<g class="suggested" fill="none" stroke="#/);
    expect(svg).toMatch(/<g class="labeled" fill="#/);
    expect(svg).toMatch(/<g class="unlabeled" fill="#9a9a9a"/);
  });

  it('switches to density bins past binsFrom points', () => {
    const svg = mapSvg(points, { binsFrom: 10 });
    expect(svg).toContain('<g class="bins">');
    expect(svg).not.toContain('<g class="points">');
    expect(svg.match(/<g class="legend-entry">/g)).toHaveLength(4);
  });
});
