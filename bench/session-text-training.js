#!/usr/bin/env node
// The labeling loop while the text model trains by itself (issue 15): a session host whose captions reach
// its threshold trains in the worker and reloads the search; how long the thread that answers keypresses is
// held meanwhile, and the reload's part of it against its baseline measured in the same run (the items'
// projection into the new joint space computed on that thread, as a plain TextSearch.openTrained does without a cache).
//
//   npm run build && node bench/session-text-training.js [--runs 3] [--items 20000] [--dim 1280] [--captions 2000] [--epochs 5]
//
// Each run: a fresh store of --items items with synthetic clustered vectors (--dim) in the embedding cache,
// --captions of them captioned with words naming their cluster (by another writer, once the host runs), a SessionHost
// that trains once --captions new captions arrived, and a LabelingSession labelling one item every few ms
// (`label` round trips measured) from the moment the captions are noticed until the model is ready. Measured:
// each label's round trip, the longest the event loop went without a turn (a 1 ms timer's late firings), and,
// after the run, TextSearch.openTrained on the main thread with the projection cached (what the reload now costs)
// and without it (the baseline).
const os = require('node:os');
const path = require('node:path');
const { mkdtempSync, rmSync, unlinkSync } = require('node:fs');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const items = Number(option('items', '20000'));
const dim = Number(option('dim', '1280'));
const captions = Number(option('captions', '2000'));
const epochs = Number(option('epochs', '5'));
const runs = Number(option('runs', '3'));
const root = path.join(__dirname, '..');
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const median = (values) => quantile(values, 0.5);

const WORDS = ['dog', 'cat', 'car', 'tree', 'boat', 'horse', 'pizza', 'train', 'bird', 'clock', 'sofa', 'kite', 'plane', 'bus', 'cake', 'bear'];

async function once() {
  const { Dataset } = require(path.join(root, 'dist', 'dataset'));
  const { EmbeddingCache, embeddingCachePath } = require(path.join(root, 'dist', 'embed'));
  const { SessionHost, LabelingSession } = require(path.join(root, 'dist', 'session'));
  const { TextSearch, textModelDir, JOINT_CACHE_FILE } = require(path.join(root, 'dist', 'text'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-text-loop-'));
  const ds = await Dataset.open(dir, { durability: 'normal', user: 'bench' });
  let host;
  try {
    ds.store.upsertItems(Array.from({ length: items }, (_, i) => ({ uri: `i${i}.jpg`, width: 1, height: 1, format: 'jpeg', bytes: 1, mtimeMs: 0, hash: String(i), split: null, sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null })));
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
    const centres = WORDS.map(() => Float32Array.from({ length: dim }, random));
    const cache = EmbeddingCache.open(embeddingCachePath(dir));
    const { key } = cache.useModel('synthetic@bench', 'synthetic', dim, 'float32');
    for (let start = 0; start < items; start += 5000) {
      const entries = [];
      for (let i = start; i < Math.min(items, start + 5000); i++) {
        const vector = new Float32Array(dim);
        for (let j = 0; j < dim; j++) vector[j] = centres[i % WORDS.length][j] + 0.8 * random();
        entries.push({ itemId: i + 1, hash: String(i), vector });
      }
      cache.write(key, 'float32', entries);
    }
    cache.close();
    const embeddings = require(path.join(root, 'dist', 'embed')).loadEmbeddings(dir, { store: ds.store });
    host = new SessionHost(ds, { embeddings, followIntervalMs: 50, thumbnailCache: false, textTraining: { everyCaptions: captions, idleMs: Infinity, training: { epochs } } });
    await host.ready;
    // Another writer's captions (an import): the host meets them in the log, after it started following it.
    ds.store.actMany(
      Array.from({ length: captions }, (_, i) => ({ itemId: i + 1, action: { kind: 'add_caption', caption: `a photo of a ${WORDS[i % WORDS.length]} number ${i % 7}` } })),
      { user: 'importer' },
    );
    let state;
    const ready = new Promise((resolve) => host.onBroadcast(({ message }) => message.type === 'text_model' && (state = message.state).status !== 'training' && resolve()));
    const session = new LabelingSession(host, () => undefined, { prefetch: 8 });
    await session.handle({ type: 'hello', requestId: 1 });
    let worstGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 1);
    const roundTrips = [];
    let done = false;
    void ready.then(() => (done = true));
    const started = performance.now();
    for (let requestId = 2; !done; requestId++) {
      const id = session.queuedIds[0];
      const t = performance.now();
      await session.handle({ type: 'label', requestId, itemId: id, label: WORDS[(id - 1) % WORDS.length] });
      roundTrips.push(performance.now() - t);
      await new Promise((resolve) => setTimeout(resolve, 5)); // a fast person's pace, leaving the loop its turns
    }
    const trainingMs = performance.now() - started;
    clearInterval(timer);
    if (state.status !== 'ready') throw new Error(`the training failed: ${state.reason}`);
    // The reload on the session's thread: with the projection the worker cached, and (baseline) without it.
    let t = performance.now();
    TextSearch.openTrained(dir, ds.store);
    const cachedOpenMs = performance.now() - t;
    unlinkSync(path.join(textModelDir(dir), JOINT_CACHE_FILE));
    t = performance.now();
    TextSearch.openTrained(dir, ds.store);
    const uncachedOpenMs = performance.now() - t;
    return { trainingMs, labels: roundTrips.length, p50: quantile(roundTrips, 0.5), p99: quantile(roundTrips, 0.99), worstGap, cachedOpenMs, uncachedOpenMs };
  } finally {
    await host?.close();
    ds.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const results = [];
  for (let run = 0; run < runs; run++) {
    const result = await once();
    results.push(result);
    console.log(`run ${run + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(result).map(([k, v]) => [k, Math.round(v * 10) / 10])))}`);
  }
  const summary = Object.fromEntries(Object.keys(results[0]).map((k) => [k, Math.round(median(results.map((r) => r[k])) * 10) / 10]));
  console.log(`median of ${runs} runs (${items} items × ${dim} dims, ${captions} captions, ${epochs} epochs; ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}):`);
  console.log(JSON.stringify(summary));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
