#!/usr/bin/env node
// Labeling efficiency and learning curves with the simulator (issue 4).
//
//   npm run build && node bench/simulate.js [--pool 2000] [--test 1000] [--features pixels|embeddings] [--runs 3]
//   npm run build && node bench/simulate.js --coco bench/out/coco-tiny-val,bench/out/coco-tiny-train [--runs 3]
//
// Fashion-MNIST (Debian dataset-fashion-mnist): the pool comes from the training split, the held-out set
// for the learning curve from the test split.
//
// --coco: datasets of crops made by `quicksort coco import` from ground truth and embedded by `quicksort
// embed`; each crop's true class is the class the import recorded. Labeling efficiency runs over the crops of
// all the datasets together; the learning curve labels the first dataset's crops and measures the head on
// the others' (e.g. val2017 crops labeled, train2017 crops held out: other images, so no crop of a labeled
// image is ever scored). Writes the curves to bench/out/*.svg.
const { mkdirSync, writeFileSync, existsSync, readFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { simulate, lineChartSvg, RANKER_NAMES } = require('../dist/learn');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const poolSize = Number(option('pool', '2000'));
const testSize = Number(option('test', '1000'));
const runs = Number(option('runs', '3'));
const features = option('features', 'pixels');
const coco = option('coco', undefined);
const rankers = option('rankers', RANKER_NAMES.join(',')).split(',');
const out = path.join(__dirname, 'out');
mkdirSync(out, { recursive: true });

function featuresOf(split, count) {
  const { loadFashionMnist, pixelFeatures } = require('./fashion-mnist');
  const data = loadFashionMnist(split, count);
  if (features === 'pixels') return { ...pixelFeatures(data.images), labels: data.labels, classes: data.classes };
  // Embeddings made by bench/fashion-embeddings.js (the engine's default model) and cached as raw float32.
  const file = path.join(out, `fashion-${split}-${count}.f32`);
  if (!existsSync(file)) throw new Error(`${file} missing: run node bench/fashion-embeddings.js --count ${count} first`);
  const vectors = new Float32Array(readFileSync(file).buffer.slice(0));
  return { dim: vectors.length / count, vectors, labels: data.labels, classes: data.classes };
}

function fashionMnist() {
  const train = featuresOf('train', poolSize);
  const test = featuresOf('test', testSize);
  const pool = { ids: train.labels.map((_, i) => i + 1), dim: train.dim, vectors: train.vectors };
  return {
    name: 'Fashion-MNIST',
    tag: features,
    description: `Fashion-MNIST, ${features}: pool ${poolSize} (train), held-out ${testSize} (test)`,
    pool,
    truth: (id) => train.classes[train.labels[id - 1]],
    curvePool: pool,
    curveTruth: (id) => train.classes[train.labels[id - 1]],
    testSet: { matrix: { ids: test.labels.map((_, i) => i + 1), dim: test.dim, vectors: test.vectors }, truth: (id) => test.classes[test.labels[id - 1]] },
  };
}

/** Crops of COCO ground truth, one dataset per split; the class the import recorded is the truth. */
async function cocoCrops(dirs) {
  const { Dataset } = require('../dist/dataset');
  const { loadEmbeddings } = require('../dist/embed');
  const parts = [];
  for (const dir of dirs) {
    const ds = await Dataset.open(dir);
    try {
      const labels = new Map();
      for (const item of ds.store.iterateItems({})) if (item.label) labels.set(item.id, item.label);
      const embeddings = loadEmbeddings(ds.root, { store: ds.store });
      const rows = embeddings.ids.map((id, row) => ({ id, row })).filter(({ id }) => labels.has(id));
      const vectors = new Float32Array(rows.length * embeddings.dim);
      rows.forEach(({ row }, i) => vectors.set(embeddings.vectors.subarray(row * embeddings.dim, (row + 1) * embeddings.dim), i * embeddings.dim));
      parts.push({ dir, dim: embeddings.dim, vectors, labels: rows.map(({ id }) => labels.get(id)), items: embeddings.ids.length });
    } finally {
      ds.close();
    }
  }
  const matrixOf = (chosen) => {
    const dim = chosen[0].dim;
    const labels = chosen.flatMap((part) => part.labels);
    const vectors = new Float32Array(labels.length * dim);
    let offset = 0;
    for (const part of chosen) {
      vectors.set(part.vectors, offset);
      offset += part.vectors.length;
    }
    return { matrix: { ids: labels.map((_, i) => i + 1), dim, vectors }, truth: (id) => labels[id - 1] };
  };
  const all = matrixOf(parts);
  const first = matrixOf(parts.slice(0, 1));
  const rest = matrixOf(parts.slice(1));
  const classes = new Set(parts.flatMap((part) => part.labels)).size;
  return {
    name: 'COCO crops',
    tag: 'coco',
    description: `COCO crops (${parts.map((p) => `${path.basename(p.dir)}: ${p.labels.length}`).join(', ')}; ${classes} classes, ${parts[0].dim}-d embeddings): pool = all ${all.matrix.ids.length} crops; learning curve: labels from ${path.basename(parts[0].dir)}, head measured on the rest`,
    pool: all.matrix,
    truth: all.truth,
    curvePool: first.matrix,
    curveTruth: first.truth,
    testSet: parts.length > 1 ? { matrix: rest.matrix, truth: rest.truth } : undefined,
  };
}

(async () => {
  const data = coco ? await cocoCrops(coco.split(',')) : fashionMnist();
  const { pool, truth, testSet } = data;
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, node ${process.version}; load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log(`${data.description}; median of ${runs} runs (seeds 1..${runs})\n`);

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
  const checkpoints = [25, 50, 100, 200, 500, 1000].filter((n) => n <= data.curvePool.ids.length);
  const curves = [];
  if (testSet) {
    for (const ranker of rankers) {
      const perSeed = [];
      for (let seed = 1; seed <= runs; seed++) {
        perSeed.push(simulate(data.curvePool, data.curveTruth, { ranker, mode: 'one', seed, budget: checkpoints.at(-1), checkpoints, test: testSet, rescoreEvery: 5 }).curve);
      }
      curves.push({ name: ranker, points: checkpoints.map((labels, i) => ({ x: labels, y: median(perSeed.map((curve) => curve[i].accuracy)) })) });
    }
    console.log(`\nHead accuracy on the ${testSet.matrix.ids.length} held-out items, median of ${runs} runs:`);
    console.log(`\n| ranker | ${checkpoints.map((n) => `${n} labels`).join(' | ')} |`);
    console.log(`| --- | ${checkpoints.map(() => '---:').join(' | ')} |`);
    for (const curve of curves) console.log(`| ${curve.name} | ${curve.points.map((p) => `${(p.y * 100).toFixed(1)}%`).join(' | ')} |`);
  }

  writeFileSync(path.join(out, `learning-curves-${data.tag}.svg`), lineChartSvg(curves, { title: `${data.name} (${data.tag}): head accuracy on held-out`, xLabel: 'labels', yLabel: 'accuracy', yMin: 0, yMax: 1 }));
  writeFileSync(
    path.join(out, `labeling-cost-${data.tag}.svg`),
    lineChartSvg(
      rows.filter((r) => r.suggestions).map((row) => ({
        name: `${row.ranker} (${row.mode})`,
        points: row.results[0].curve.length ? row.results[0].curve.map((p) => ({ x: p.labels, y: p.humanSeconds })) : [],
      })),
      { title: 'human-seconds against labels', xLabel: 'labels', yLabel: 'seconds' },
    ),
  );
  console.log(`\ncurves: ${path.join(out, `learning-curves-${data.tag}.svg`)}, ${path.join(out, `labeling-cost-${data.tag}.svg`)}`);
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
