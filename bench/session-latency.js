#!/usr/bin/env node
// Latency of the labeling loop at scale (issue 4): label → next item ready, the head update after a label,
// the background re-rank, and a full re-score of every item — against an exact brute-force scan (score
// every item in JavaScript and pick the next one, what a loop without prefetch and SIMD would do), all in
// the same run. Synthetic clustered vectors, 10 classes.
//
//   npm run build && node --max-old-space-size=16000 bench/session-latency.js [--sizes 10000,100000] [--dim 1280] [--labels 60]
//        [--ranker hybrid] [--rerank margin,chain,hybrid,knn,diversity,random]
//
// --rerank: after the session's labels, the cost of one re-rank (learner.next(8), the work behind "re-ranked
// queue sent") for each named ranker on the same learner: a label, then the re-rank, 8 times (median, max).
const os = require('node:os');
const path = require('node:path');
const { mkdtempSync, rmSync } = require('node:fs');
const { Dataset } = require('../dist/dataset');
const { SessionHost, LabelingSession } = require('../dist/session');
const { OnnxScorer, scoreAll } = require('../dist/learn');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const sizes = option('sizes', '10000,100000').split(',').map(Number);
const dim = Number(option('dim', '1280'));
const labels = Number(option('labels', '60'));
const ranker = option('ranker', 'hybrid');
const rerank = option('rerank', '').split(',').filter(Boolean);
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

function vectorsFor(n) {
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
  const centres = Array.from({ length: 10 }, () => Float32Array.from({ length: dim }, random));
  const vectors = new Float32Array(n * dim);
  const truth = new Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    truth[i] = `class-${c}`;
    for (let j = 0; j < dim; j++) vectors[i * dim + j] = centres[c][j] + 0.8 * random();
  }
  return { vectors, truth };
}

async function measure(n) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-session-'));
  const ds = await Dataset.open(dir, { durability: 'normal' });
  const batch = [];
  for (let i = 0; i < n; i++) {
    batch.push({ uri: `i${i}.jpg`, width: 1, height: 1, format: 'jpeg', bytes: 1, mtimeMs: 0, hash: String(i), split: null, sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null });
    if (batch.length === 50000 || i === n - 1) ds.store.upsertItems(batch.splice(0));
  }
  const { vectors, truth } = vectorsFor(n);
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  let started = process.hrtime.bigint();
  const host = new SessionHost(ds, { embeddings: { ids, dim, vectors }, ranker, rescoreDelayMs: 0 });
  const openMs = ms(started);

  const events = [];
  let requestId = 0;
  const session = new LabelingSession(host, (envelope) => events.push({ at: process.hrtime.bigint(), message: envelope.message }), { prefetch: 8 });
  await session.handle({ type: 'hello', requestId: ++requestId });
  const nextReady = [];
  const reranked = [];
  const headUpdate = [];
  const learner = host.learner;
  const learn = learner.learn.bind(learner);
  learner.learn = (id, label) => {
    const t = process.hrtime.bigint();
    learn(id, label);
    headUpdate.push(ms(t));
  };
  for (let i = 0; i < labels; i++) {
    const current = session.queuedIds[0];
    events.length = 0;
    const t = process.hrtime.bigint();
    await session.handle({ type: 'label', requestId: ++requestId, itemId: current, label: truth[current - 1] });
    const queues = events.filter((e) => e.message.type === 'queue');
    nextReady.push(Number(queues[0].at - t) / 1e6);
    reranked.push(Number(queues.at(-1).at - t) / 1e6);
  }
  await host.settled();

  // One re-rank per ranker, on the learner as the session left it (scores from the last re-score).
  const rerankMs = {};
  for (const name of rerank) {
    learner.setRanker(name);
    const times = [];
    for (let k = 0; k < 8; k++) {
      const id = ((k + 1) * 104729) % n + 1;
      learn(id, truth[id - 1]);
      const t = process.hrtime.bigint();
      const picks = learner.next(8);
      times.push(ms(t));
      for (const pick of picks) learner.release(pick.id);
    }
    rerankMs[name] = times;
  }

  // Full re-score: SIMD in a worker, against JavaScript on this thread.
  const weights = learner.head.exportWeights();
  const scorer = await OnnxScorer.create();
  await scorer.score(weights, learner.matrix); // first call ships the matrix and builds the session
  const simd = [];
  for (let r = 0; r < 3; r++) {
    started = process.hrtime.bigint();
    await scorer.score(weights, learner.matrix);
    simd.push(ms(started));
  }
  await scorer.close();
  const scan = [];
  for (let r = 0; r < (n >= 1e6 ? 1 : 3); r++) {
    started = process.hrtime.bigint();
    const probabilities = scoreAll(weights, learner.matrix);
    // …and pick the most uncertain item, as a loop without a prefetched queue must before showing it.
    let best = 0, bestMargin = Infinity;
    const C = weights.classes.length;
    for (let row = 0; row < n; row++) {
      let a = 0, b = 0;
      for (let c = 0; c < C; c++) { const p = probabilities[row * C + c]; if (p > a) { b = a; a = p; } else if (p > b) b = p; }
      if (a - b < bestMargin) { bestMargin = a - b; best = row; }
    }
    scan.push(ms(started));
  }
  session.close();
  host.close();
  ds.close();
  rmSync(dir, { recursive: true, force: true });
  return { n, openMs, nextReady, reranked, headUpdate, simd, scan, rerankMs };
}

(async () => {
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; ${dim}-d, ${labels} labels, ${ranker} ranker, prefetch 8`);
  const rows = [];
  const notes = [];
  for (const n of sizes) {
    const r = await measure(n);
    const simd = quantile(r.simd, 0.5);
    const scan = quantile(r.scan, 0.5);
    notes.push(`${n} items: session opened in ${(r.openMs / 1000).toFixed(1)} s; load after the run ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
    rows.push(`| ${n} | ${quantile(r.nextReady, 0.5).toFixed(2)} / ${quantile(r.nextReady, 0.99).toFixed(2)} | ${quantile(r.headUpdate, 0.5).toFixed(2)} / ${quantile(r.headUpdate, 0.99).toFixed(2)} | ${quantile(r.reranked, 0.5).toFixed(1)} / ${quantile(r.reranked, 0.99).toFixed(1)} | ${simd.toFixed(0)} | ${scan.toFixed(0)} | ${(scan / simd).toFixed(1)}× |`);
    for (const [name, times] of Object.entries(r.rerankMs)) {
      notes.push(`${n} items, one re-rank (next 8) with ${name}: median ${quantile(times, 0.5).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`);
    }
  }
  console.log('| items | label → next item ready p50 / p99 ms | head update p50 / p99 ms | re-rank sent p50 / p99 ms | full re-score, ONNX worker (median of 3) ms | exact JS scan + pick (baseline) ms | scan / ONNX |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
  for (const note of notes) console.log(note);
})();
