#!/usr/bin/env node
// The labeling loop across a periodic refit (issue 14): a session labels past its 200th label, when the head
// is refitted from scratch; how long the thread that answers keypresses is held, against a baseline build.
//
//   npm run build && node bench/refit-stall.js --baseline /tmp/base-26ec684 [--runs 3] [--items 5000] [--dim 1280] [--classes 80] [--labels 230]
//
// Each run is a fresh process per build (runs alternate): a store of --items items, synthetic clustered vectors
// (--classes classes, --dim dims), a SessionHost with the default refitEvery (200) and a LabelingSession that
// labels --labels items one after another with their true class. Measured: each label's round trip
// (handle → its ack), and the longest the event loop went without a turn (a 1 ms timer's late firings),
// from the first label until host.settled() (the refit and its re-score done).
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const items = Number(option('items', '5000'));
const dim = Number(option('dim', '1280'));
const classes = Number(option('classes', '80'));
const labels = Number(option('labels', '230'));
const runs = Number(option('runs', '3'));
const baseline = option('baseline', undefined);
const current = path.join(__dirname, '..');
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];

async function once(root) {
  const { Dataset } = require(path.join(root, 'dist', 'dataset'));
  const { SessionHost, LabelingSession } = require(path.join(root, 'dist', 'session'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-refit-'));
  const ds = await Dataset.open(dir, { durability: 'normal' });
  try {
    ds.store.upsertItems(Array.from({ length: items }, (_, i) => ({ uri: `i${i}.jpg`, width: 1, height: 1, format: 'jpeg', bytes: 1, mtimeMs: 0, hash: String(i), split: null, sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null })));
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
    const centres = Array.from({ length: classes }, () => Float32Array.from({ length: dim }, random));
    const vectors = new Float32Array(items * dim);
    for (let i = 0; i < items; i++) for (let j = 0; j < dim; j++) vectors[i * dim + j] = centres[i % classes][j] + 0.8 * random();
    const ids = Array.from({ length: items }, (_, i) => i + 1);
    const host = new SessionHost(ds, { embeddings: { ids, dim, vectors }, ranker: 'margin' });
    await host.ready;
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
    for (let i = 0; i < labels; i++) {
      const id = session.queuedIds[0];
      const t = performance.now();
      await session.handle({ type: 'label', requestId: i + 2, itemId: id, label: `class-${(id - 1) % classes}` });
      roundTrips.push(performance.now() - t);
      // A person's pace is far slower than this loop: give the event loop a turn between keypresses.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await host.settled();
    clearInterval(timer);
    session.close();
    await host.close();
    return { p50: quantile(roundTrips, 0.5), p99: quantile(roundTrips, 0.99), max: Math.max(...roundTrips), worstGap };
  } finally {
    ds.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function child(root) {
  const result = spawnSync(process.execPath, [__filename, '--child', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (result.status !== 0 || !line) throw new Error(`run with ${root} failed (${result.status}): ${result.stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

async function main() {
  if (args.includes('--child')) {
    console.log(`RESULT ${JSON.stringify(await once(args[args.indexOf('--child') + 1]))}`);
    process.exit(0);
  }
  const builds = [...(baseline ? [['baseline', path.resolve(baseline)]] : []), ['current', current]];
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, node ${process.version}; load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; ${items} items, ${dim}-d, ${classes} classes, ${labels} labels (refit at 200)`);
  const results = new Map(builds.map(([name]) => [name, []]));
  for (let run = 0; run < runs; run++) for (const [name, root] of builds) results.get(name).push(child(root));
  const cell = (rs, key) => `${quantile(rs.map((r) => r[key]), 0.5).toFixed(1)} (${rs.map((r) => r[key].toFixed(1)).join(', ')})`;
  console.log(`\n| build | label round trip p50 ms | p99 ms | max ms | longest event-loop stall ms |`);
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, rs] of results) console.log(`| ${name} | ${cell(rs, 'p50')} | ${cell(rs, 'p99')} | ${cell(rs, 'max')} | ${cell(rs, 'worstGap')} |`);
  console.log(`load after the runs ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
