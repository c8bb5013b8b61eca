#!/usr/bin/env node
// Adapters on a two-tower model (issue 15): training time per epoch per 1,000 captions of LiT-style residual
// adapters on both sides (dim × dim each), against QuickSort's own text model trained on the same pairs in the
// same run (its image side projecting the same vectors); then what the adapters cost at search time: bringing N
// items through the image adapter (what adapted.bin caches) and a zero-shot or adapted search's exact scan.
//
//   npm run build && node bench/adapter-training.js [--dim 512] [--captions 1000] [--epochs 3] [--items 100000] [--queries 200]
//
// Synthetic unit vectors stand in for CLIP's (time does not depend on their values); on the tiny generated CLIP
// the adapters' learning itself is tested (tests/text/clip-adapters.test.ts). Captions for the text model are
// COCO captions of examples/coco-mini-train.
const path = require('node:path');
const { readFileSync } = require('node:fs');

const args = process.argv.slice(2);
const option = (name, fallback) => Number(args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const dim = option('dim', 512);
const captionCount = option('captions', 1000);
const epochs = option('epochs', 3);
const items = option('items', 100000);
const queries = option('queries', 200);
const dist = (name) => require(path.join(__dirname, '..', 'dist', name));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];

let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
function unitRows(rows) {
  const out = Float32Array.from({ length: rows * dim }, random);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += out[r * dim + d] ** 2;
    for (let d = 0; d < dim; d++) out[r * dim + d] /= Math.sqrt(sum);
  }
  return out;
}

const { trainAdaptersHere, trainTextModelHere, createAdapters, JointIndex } = dist('text');
const images = unitRows(captionCount / 2);
const texts = unitRows(captionCount);
const imageOfCaption = Array.from({ length: captionCount }, (_, c) => Math.floor(c / 2));
const coco = JSON.parse(readFileSync(path.join(__dirname, '..', 'examples', 'coco-mini-train', 'annotations', 'captions_train2017.json'), 'utf8')).annotations.map((a) => a.caption);
const captions = Array.from({ length: captionCount }, (_, c) => coco[c % coco.length]);

const perEpoch = (report) => (report.seconds / report.epochs) * (1000 / captionCount);
const adapterRuns = [];
const modelRuns = [];
for (let run = 0; run < 3; run++) {
  adapterRuns.push(perEpoch(trainAdaptersHere({ dim, images, texts, imageOfCaption }, { epochs }).report));
  modelRuns.push(perEpoch(trainTextModelHere({ images, imageDim: dim, captions, imageOfCaption }, { epochs }).report));
}
console.log(`training, s per epoch per 1,000 captions (${dim}-d, ${captionCount} captions, ${epochs} epochs, 3 runs):`);
console.log(`  adapters on both sides: median ${median(adapterRuns).toFixed(2)} (${adapterRuns.map((s) => s.toFixed(2)).join(', ')})`);
console.log(`  baseline, the text model: median ${median(modelRuns).toFixed(2)} (${modelRuns.map((s) => s.toFixed(2)).join(', ')})`);

const adapters = createAdapters(dim);
for (let i = 0; i < adapters.imageWeights.length; i++) adapters.imageWeights[i] = random() * 0.01;
const many = unitRows(items);
const adaptTimes = [];
let adapted;
for (let run = 0; run < 3; run++) {
  const start = performance.now();
  adapted = adapters.adaptImages(many);
  adaptTimes.push(performance.now() - start);
}
console.log(`bringing ${items} items through the image adapter, s: median ${(median(adaptTimes) / 1000).toFixed(2)} (${adaptTimes.map((t) => (t / 1000).toFixed(2)).join(', ')})`);
const index = new JointIndex(Array.from({ length: items }, (_, i) => i + 1), dim, adapted);
const query = unitRows(1);
const latencies = [];
for (let q = 0; q < queries; q++) {
  const start = performance.now();
  index.search(query, 20);
  latencies.push(performance.now() - start);
}
console.log(`exact scan of ${items} ${dim}-d items, k 20, ${queries} queries: p50 ${quantile(latencies, 0.5).toFixed(2)} ms, p99 ${quantile(latencies, 0.99).toFixed(2)} ms`);
