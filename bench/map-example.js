#!/usr/bin/env node
// An example embedding map of a real dataset: the first 2,000 Fashion-MNIST training images (Debian
// dataset-fashion-mnist) embedded by the engine's default model (MobileNetV2 int8, 1280-d), as cached by
// bench/fashion-embeddings.js. To show the three kinds of point: the first 300 images are "labeled by a
// person" with their true class; a softmax head trained on those 300 suggests a class for the next 1,200
// (hollow, in the suggested class's colour: a wrong suggestion is a hollow dot of another colour); the last
// 500 are unlabeled.
//
//   npm run build && node bench/fashion-embeddings.js --count 2000 --split train && node bench/map-example.js
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { projectEmbeddings, mapSvg } = require('../dist/map');
const { SoftmaxHead } = require('../dist/learn');
const { loadFashionMnist } = require('./fashion-mnist');

const COUNT = 2000;
const LABELED = 300;
const SUGGESTED = 1200;
const file = path.join(__dirname, 'out', `fashion-train-${COUNT}.f32`);
const out = path.join(__dirname, 'results', 'map-fashion-mnist-2000.svg');

(async () => {
  if (!existsSync(file)) throw new Error(`${file} is missing: run node bench/fashion-embeddings.js --count ${COUNT} --split train first`);
  const bytes = readFileSync(file);
  const vectors = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
  const dim = vectors.length / COUNT;
  const { labels, classes } = loadFashionMnist('train', COUNT);
  // The head sees centred unit rows, as the engine's learner does (learn/embedding-matrix.ts); the map the raw vectors.
  const mean = new Float64Array(dim);
  for (let i = 0; i < vectors.length; i++) mean[i % dim] += vectors[i] / COUNT;
  const unit = new Float32Array(vectors.length);
  for (let r = 0; r < COUNT; r++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += (vectors[r * dim + j] - mean[j]) ** 2;
    for (let j = 0; j < dim; j++) unit[r * dim + j] = (vectors[r * dim + j] - mean[j]) / Math.sqrt(norm || 1);
  }
  const row = (r) => unit.subarray(r * dim, (r + 1) * dim);

  const head = new SoftmaxHead(dim, { seed: 1 });
  for (let r = 0; r < LABELED; r++) head.learn(r, row(r), classes[labels[r]]);
  head.fit();
  let right = 0;
  const suggestions = [];
  for (let r = LABELED; r < LABELED + SUGGESTED; r++) {
    const suggestion = head.suggest(row(r));
    suggestions.push(suggestion.label);
    if (suggestion.label === classes[labels[r]]) right++;
  }

  const started = performance.now();
  const { ids, xy } = await projectEmbeddings({ ids: Array.from({ length: COUNT }, (_, r) => r), dim, vectors }, { seed: 1 });
  const seconds = (performance.now() - started) / 1000;
  const points = ids.map((r, i) => ({
    x: xy[2 * i],
    y: xy[2 * i + 1],
    label: r < LABELED ? classes[labels[r]] : r < LABELED + SUGGESTED ? suggestions[r - LABELED] : null,
    source: r < LABELED ? 'human' : r < LABELED + SUGGESTED ? 'model' : null,
  }));
  writeFileSync(
    out,
    mapSvg(points, {
      title: `Fashion-MNIST: ${COUNT.toLocaleString('en-US')} training images, MobileNetV2 (int8) embeddings, UMAP after PCA`,
      subtitle: `${LABELED} labeled (true class); ${SUGGESTED} suggested by a head trained on them (${((100 * right) / SUGGESTED).toFixed(1)} % right); ${COUNT - LABELED - SUGGESTED} unlabeled`,
    }),
  );
  console.log(`${out}: ${COUNT} points laid out in ${seconds.toFixed(1)} s; suggestions ${right}/${SUGGESTED} right`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
