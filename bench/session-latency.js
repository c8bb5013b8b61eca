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
//
// --open: the opening of a labeling session as a person feels it (issue 14), instead of the loop above:
//
//   node bench/session-latency.js --open --sizes 1000000 [--dim 1280] [--stored-labels 2000] [--runs 3]
//        [--baseline /tmp/base-8ed7af6] [--current DIR] [--profile FILE.cpuprofile] [--keep]
//
// A store of n items with --stored-labels human labels (spread over the ids, 10 classes) is made once per
// build, by that build (the store's schema changed since the baseline), in os.tmpdir(). Each run is a fresh
// process: it opens the dataset, makes the embeddings in memory (not timed: serve reads them from the
// embedding cache first), then times from `new SessionHost` (the same call at 8ed7af6 and since: both take
// the Dataset) to the constructor's return, the first 'welcome' (the answer to 'hello', sent at once), the
// first 'queue' sent, the first item on the page with a suggestion, and host.ready (the learner has learned
// the stored labels; the baseline has no host.ready: its constructor did all that before returning).
// --baseline DIR: the same open with DIR's dist (a built checkout: `git worktree add /tmp/base-8ed7af6
// 8ed7af6 && cd /tmp/base-8ed7af6 && ln -s /work/main/node_modules node_modules && node
// node_modules/typescript/bin/tsc -p tsconfig.build.json`), runs alternating baseline / current, the median
// of --runs each and the ratio. Runs after the first reuse the store, as a person opening it again does (what
// an open persists, it finds); the first run of each build is printed too. --current DIR: measure another
// checkout's dist as the current one (default: this one's). --profile FILE: one run of the current build with
// the CPU profiled from `new SessionHost` to host.ready (the inspector slows it down: not a timing run).
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const sizes = option('sizes', '10000,100000').split(',').map(Number);
const dim = Number(option('dim', '1280'));
const labels = Number(option('labels', '60'));
const ranker = option('ranker', 'hybrid');
const rerank = option('rerank', '').split(',').filter(Boolean);
const current = path.resolve(option('current', path.join(__dirname, '..')));
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
/** A module of a build's dist: the current one, or another checkout's (--baseline). */
const dist = (root, name) => require(path.join(root, 'dist', name));

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

/** Items i1.jpg … in{n}.jpg, ids 1 … n in order. */
function addItems(store, n) {
  const batch = [];
  for (let i = 0; i < n; i++) {
    batch.push({ uri: `i${i}.jpg`, width: 1, height: 1, format: 'jpeg', bytes: 1, mtimeMs: 0, hash: String(i), split: null, sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null });
    if (batch.length === 50000 || i === n - 1) store.upsertItems(batch.splice(0));
  }
}

async function measure(n) {
  const { Dataset } = dist(current, 'dataset');
  const { SessionHost, LabelingSession } = dist(current, 'session');
  const { OnnxScorer, scoreAll } = dist(current, 'learn');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-session-'));
  const ds = await Dataset.open(dir, { durability: 'normal' });
  addItems(ds.store, n);
  const { vectors, truth } = vectorsFor(n);
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  let started = process.hrtime.bigint();
  const host = new SessionHost(ds, { embeddings: { ids, dim, vectors }, ranker, rescoreDelayMs: 0 });
  const openMs = ms(started);

  const events = [];
  let requestId = 0;
  const session = new LabelingSession(host, (envelope) => events.push({ at: process.hrtime.bigint(), message: envelope.message }), { prefetch: 8 });
  await session.handle({ type: 'hello', requestId: ++requestId });
  await host.ready; // the learner comes up in the background on large datasets (undefined before 8ed7af6's successors)
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

async function loop() {
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
}

const storedLabels = Number(option('stored-labels', '2000'));
const runs = Number(option('runs', '3'));
const baseline = option('baseline', undefined);
const profile = option('profile', undefined);
const MARKS = [
  ['constructed', 'constructor returned'],
  ['welcome', "'hello' answered"],
  ['queue', 'first queue sent'],
  ['suggested', 'first suggestion sent'],
  ['ready', 'learner ready'],
];

/** The ids given a human label in the store: spread evenly over 1 … n, each of its item's class. */
const labeledIds = (n) => Array.from({ length: Math.min(n, storedLabels) }, (_, k) => 1 + Math.floor((k * n) / Math.min(n, storedLabels)));

/** In a child process: the dataset of n items and the stored labels, made by the build at `root`. */
async function makeStore(root, dir, n) {
  const { Dataset } = dist(root, 'dataset');
  const ds = await Dataset.open(dir, { durability: 'normal' });
  try {
    addItems(ds.store, n);
    ds.labelMany(labeledIds(n).map((id) => ({ id, label: `class-${(id - 1) % 10}` })));
  } finally {
    ds.close();
  }
  return { items: n };
}

/** Starts the inspector's CPU profiler on this thread; resolves to the function that stops it and writes `file`. */
async function profileTo(file) {
  const inspector = require('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile: recorded } = await post('Profiler.stop');
    writeFileSync(file, JSON.stringify(recorded));
    session.disconnect();
  };
}

/** In a child process: one open of the dataset at `dir` with the build at `root`; milliseconds of each mark. */
async function openOnce(root, dir, n, profileFile) {
  const { Dataset } = dist(root, 'dataset');
  const { SessionHost, LabelingSession } = dist(root, 'session');
  const embeddings = { ids: Array.from({ length: n }, (_, i) => i + 1), dim, vectors: vectorsFor(n).vectors };
  let started = process.hrtime.bigint();
  const ds = await Dataset.open(dir);
  const datasetMs = ms(started);
  const stopProfile = profileFile ? await profileTo(profileFile) : undefined;
  const marks = {};
  const mark = (name) => (marks[name] ??= ms(started));
  started = process.hrtime.bigint();
  // Both builds construct the host from the Dataset (8ed7af6: a Dataset; since: a SessionSource, which it is).
  const host = new SessionHost(ds, { embeddings, ranker });
  mark('constructed');
  const session = new LabelingSession(host, ({ message }) => {
    if (message.type === 'welcome') mark('welcome');
    if (message.type === 'queue') mark('queue');
    if ((message.type === 'queue' || message.type === 'items') && message.items.some((item) => item.suggestion)) mark('suggested');
  }, { prefetch: 8 });
  await session.handle({ type: 'hello', requestId: 1 });
  // 8ed7af6 has no host.ready: its constructor learned the stored labels before returning.
  if (host.ready) await host.ready;
  marks.ready = host.ready ? ms(started) : marks.constructed;
  await stopProfile?.();
  const learned = host.learner?.labeledCount;
  if (learned !== Math.min(n, storedLabels)) throw new Error(`the learner learned ${learned} labels, not the ${Math.min(n, storedLabels)} stored`);
  session.close();
  await host.close();
  ds.close();
  return { datasetMs, ...marks, maxRssGB: process.resourceUsage().maxRSS / 2 ** 20 };
}

/** Runs this script in a fresh process with `argv`; its result is the line after 'RESULT '. */
function child(argv) {
  const result = spawnSync(process.execPath, ['--max-old-space-size=8000', __filename, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (result.status !== 0 || !line) throw new Error(`${argv.join(' ')} failed (exit ${result.status ?? result.signal}): ${result.stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

const seconds = (value) => (value === undefined ? '—' : (value / 1000).toFixed(2));

/** Opens at each size: every build's store made, then the runs alternating between the builds. */
async function opens() {
  const builds = [...(baseline ? [['baseline', path.resolve(baseline)]] : []), ['current', current]];
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; ${dim}-d, ${storedLabels} stored labels, ${ranker} ranker, prefetch 8; ${builds.map(([name, root]) => `${name} ${root}`).join(', ')}`);
  for (const n of sizes) {
    const stores = new Map();
    try {
      for (const [name, root] of builds) {
        const dir = mkdtempSync(path.join(os.tmpdir(), `quicksort-bench-open-${name}-`));
        stores.set(name, dir);
        const started = process.hrtime.bigint();
        child(['--make-store', '--root', root, '--store', dir, '--sizes', String(n), '--stored-labels', String(storedLabels)]);
        console.log(`${n} items: ${name}'s store made in ${(ms(started) / 1000).toFixed(0)} s (${dir})`);
      }
      const open = (name, root, profileFile) => child(['--open-child', '--root', root, '--store', stores.get(name), '--sizes', String(n), '--dim', String(dim), '--stored-labels', String(storedLabels), '--ranker', ranker, ...(profileFile ? ['--profile', profileFile] : [])]);
      if (profile) {
        for (const [name, root] of builds) {
          const file = `${profile.replace(/\.cpuprofile$/, '')}-${name}.cpuprofile`;
          const r = open(name, root, file);
          console.log(`${n} items, ${name}, profiled (slower than a timing run): ${MARKS.map(([key, label]) => `${label} ${seconds(r[key])} s`).join(', ')}; profile ${file}`);
        }
        continue;
      }
      const results = new Map(builds.map(([name]) => [name, []]));
      for (let run = 0; run < runs; run++) for (const [name, root] of builds) results.get(name).push(open(name, root));
      console.log(`\n${n} items, seconds from \`new SessionHost\` (median of ${runs}; runs in brackets, the first one on a store never opened before):\n`);
      console.log(`| build | Dataset.open (before the host) | ${MARKS.map(([, label]) => label).join(' | ')} | peak RSS GiB |`);
      console.log(`| --- | ${MARKS.map(() => '---:').join(' | ')} | ---: | ---: |`);
      const medians = new Map();
      for (const [name, rs] of results) {
        const median = (key) => (rs.some((r) => r[key] === undefined) ? undefined : quantile(rs.map((r) => r[key]), 0.5));
        medians.set(name, median);
        const cell = (key) => `${seconds(median(key))} (${rs.map((r) => seconds(r[key])).join(', ')})`;
        console.log(`| ${name} | ${cell('datasetMs')} | ${MARKS.map(([key]) => cell(key)).join(' | ')} | ${Math.max(...rs.map((r) => r.maxRssGB)).toFixed(1)} |`);
      }
      if (baseline) {
        const ratio = (key) => {
          const [b, c] = [medians.get('baseline')(key), medians.get('current')(key)];
          return b === undefined || c === undefined ? '—' : `${(b / c).toFixed(1)}×`;
        };
        console.log(`| baseline / current | ${ratio('datasetMs')} | ${MARKS.map(([key]) => ratio(key)).join(' | ')} | |`);
      }
    } finally {
      if (!args.includes('--keep')) for (const dir of stores.values()) rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`load after the runs ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
}

const root = option('root', current);
const store = option('store', undefined);
const task = args.includes('--make-store')
  ? () => makeStore(root, store, sizes[0])
  : args.includes('--open-child')
    ? () => openOnce(root, store, sizes[0], profile)
    : args.includes('--open')
      ? opens
      : loop;
task().then(
  (result) => {
    if (result !== undefined) console.log(`RESULT ${JSON.stringify(result)}`);
    // The scorer's worker and the store's follower may keep a child alive a while after closing.
    process.exit(0);
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
