#!/usr/bin/env node
// The VLM assist's queue against the loopback fake VLM, and the labeling loop beside it (issue 16): requests/s
// and p50/p99 latency the session host's queue sustains while a person labels, and that person's `label` round
// trip (label → next item ready: the ack and the queue) and the longest event-loop stall, with the assist on
// (asking constantly) against off, in the same run.
//
//   node node_modules/typescript/bin/tsc -p tsconfig.build.json && node bench/vlm-queue-latency.js \
//     [--runs 3] [--items 5000] [--dim 1280] [--labels 400] [--batch 8] [--every 2] [--k 8] [--concurrency 4] \
//     [--modes off,on,load] [--load-rate 0]
//
// Each run, per mode (in --modes order in odd runs, reversed in even ones): a fresh store of --items items, each a
// small PNG on disk (32×32, its cluster's colour with noise) with a synthetic clustered vector (--dim, 16
// clusters) in the embedding cache, 10 of each cluster labelled by a person before the host starts; a
// SessionHost (`vlm: false`, or `vlm: { client, batch, everyLabels, k, captions: true }`: a round of the head's
// hardest items, label suggestions and caption drafts, after every --every labels) and a LabelingSession that
// labels its current item every 5 ms, --labels times. The VLM is the tests' loopback fake in a child process
// (bench/vlm-fake.js), on the same two cores: this measures the plumbing, not a real VLM's speed. The client is
// wrapped to time each request (sent → answered, retries none).
//
// A third mode, `load` (in --modes), is the control for the fake sharing the two cores: the assist off, while
// another process sends the fake the same kind of requests (8 demonstrations and a query, 4 in flight) without
// a pause (or at most --load-rate requests a second) — the fake's decoding and a client's work, none of it
// on the session's thread.
const os = require('node:os');
const path = require('node:path');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { fork } = require('node:child_process');
const { startFake } = require('./vlm-fake');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const items = Number(option('items', '5000'));
const dim = Number(option('dim', '1280'));
const labels = Number(option('labels', '400'));
const runs = Number(option('runs', '3'));
const concurrency = Number(option('concurrency', '4'));
const loadRate = Number(option('load-rate', '0'));
const vlmSettings = { batch: Number(option('batch', '8')), everyLabels: Number(option('every', '2')), k: Number(option('k', '8')), captions: true };
// --modes on: only the assist on (for a profile: node --cpu-prof bench/vlm-queue-latency.js --runs 1 --modes on).
const modes = option('modes', 'off,on').split(',');
const CLUSTERS = 16;
const PRE_LABELLED = 10;
const PACE_MS = 5;
const root = path.join(__dirname, '..');
const dist = (name) => require(path.join(root, 'dist', name));
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const median = (values) => quantile(values, 0.5);
const className = (cluster) => `class-${cluster}`;

/** The images, made once: every run makes its own store and embedding cache beside them. */
async function makeImages(dir) {
  const sharp = require('sharp');
  let seed = 777;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const colours = Array.from({ length: CLUSTERS }, () => [random() * 255, random() * 255, random() * 255]);
  for (let i = 0; i < items; i++) {
    const pixels = Buffer.alloc(32 * 32 * 3);
    const colour = colours[i % CLUSTERS];
    for (let p = 0; p < pixels.length; p++) pixels[p] = Math.max(0, Math.min(255, colour[p % 3] + (random() - 0.5) * 120));
    writeFileSync(path.join(dir, `i${i}.png`), await sharp(pixels, { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer());
  }
}

/** The control's load: requests like the assist's, sent to the fake from this child process without a pause. */
async function loadChild(url, dir) {
  const { createVlmClient, promptImage } = dist('vlm');
  const client = createVlmClient({ url, model: 'fake-vlm', concurrency, retries: 0 });
  const images = await Promise.all(Array.from({ length: 9 }, (_, i) => promptImage(path.join(dir, `i${i}.png`), client.config.maxImageSide)));
  const request = { examples: images.slice(0, 8).map((image, i) => ({ image, answer: className(i % CLUSTERS) })), question: 'Which class is this image?', images: [images[8]] };
  let sent = 0;
  // --load-rate N: at most N requests a second in all (each lane waits out its share), else without a pause.
  const laneIntervalMs = loadRate > 0 ? (1000 * concurrency) / loadRate : 0;
  const lane = async () => {
    for (;;) {
      const t = performance.now();
      await client.complete(request);
      sent++;
      const wait = laneIntervalMs - (performance.now() - t);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
  const started = performance.now();
  for (let i = 0; i < concurrency; i++) void lane();
  process.send('loading');
  process.on('message', () => process.send({ requestsPerSecond: sent / ((performance.now() - started) / 1000) }, () => process.exit(0)));
  process.on('disconnect', () => process.exit(0));
}

function startLoad(url, dir) {
  const child = fork(__filename, ['--load-child', url, dir, '--concurrency', String(concurrency), '--load-rate', String(loadRate)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // Resolves once it sends; resolves with a stop() that resolves with the rate it sent at.
  const stop = () => new Promise((resolve) => {
    child.once('message', ({ requestsPerSecond }) => resolve(requestsPerSecond));
    child.send('stop');
  });
  return new Promise((resolve) => child.once('message', () => resolve(stop)));
}

async function once(imagesDir, url, mode) {
  const vlmOn = mode === 'on';
  const { Dataset } = dist('dataset');
  const { EmbeddingCache, embeddingCachePath, loadEmbeddings } = dist('embed');
  const { SessionHost, LabelingSession } = dist('session');
  const { createVlmClient } = dist('vlm');
  const ds = await Dataset.open(imagesDir, { durability: 'normal', user: 'bench' });
  let host;
  let session;
  const latencies = [];
  const answeredAt = [];
  let failures = 0;
  let stopLoad;
  try {
    ds.store.upsertItems(Array.from({ length: items }, (_, i) => ({ uri: `i${i}.png`, width: 32, height: 32, format: 'png', bytes: 1, mtimeMs: 0, hash: String(i), split: null, sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null })));
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5;
    const centres = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: dim }, random));
    const cache = EmbeddingCache.open(embeddingCachePath(imagesDir));
    const { key } = cache.useModel('synthetic@bench', 'synthetic', dim, 'float32');
    for (let start = 0; start < items; start += 5000) {
      const entries = [];
      for (let i = start; i < Math.min(items, start + 5000); i++) {
        const vector = new Float32Array(dim);
        for (let j = 0; j < dim; j++) vector[j] = centres[i % CLUSTERS][j] + 0.8 * random();
        entries.push({ itemId: i + 1, hash: String(i), vector });
      }
      cache.write(key, 'float32', entries);
    }
    cache.close();
    ds.labelMany(Array.from({ length: CLUSTERS * PRE_LABELLED }, (_, i) => ({ id: i + 1, label: className(i % CLUSTERS) })));
    const embeddings = loadEmbeddings(imagesDir, { store: ds.store });
    let client;
    if (vlmOn) {
      const inner = createVlmClient({ url, model: 'fake-vlm', concurrency, retries: 0 });
      client = {
        config: inner.config,
        close: () => inner.close(),
        async complete(request, options) {
          const t = performance.now();
          try {
            const answer = await inner.complete(request, options);
            const now = performance.now();
            latencies.push(now - t);
            answeredAt.push(now);
            return answer;
          } catch (error) {
            failures++;
            throw error;
          }
        },
      };
    }
    host = new SessionHost(ds, { embeddings, thumbnailCache: false, vlm: vlmOn ? { ...vlmSettings, client } : false });
    await host.ready;
    await host.settled();
    if (mode === 'load') stopLoad = await startLoad(url, imagesDir);
    session = new LabelingSession(host, () => undefined, { prefetch: 8 });
    await session.handle({ type: 'hello', requestId: 1 });
    let worstGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 1);
    const roundTrips = [];
    const started = performance.now();
    for (let requestId = 2; roundTrips.length < labels; requestId++) {
      const id = session.queuedIds[0];
      const t = performance.now();
      await session.handle({ type: 'label', requestId, itemId: id, label: className((id - 1) % CLUSTERS) });
      roundTrips.push(performance.now() - t);
      await new Promise((resolve) => setTimeout(resolve, PACE_MS)); // a fast person's pace, leaving the loop its turns
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);
    const loadSent = stopLoad ? await stopLoad() : undefined;
    stopLoad = undefined;
    const inWindow = answeredAt.filter((at) => at >= started).length;
    const vlm = host.vlm.state;
    return {
      labels: roundTrips.length, seconds, p50: quantile(roundTrips, 0.5), p99: quantile(roundTrips, 0.99), max: Math.max(...roundTrips), worstGap,
      ...(loadSent !== undefined ? { loadRequestsPerSecond: loadSent } : {}),
      ...(vlmOn ? { requests: inWindow, requestsPerSecond: inWindow / seconds, vlmP50: quantile(latencies, 0.5), vlmP99: quantile(latencies, 0.99), failures, stored: vlm.stored, asked: vlm.asked } : {}),
    };
  } finally {
    await stopLoad?.();
    session?.close();
    await host?.close();
    ds.close();
  }
}

async function main() {
  const fake = await startFake();
  const results = Object.fromEntries(modes.map((mode) => [mode, []]));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-vlm-queue-'));
  try {
    await makeImages(dir);
    for (let run = 0; run < runs; run++) {
      for (const mode of (run % 2 === 0 ? modes : [...modes].reverse())) {
        try {
          const result = await once(dir, fake.url, mode);
          results[mode].push(result);
          console.log(`run ${run + 1} ${mode}: ${JSON.stringify(Object.fromEntries(Object.entries(result).map(([k, v]) => [k, Math.round(v * 10) / 10])))}`);
        } finally {
          rmSync(path.join(dir, '.quicksort'), { recursive: true, force: true });
        }
      }
    }
  } finally {
    fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`medians of ${runs} runs (${items} items × ${dim} dims, ${labels} labels every ${PACE_MS} ms, assist ${JSON.stringify(vlmSettings)}, client concurrency ${concurrency}; ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}):`);
  for (const mode of modes) {
    const list = results[mode];
    console.log(`${mode}: ${JSON.stringify(Object.fromEntries(Object.keys(list[0]).map((k) => [k, Math.round(median(list.map((r) => r[k])) * 10) / 10])))}`);
  }
}

(args[0] === '--load-child' ? loadChild(args[1], args[2]) : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
