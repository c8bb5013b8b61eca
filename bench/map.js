#!/usr/bin/env node
// Embedding map cost: time and peak RSS to lay out N synthetic clustered 1280-d vectors in 2-D, through the
// engine's own path (stratified sample → projectEmbeddings: randomized PCA to 50-d, then umap-js with its own
// NN-descent neighbours, in a worker thread), with a baseline in the same run: PCA alone (`--method pca`, the
// same sample). `--configs nndescent` adds umap-js on the main thread with the bench's own PCA call.
//
//   npm run build && node bench/map.js [--sizes 10000,100000] [--sample 20000] [--dim 1280] [--runs 3]
//                                      [--configs umap,pca]
//
// Each measurement runs in a fresh child process, so peak RSS (getrusage maxrss, worker threads included) is
// its own; the data (20 Gaussian clusters, seeded) is generated in the child before the clock starts, and the
// RSS after generating it is reported beside the peak. Quality: k-NN (k = 10) class agreement in 2-D over the
// first 2,000 laid-out points. Prints one JSON line per run, then a markdown table of medians; writes
// bench/out/map-*.json.
const { spawnSync } = require('node:child_process');
const { mkdirSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);

if (option('child', null)) {
  child(JSON.parse(option('child', '{}'))).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error) => {
      process.stderr.write(`${error.stack}\n`);
      process.exit(1);
    },
  );
} else {
  parent();
}

function parent() {
  const sizes = option('sizes', '10000,100000').split(',').map(Number);
  const sample = Number(option('sample', '20000'));
  const dim = Number(option('dim', '1280'));
  const runs = Number(option('runs', '3'));
  const configs = option('configs', 'umap,pca').split(',');
  const results = [];
  const loads = [];
  console.log(`# ${os.cpus().length} × ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const size of sizes) {
    for (const config of configs) {
      // umap-js's own neighbours are the baseline for ours; at 100k they would take most of an hour.
      if (config === 'nndescent' && Math.min(size, sample) > 10000) continue;
      for (let run = 0; run < runs; run++) {
        const load = os.loadavg()[0];
        const spec = { size, sample, dim, config, seed: 1 };
        const out = spawnSync(process.execPath, ['--max-old-space-size=8000', __filename, '--child', JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 24 });
        if (out.status !== 0) throw new Error(`child failed: ${out.stderr}`);
        const result = { ...JSON.parse(out.stdout.trim().split('\n').pop()), run, loadBefore: load, loadAfter: os.loadavg()[0] };
        loads.push(load, result.loadAfter);
        console.log(JSON.stringify(result));
        results.push(result);
      }
    }
  }
  mkdirSync(path.join(__dirname, 'out'), { recursive: true });
  writeFileSync(path.join(__dirname, 'out', `map-${Date.now()}.json`), JSON.stringify(results, null, 2));
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(`\nload average over the runs: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}\n`);
  console.log('| points | laid out | method | load | total s | PCA s | neighbours s | layout s | peak RSS MB (data alone) | k-NN agreement | vs PCA alone |');
  console.log('| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const size of sizes) {
    const of = (config) => results.filter((r) => r.size === size && r.config === config);
    const pcaSeconds = of('pca').length ? median(of('pca').map((r) => r.seconds)) : NaN;
    for (const config of configs) {
      const rows = of(config);
      if (!rows.length) continue;
      const m = (key) => median(rows.map((r) => r[key]));
      const loadsHere = rows.flatMap((r) => [r.loadBefore, r.loadAfter]);
      console.log(
        `| ${size.toLocaleString('en-US')} | ${rows[0].laidOut.toLocaleString('en-US')} | ${label(config)} | ${Math.min(...loadsHere).toFixed(1)}–${Math.max(...loadsHere).toFixed(1)} | ${m('seconds').toFixed(1)} | ${m('pcaSeconds').toFixed(1)} | ${m('neighborSeconds').toFixed(1)} | ${m('layoutSeconds').toFixed(1)} | ${m('peakRssMb').toFixed(0)} (${m('dataRssMb').toFixed(0)}) | ${m('agreement').toFixed(3)} | ${(m('seconds') / pcaSeconds).toFixed(1)}× |`,
      );
    }
  }
}

function label(config) {
  return { umap: 'UMAP after PCA (engine, worker thread)', pca: 'PCA alone (baseline)', nndescent: 'UMAP after PCA (main thread, no worker)' }[config];
}

async function child({ size, sample, dim, config, seed }) {
  const { projectEmbeddings, stratifiedSample, pca } = require('../dist/map');
  const { mulberry32 } = require('../dist/random');
  const { UMAP } = require('umap-js');
  const classes = 20;
  const random = mulberry32(99);
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
  const centres = new Float32Array(classes * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = normal();
  const vectors = new Float32Array(size * dim);
  const truth = new Int32Array(size);
  for (let r = 0; r < size; r++) {
    // Uneven classes (class c holds about (c + 1) shares), as real datasets are.
    const c = Math.min(classes - 1, Math.floor(Math.sqrt(random() * classes * classes)));
    truth[r] = c;
    for (let j = 0; j < dim; j++) vectors[r * dim + j] = centres[c * dim + j] + 0.8 * normal();
  }
  const dataRssMb = process.memoryUsage().rss / 2 ** 20;
  const started = performance.now();
  const marks = {};
  const chosen = stratifiedSample(Array.from(truth, (c) => `class ${c}`), sample, seed);
  const rows = chosen.length;
  const picked = new Float32Array(rows * dim);
  chosen.forEach((row, i) => picked.set(vectors.subarray(row * dim, (row + 1) * dim), i * dim));
  const ids = chosen.map((row) => row + 1);
  let xy;
  if (config === 'nndescent') {
    const reduced = pca(picked, rows, dim, 50, { seed });
    marks.pca = performance.now();
    const points = [];
    for (let r = 0; r < rows; r++) points.push(Array.from(reduced.projected.subarray(r * 50, (r + 1) * 50)));
    const umap = new UMAP({ nComponents: 2, nNeighbors: 15, random: mulberry32(seed) });
    const epochs = umap.initializeFit(points);
    marks.neighbors = performance.now();
    for (let e = 0; e < epochs; e++) umap.step();
    marks.layout = performance.now();
    const embedding = umap.getEmbedding();
    xy = Float32Array.from(embedding.flat());
  } else {
    const result = await projectEmbeddings(
      { ids, dim, vectors: picked },
      { seed, method: config, onProgress: (p) => { if (p.done === p.total) marks[p.phase] = performance.now(); } },
    );
    xy = result.xy;
  }
  const seconds = (performance.now() - started) / 1000;
  const sinceStart = (mark, from) => (mark && from ? (mark - from) / 1000 : 0);
  return {
    size,
    laidOut: rows,
    dim,
    config,
    seconds,
    pcaSeconds: sinceStart(marks.pca, started),
    neighborSeconds: sinceStart(marks.neighbors, marks.pca),
    layoutSeconds: sinceStart(marks.layout, marks.neighbors),
    dataRssMb,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    agreement: agreement(xy, chosen.map((row) => truth[row]), Math.min(2000, rows), 10),
  };
}

/** Share of each of the first `n` points' k nearest 2-D neighbours (among those n) with its class. */
function agreement(xy, truth, n, k) {
  let agree = 0;
  for (let i = 0; i < n; i++) {
    const distances = [];
    for (let j = 0; j < n; j++) if (j !== i) distances.push([(xy[2 * i] - xy[2 * j]) ** 2 + (xy[2 * i + 1] - xy[2 * j + 1]) ** 2, j]);
    distances.sort((a, b) => a[0] - b[0]);
    for (let m = 0; m < k; m++) if (truth[distances[m][1]] === truth[i]) agree++;
  }
  return agree / (n * k);
}
