#!/usr/bin/env node
// Vector search latency (p50/p99, k=10) of the embedded index, unfiltered and filtered to the unlabeled half
// ("nearest unlabeled"): the HNSW graph, the index's exact search (usearch's native scan of the whole matrix)
// and the JavaScript scan (exactTopK, over all rows and over the matching rows), all in the same run; what
// search() picks by default; recall@10 of the graph against the exact answer; build, save and reload times.
//
//   npm run build && node bench/vectors.js [--points 10000] [--dim 1280] [--runs 3] [--queries 200]
//                                          [--data uniform|clustered] [--reuse DIR]
//
// Each run builds a fresh index (the build is timed), unless --reuse DIR: the first run builds and saves into
// DIR, later runs reload from it (for 1M points, where a build takes most of an hour on a shared 2-core box).
// Prints one JSON line per run and a markdown summary (medians over runs); also writes bench/out/vectors-*.json.
//
//   node bench/vectors.js --learner [--points 100000] [--dim 1280] [--runs 3] [--queries 200] [--data clustered]
//
// The learner's neighbour searches instead (issue 14 §4): per label, the k-NN vote ("nearest unlabeled to X":
// learn, then next() with the knn ranker) and the reference strip (labeledNeighbors), through the exact scan as
// the learner uses it by default (a strided sample beyond 16,384 rows), the exact scan of every row, and the
// HNSW graph openRowIndex builds (built once, reused by every run: a build is minutes at 100k), in the same run;
// the graph's recall@10 of the votes against the full scan. One learner per configuration per run.
const { mkdirSync, mkdtempSync, rmSync, existsSync, readdirSync, statSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { UsearchIndex, defaultExactThreshold, exactTopK, ExactRowIndex, openRowIndex } = require('../dist/vectors');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const points = Number(option('points', '10000'));
const dim = Number(option('dim', '1280'));
const runs = Number(option('runs', '3'));
const queryCount = Number(option('queries', '200'));
const data = option('data', 'uniform');
const reuse = option('reuse', null);
const learnerMode = args.includes('--learner');
const K = 10;
const BATCH = 10_000;

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const median = (values) => quantile(values, 0.5);

/** Seeded xorshift, so every run (and every reader) sees the same vectors. */
function generator(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/**
 * 'uniform': independent uniform coordinates, the worst case for any graph index (every point is about as far
 * from every other). 'clustered': 1,000 random centres plus noise, closer to what image embeddings look like.
 */
function makeVectors(count, seed) {
  const random = generator(seed);
  const out = new Float32Array(count * dim);
  if (data === 'uniform') {
    for (let i = 0; i < out.length; i++) out[i] = random() - 0.5;
    return out;
  }
  const centres = makeCentres();
  for (let row = 0; row < count; row++) {
    const centre = Math.floor(random() * 1000) * dim;
    for (let j = 0; j < dim; j++) out[row * dim + j] = centres[centre + j] + 0.35 * (random() - 0.5);
  }
  return out;
}
let centreCache = null;
function makeCentres() {
  if (centreCache === null) {
    const random = generator(424242);
    centreCache = new Float32Array(1000 * dim).map(() => random() - 0.5);
  }
  return centreCache;
}

function unitRows(matrix) {
  const out = new Float32Array(matrix.length);
  for (let offset = 0; offset < matrix.length; offset += dim) {
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += matrix[offset + j] ** 2;
    const scale = 1 / Math.sqrt(sum);
    for (let j = 0; j < dim; j++) out[offset + j] = matrix[offset + j] * scale;
  }
  return out;
}

const cpuSeconds = (since) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

function folderBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(full) : statSync(full).size;
  }
  return total;
}

async function build(dir, vectors) {
  const index = await UsearchIndex.open({ kind: 'usearch', dir, dim, metric: 'cosine' });
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let start = 0; start < points; start += BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(points, start + BATCH); i++) {
      // Half labeled, so the filter { labeled: false } keeps 50%.
      const labeled = i % 2 === 0;
      batch.push({ id: i + 1, vector: vectors.subarray(i * dim, (i + 1) * dim), payload: { labeled, label: labeled ? `class-${i % 10}` : null, split: null } });
    }
    await index.upsert(batch);
  }
  return { index, buildSeconds: (performance.now() - started) / 1000, buildCpuSeconds: cpuSeconds(cpu) };
}

async function time(queries, count, search) {
  const times = [];
  const results = [];
  for (let q = 0; q < count; q++) {
    const query = queries[q];
    const started = process.hrtime.bigint();
    results.push(await search(query));
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), results };
}

function recall(approximate, exact) {
  let found = 0;
  let total = 0;
  approximate.forEach((hits, q) => {
    const truth = new Set(exact[q].map((hit) => hit.id));
    total += truth.size;
    for (const hit of hits) if (truth.has(hit.id)) found++;
  });
  return found / total;
}

async function oneRun(run, vectors, queries) {
  const dir = reuse ?? mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-vectors-'));
  let index;
  const result = { run, points, dim, data, metric: 'cosine', exactThreshold: defaultExactThreshold(dim) };
  if (reuse && existsSync(path.join(reuse, 'manifest.json'))) {
    const started = performance.now();
    index = await UsearchIndex.open({ kind: 'usearch', dir, dim, metric: 'cosine' });
    result.reloadSeconds = (performance.now() - started) / 1000;
  } else {
    const built = await build(dir, vectors);
    index = built.index;
    result.buildSeconds = built.buildSeconds;
    result.buildCpuSeconds = built.buildCpuSeconds;
    let started = performance.now();
    await index.save();
    result.saveSeconds = (performance.now() - started) / 1000;
    result.folderMB = folderBytes(dir) / 2 ** 20;
    await index.close();
    started = performance.now();
    index = await UsearchIndex.open({ kind: 'usearch', dir, dim, metric: 'cosine' });
    result.reloadSeconds = (performance.now() - started) / 1000;
  }
  result.rssGB = process.memoryUsage().rss / 2 ** 30;
  // Exact scans of 1M points are slow: fewer queries keep the run bounded, p99 is then the max of those.
  const exactQueries = Math.max(20, Math.min(queryCount, Math.floor(4e9 / (points * dim))));
  const unlabeled = { labeled: false };
  const hnsw = await time(queries, queryCount, (q) => index.searchApproximate(q, K));
  const hnswFiltered = await time(queries, queryCount, (q) => index.searchApproximate(q, K, unlabeled));
  const exact = await time(queries, exactQueries, (q) => index.searchExact(q, K));
  const exactFiltered = await time(queries, exactQueries, (q) => index.searchExact(q, K, unlabeled));
  const auto = await time(queries, Math.min(queryCount, exactQueries), (q) => index.search(q, K));
  const autoFiltered = await time(queries, Math.min(queryCount, exactQueries), (q) => index.search(q, K, unlabeled));
  // The JavaScript scan on the same unit rows the index holds: over all rows, and over the unlabeled (odd) rows.
  const unit = unitRows(vectors);
  const oddRows = Int32Array.from({ length: points >> 1 }, (_, i) => 2 * i + 1);
  const unitQueries = queries.map((q) => unitRows(q));
  const js = await time(unitQueries, exactQueries, (q) => exactTopK(unit, dim, q, K, { rowCount: points }));
  const jsFiltered = await time(unitQueries, exactQueries, (q) => exactTopK(unit, dim, q, K, { rows: oddRows }));
  const summary = (t) => ({ p50: t.p50, p99: t.p99 });
  Object.assign(result, {
    queries: queryCount,
    exactQueries,
    hnsw: summary(hnsw),
    hnswFiltered: summary(hnswFiltered),
    exact: summary(exact),
    exactFiltered: summary(exactFiltered),
    jsScan: summary(js),
    jsScanFiltered: summary(jsFiltered),
    auto: { ...summary(auto), path: points <= result.exactThreshold ? 'exact' : 'hnsw' },
    autoFiltered: summary(autoFiltered),
    recall: recall(hnsw.results.slice(0, exactQueries), exact.results),
    recallFiltered: recall(hnswFiltered.results.slice(0, exactQueries), exactFiltered.results),
  });
  await index.close();
  if (!reuse) rmSync(dir, { recursive: true, force: true });
  return result;
}

async function main() {
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  console.error(`vectors bench: ${points} × ${dim}-d ${data}, ${runs} runs, ${queryCount} queries; ${os.cpus().length} cores, load ${load}`);
  const genStarted = performance.now();
  const vectors = makeVectors(points, 7);
  const queryMatrix = makeVectors(queryCount, 99);
  const queries = Array.from({ length: queryCount }, (_, q) => queryMatrix.subarray(q * dim, (q + 1) * dim));
  console.error(`generated in ${((performance.now() - genStarted) / 1000).toFixed(1)} s`);
  if (reuse) mkdirSync(reuse, { recursive: true });
  const results = [];
  for (let run = 1; run <= runs; run++) {
    const result = await oneRun(run, vectors, queries);
    result.loadAverage = os.loadavg()[0];
    console.log(JSON.stringify(result));
    results.push(result);
  }
  const med = (pick) => {
    const values = results.map(pick).filter((value) => value !== undefined);
    return values.length === 0 ? '—' : median(values).toFixed(2);
  };
  const pair = (pick) => `${med((r) => pick(r).p50)} / ${med((r) => pick(r).p99)}`;
  const line = [
    `| ${points.toLocaleString('en')} × ${dim} ${data}`,
    pair((r) => r.hnsw),
    pair((r) => r.hnswFiltered),
    pair((r) => r.exact),
    pair((r) => r.exactFiltered),
    pair((r) => r.jsScan),
    pair((r) => r.jsScanFiltered),
    `${pair((r) => r.auto)} (${results[0].auto.path})`,
    `${med((r) => r.recall)} / ${med((r) => r.recallFiltered)}`,
    `${med((r) => r.buildSeconds)} (cpu ${med((r) => r.buildCpuSeconds)})`,
    `${med((r) => r.saveSeconds)} / ${med((r) => r.reloadSeconds)}`,
    `${med((r) => r.folderMB)} |`,
  ].join(' | ');
  console.log('| data | HNSW p50/p99 ms | HNSW filtered | exact (native) | exact filtered | JS scan | JS scan filtered | search() default | recall@10 (all / filtered) | build s | save / reload s | folder MB |');
  console.log(line);
  mkdirSync(path.join(__dirname, 'out'), { recursive: true });
  writeFileSync(path.join(__dirname, 'out', `vectors-${points}-${dim}-${data}.json`), JSON.stringify({ load, results }, null, 2));
}

/** The learner's searches, per label, with one neighbour index; `labels` are the items labeled, in order. */
function learnerRun(ActiveLearner, matrix, neighborIndex, labels) {
  const learner = new ActiveLearner(matrix, { ranker: 'knn', voteNeighbors: K, neighborIndex });
  const votes = [];
  const strip = [];
  labels.forEach((id, i) => {
    learner.learn(id, `class-${i % 10}`);
    let started = process.hrtime.bigint();
    // next() casts the pending label's votes: one "nearest unlabeled to X" search, then the knn pick.
    for (const pick of learner.next(1)) learner.release(pick.id);
    votes.push(Number(process.hrtime.bigint() - started) / 1e6);
    started = process.hrtime.bigint();
    learner.labeledNeighbors(matrix.ids[(id * 7919) % matrix.ids.length], 8);
    strip.push(Number(process.hrtime.bigint() - started) / 1e6);
  });
  return { learner, votes: { p50: quantile(votes, 0.5), p99: quantile(votes, 0.99) }, strip: { p50: quantile(strip, 0.5), p99: quantile(strip, 0.99) } };
}

/** The learner's k-NN vote and reference-strip latency: default scan, full scan and HNSW, in the same run. */
async function learnerBench() {
  const { ActiveLearner } = require('../dist/learn');
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  console.error(`learner neighbours bench: ${points} × ${dim}-d ${data}, ${runs} runs, ${queryCount} labels; ${os.cpus().length} cores, load ${load}`);
  const matrix = { ids: Array.from({ length: points }, (_, i) => i + 1), dim, vectors: makeVectors(points, 7) };
  const random = generator(5);
  const labels = [...new Set(Array.from({ length: queryCount * 2 }, () => 1 + Math.floor(random() * points)))].slice(0, queryCount);
  // The graph over the learner's own (centred, unit) rows, built once; every learner of the same matrix has the same rows.
  let graph;
  let buildSeconds;
  const cpu = process.cpuUsage();
  const started = performance.now();
  new ActiveLearner(matrix, { neighborIndex: (rows) => (graph = openRowIndex(rows, { exactBelow: 0 })) });
  await graph.built;
  buildSeconds = (performance.now() - started) / 1000;
  const buildCpuSeconds = cpuSeconds(cpu);
  const fullScan = (rows) => {
    const exact = new ExactRowIndex(rows);
    return { indexed: true, search: (query, k, filter) => exact.search(query, k, filter), close() {} };
  };
  const results = [];
  for (let run = 1; run <= runs; run++) {
    const sampled = learnerRun(ActiveLearner, matrix, undefined, labels);
    const full = learnerRun(ActiveLearner, matrix, fullScan, labels);
    const hnsw = learnerRun(ActiveLearner, matrix, () => graph, labels);
    // Recall of the graph's votes: the rows each configuration voted for, against the full scan's.
    const voted = (learner) => new Set(learner.currentVotes().keys()); // private in TypeScript; a bench may look
    const truth = voted(full.learner);
    const found = [...voted(hnsw.learner)].filter((row) => truth.has(row)).length;
    const sampledFound = [...voted(sampled.learner)].filter((row) => truth.has(row)).length;
    const result = { run, points, dim, data, labels: labels.length, sampled: { votes: sampled.votes, strip: sampled.strip }, full: { votes: full.votes, strip: full.strip }, hnsw: { votes: hnsw.votes, strip: hnsw.strip }, voteRecall: found / truth.size, sampledVoteRecall: sampledFound / truth.size, buildSeconds, buildCpuSeconds, loadAverage: os.loadavg()[0] };
    console.log(JSON.stringify(result));
    results.push(result);
  }
  const med = (pick) => median(results.map(pick)).toFixed(2);
  const pair = (pick) => `${med((r) => pick(r).p50)} / ${med((r) => pick(r).p99)}`;
  console.log('| rows | k-NN vote ms p50/p99: default scan (sampled) | full scan | HNSW | strip ms: default | full | HNSW | vote recall@10 HNSW / sampled | build s (CPU s) |');
  console.log(
    [
      `| ${points.toLocaleString('en')} × ${dim} ${data}`,
      pair((r) => r.sampled.votes),
      pair((r) => r.full.votes),
      pair((r) => r.hnsw.votes),
      pair((r) => r.sampled.strip),
      pair((r) => r.full.strip),
      pair((r) => r.hnsw.strip),
      `${med((r) => r.voteRecall)} / ${med((r) => r.sampledVoteRecall)}`,
      `${buildSeconds.toFixed(1)} (${buildCpuSeconds.toFixed(1)}) |`,
    ].join(' | '),
  );
  mkdirSync(path.join(__dirname, 'out'), { recursive: true });
  writeFileSync(path.join(__dirname, 'out', `vectors-learner-${points}-${dim}-${data}.json`), JSON.stringify({ load, results }, null, 2));
  graph.close();
}

(learnerMode ? learnerBench() : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
