#!/usr/bin/env node
// Labeling efficiency and learning curves with the simulator (issue 4).
//
//   npm run build && node bench/simulate.js [--pool 2000] [--test 1000] [--features pixels|embeddings] [--runs 3]
//
// Fashion-MNIST (Debian dataset-fashion-mnist): the pool comes from the training split, the held-out set
// for the learning curve from the test split. Writes the curves to bench/out/*.svg.
const { mkdirSync, writeFileSync, existsSync, readFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { simulate, lineChartSvg, RANKER_NAMES } = require('../dist/learn');
const { loadFashionMnist, pixelFeatures } = require('./fashion-mnist');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const poolSize = Number(option('pool', '2000'));
const testSize = Number(option('test', '1000'));
const runs = Number(option('runs', '3'));
const features = option('features', 'pixels');
const rankers = option('rankers', RANKER_NAMES.join(',')).split(',');
const out = path.join(__dirname, 'out');
mkdirSync(out, { recursive: true });

function featuresOf(split, count) {
  const data = loadFashionMnist(split, count);
  if (features === 'pixels') return { ...pixelFeatures(data.images), labels: data.labels, classes: data.classes };
  // Embeddings made by bench/fashion-embeddings.js (the engine's default model) and cached as raw float32.
  const file = path.join(out, `fashion-${split}-${count}.f32`);
  if (!existsSync(file)) throw new Error(`${file} missing: run node bench/fashion-embeddings.js --count ${count} first`);
  const vectors = new Float32Array(readFileSync(file).buffer.slice(0));
  return { dim: vectors.length / count, vectors, labels: data.labels, classes: data.classes };
}

const train = featuresOf('train', poolSize);
const test = featuresOf('test', testSize);
const pool = { ids: train.labels.map((_, i) => i + 1), dim: train.dim, vectors: train.vectors };
const truth = (id) => train.classes[train.labels[id - 1]];
const testSet = { matrix: { ids: test.labels.map((_, i) => i + 1), dim: test.dim, vectors: test.vectors }, truth: (id) => test.classes[test.labels[id - 1]] };
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, node ${process.version}`);
console.log(`Fashion-MNIST, ${features}: pool ${poolSize} (train), held-out ${testSize} (test); median of ${runs} runs (seeds 1..${runs})\n`);

const rows = [];
const run = (ranker, mode, suggestions, extra = {}) => {
  const results = [];
  for (let seed = 1; seed <= runs; seed++) {
    results.push(simulate(pool, truth, { ranker, mode, suggestions, seed, rescoreEvery: mode === 'grid' ? 1 : 5, ...extra }));
  }
  return { ranker, mode, suggestions, secondsPerLabel: median(results.map((r) => r.secondsPerLabel)), acceptedRate: median(results.map((r) => r.acceptedRate)), results };
};

const baseline = run('random', 'one', false);
rows.push(baseline, run('random', 'one', true));
for (const ranker of rankers.filter((r) => r !== 'random')) rows.push(run(ranker, 'one', true));
rows.push(run('random', 'grid', true));
for (const ranker of rankers.filter((r) => r !== 'random')) rows.push(run(ranker, 'grid', true));

console.log('| ranker | mode | suggestions | human-s per correct label | accepted suggestions | gain vs random, no suggestions |');
console.log('| --- | --- | --- | ---: | ---: | ---: |');
for (const row of rows) {
  console.log(`| ${row.ranker} | ${row.mode} | ${row.suggestions ? 'yes' : 'no'} | ${row.secondsPerLabel.toFixed(3)} | ${(row.acceptedRate * 100).toFixed(1)}% | ${(baseline.secondsPerLabel / row.secondsPerLabel).toFixed(2)}× |`);
}

// Learning curves: head accuracy on the held-out set after N labels, one at a time.
const checkpoints = [25, 50, 100, 200, 500, 1000].filter((n) => n <= poolSize);
const curves = [];
for (const ranker of rankers) {
  const perSeed = [];
  for (let seed = 1; seed <= runs; seed++) {
    perSeed.push(simulate(pool, truth, { ranker, mode: 'one', seed, budget: checkpoints.at(-1), checkpoints, test: testSet, rescoreEvery: 5 }).curve);
  }
  curves.push({ name: ranker, points: checkpoints.map((labels, i) => ({ x: labels, y: median(perSeed.map((curve) => curve[i].accuracy)) })) });
}
console.log(`\n| ranker | ${checkpoints.map((n) => `${n} labels`).join(' | ')} |`);
console.log(`| --- | ${checkpoints.map(() => '---:').join(' | ')} |`);
for (const curve of curves) console.log(`| ${curve.name} | ${curve.points.map((p) => `${(p.y * 100).toFixed(1)}%`).join(' | ')} |`);

writeFileSync(path.join(out, `learning-curves-${features}.svg`), lineChartSvg(curves, { title: `Fashion-MNIST (${features}): head accuracy on held-out`, xLabel: 'labels', yLabel: 'accuracy', yMin: 0, yMax: 1 }));
writeFileSync(
  path.join(out, `labeling-cost-${features}.svg`),
  lineChartSvg(
    rows.filter((r) => r.suggestions).map((row) => ({
      name: `${row.ranker} (${row.mode})`,
      points: row.results[0].curve.length ? row.results[0].curve.map((p) => ({ x: p.labels, y: p.humanSeconds })) : [],
    })),
    { title: 'human-seconds against labels', xLabel: 'labels', yLabel: 'seconds' },
  ),
);
console.log(`\ncurves: ${path.join(out, `learning-curves-${features}.svg`)}`);
