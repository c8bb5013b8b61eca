#!/usr/bin/env node
/**
 * Text → image retrieval with the offline text tower (issue 15): recall@1/5/10 of held-out captions of
 * coco-mini-train (80 images × 5 captions), in one run, for chance, the untrained encoder (mean of word
 * vectors through a random projection; the image side a random projection of the centred embeddings) and
 * the trained one (InfoNCE), median over seeds; and training time and memory.
 *
 *   node node_modules/typescript/bin/tsc -p tsconfig.build.json
 *   node bench/text-recall.js [--data DIR] [--seeds 5] [--epochs 40] [--heldout-images 20] [--scale 1000,4000]
 *
 * Splits, per seed (mulberry32):
 *   (a) captions: one caption of every image is the query, the other 4 train; the pool is all 80 images.
 *   (b) images: `--heldout-images` images have no caption in training (the rest train with all 5); the
 *       queries are the held-out images' 5 captions each, the pool those held-out images alone.
 * The images are embedded once with the default model (MobileNetV2, 1280-d) into bench/out/text-recall/.
 *
 * Time and memory per 1,000 captions (`--scale`): each size N runs in a fresh process that trains 2 epochs
 * on N captions (the COCO captions over and over) of N/4 synthetic 1280-d images; its peak RSS against a
 * process that loaded the same modules, word vectors and images but trained nothing; median of 3 processes each.
 */
const { existsSync, mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const text = require('../dist/text');
const { mulberry32 } = require('../dist/random');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const DATA = path.resolve(option('data', path.join(__dirname, '..', '..', 'shared', 'data', 'coco-mini-train')));
const SEEDS = Number(option('seeds', '5'));
const EPOCHS = Number(option('epochs', String(text.DEFAULT_EPOCHS)));
const HELDOUT_IMAGES = Number(option('heldout-images', '20'));
const OUT = path.join(__dirname, 'out', 'text-recall');
const KS = [1, 5, 10];
const SCALE = (option('scale', '1000,4000') || '').split(',').filter(Boolean).map(Number);

async function embeddings(images) {
  const file = path.join(OUT, 'embeddings.f32');
  const list = path.join(OUT, 'embeddings.json');
  const names = images.map((image) => image.file_name);
  if (existsSync(file) && existsSync(list) && JSON.stringify(JSON.parse(readFileSync(list, 'utf8'))) === JSON.stringify(names)) {
    const bytes = readFileSync(file);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
  }
  // Loaded here only: onnxruntime and sharp would add ~150 MB to the scaling children's RSS.
  const { OnnxEmbedder, DEFAULT_MODEL } = require('../dist/embed');
  const embedder = await OnnxEmbedder.load(DEFAULT_MODEL, {});
  try {
    const results = await embedder.embedImages(names.map((name) => ({ file: path.join(DATA, 'train2017', name) })));
    const matrix = new Float32Array(names.length * embedder.dim);
    results.forEach((result, row) => {
      if (!result.ok) throw new Error(`${names[row]}: ${result.reason}`);
      matrix.set(result.vector, row * embedder.dim);
    });
    mkdirSync(OUT, { recursive: true });
    writeFileSync(file, Buffer.from(matrix.buffer));
    writeFileSync(list, JSON.stringify(names));
    return matrix;
  } finally {
    await embedder.close();
  }
}

/** Recall@k of queries (rows of `queries`, each with the pool index of its image) over a pool. */
function recalls(queries, targets, pool, dim) {
  const hits = KS.map(() => 0);
  const n = pool.length / dim;
  for (let q = 0; q < targets.length; q++) {
    const scores = new Float64Array(n);
    for (let p = 0; p < n; p++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += queries[q * dim + d] * pool[p * dim + d];
      scores[p] = dot;
    }
    const own = scores[targets[q]];
    let rank = 0; // images scoring strictly higher; ties count against the query (no credit for a flat scorer)
    for (let p = 0; p < n; p++) if (p !== targets[q] && scores[p] >= own) rank++;
    KS.forEach((k, i) => (hits[i] += rank < k ? 1 : 0));
  }
  return hits.map((hit) => (100 * hit) / targets.length);
}

function rowsOf(matrix, rows, dim) {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => out.set(matrix.subarray(row * dim, (row + 1) * dim), i * dim));
  return out;
}

function shuffle(list, random) {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function evaluate(model, images, dim, queries, pool) {
  const joint = model.projectImages(rowsOf(images, pool, dim));
  const encoded = model.encodeText(queries.map((q) => q.caption));
  return recalls(encoded, queries.map((q) => pool.indexOf(q.image)), joint, model.jointDim);
}

/**
 * A text-only reference for split (a): each image scored by the best cosine between the query's mean word
 * vector and those of the image's training captions (no image used at all): how far word overlap between
 * sibling captions goes on its own.
 */
function nearestCaption(train, queries, pool) {
  const model = text.createTextModel(1, { buckets: 1 });
  const dim = model.settings.wordDim;
  const unit = (bags, n) => {
    for (let r = 0; r < n; r++) {
      const norm = Math.hypot(...bags.subarray(r * dim, (r + 1) * dim)) || 1;
      for (let c = 0; c < dim; c++) bags[r * dim + c] /= norm;
    }
    return bags;
  };
  // Vocabulary words only (the buckets of an untrained model are zero).
  const bagsOf = (texts) => unit(model.bags(texts.map((t) => ({ ...model.features(t), subwords: new Int32Array(0) }))), texts.length);
  const trained = bagsOf(train.captions);
  const asked = bagsOf(queries.map((q) => q.caption));
  const scores = new Float32Array(queries.length * pool.length);
  queries.forEach((_, q) => {
    pool.forEach((image, p) => {
      let best = -Infinity;
      train.imageOfCaption.forEach((row, c) => {
        if (row !== image) return;
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += asked[q * dim + d] * trained[c * dim + d];
        best = Math.max(best, dot);
      });
      scores[q * pool.length + p] = best;
    });
  });
  // recalls() takes unit rows; here the scores themselves: one-hot pool rows make dot = score.
  const identity = new Float32Array(pool.length * pool.length);
  for (let p = 0; p < pool.length; p++) identity[p * pool.length + p] = 1;
  return recalls(scores, queries.map((q) => pool.indexOf(q.image)), identity, pool.length);
}

function untrained(images, dim, trainRows, seed) {
  const model = text.createTextModel(dim, { seed });
  const mean = new Float64Array(dim);
  for (const row of trainRows) for (let d = 0; d < dim; d++) mean[d] += images[row * dim + d] / trainRows.length;
  model.imageMean.set(mean);
  return model;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** One scaling run, in this (fresh) process: `--child N` (0: load everything, train nothing). */
function child(count) {
  const coco = JSON.parse(readFileSync(path.join(DATA, 'annotations', 'captions_train2017.json'), 'utf8'));
  const random = mulberry32(count + 1);
  const imageCount = Math.max(2, Math.ceil(count / 4));
  const images = Float32Array.from({ length: imageCount * 1280 }, () => random());
  text.loadWordVectors();
  const captions = Array.from({ length: count }, (_, i) => coco.annotations[i % coco.annotations.length].caption);
  const imageOfCaption = captions.map((_, i) => i % imageCount);
  let seconds = 0;
  // Allocated memory while training (the model, Adam's moments, the features): heap + array buffers,
  // sampled after each epoch, over what was held before. Zero-filled arrays count whole here, though
  // the pages nobody touched (most bucket rows) never become resident: RSS grows less.
  global.gc?.();
  const held = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const before = held();
  let peak = before;
  if (count > 0) {
    seconds = text.trainTextModelHere({ images, imageDim: 1280, captions, imageOfCaption }, { epochs: 2 }, () => (peak = Math.max(peak, held()))).report.seconds / 2;
  }
  process.stdout.write(JSON.stringify({ count, secondsPerEpoch: seconds, maxRssKB: process.resourceUsage().maxRSS, allocatedMB: (peak - before) / 2 ** 20 }));
}

function scaling() {
  const { execFileSync } = require('node:child_process');
  const once = (count) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', __filename, '--child', String(count), '--data', DATA], { encoding: 'utf8' }));
  // Peak RSS moves with the collector's timing by tens of MB: the median of 3 processes per size.
  const run = (count) => {
    const runs = [once(count), once(count), once(count)];
    return { count, secondsPerEpoch: median(runs.map((r) => r.secondsPerEpoch)), allocatedMB: median(runs.map((r) => r.allocatedMB)), maxRssKB: median(runs.map((r) => r.maxRssKB)), rssRunsMB: runs.map((r) => Math.round(r.maxRssKB / 1024)) };
  };
  const base = run(0);
  return SCALE.map((count) => {
    const result = run(count);
    return { ...result, baseRssMB: base.maxRssKB / 1024, baseRssRunsMB: base.rssRunsMB, rssOverBaseMB: (result.maxRssKB - base.maxRssKB) / 1024 };
  });
}

async function main() {
  if (args.includes('--child')) return child(Number(option('child', '0')));
  const coco = JSON.parse(readFileSync(path.join(DATA, 'annotations', 'captions_train2017.json'), 'utf8'));
  const images = coco.images;
  const rowOfId = new Map(images.map((image, row) => [image.id, row]));
  const captionsOf = images.map(() => []);
  for (const annotation of coco.annotations) captionsOf[rowOfId.get(annotation.image_id)].push(annotation.caption.trim());
  const started = performance.now();
  const matrix = await embeddings(images);
  const dim = matrix.length / images.length;
  console.error(`${images.length} images × ${dim} (${((performance.now() - started) / 1000).toFixed(1)} s incl. embedding if not cached), ${coco.annotations.length} captions`);

  const results = { a: { chance: [], 'nearest caption': [], untrained: [], trained: [] }, b: { chance: [], untrained: [], trained: [] } };
  const timing = [];
  const allRows = images.map((_, row) => row);
  for (let seed = 1; seed <= SEEDS; seed++) {
    const random = mulberry32(seed * 7919);
    // (a) one caption per image held out.
    const trainA = { captions: [], imageOfCaption: [] };
    const queriesA = [];
    captionsOf.forEach((captions, row) => {
      const held = Math.floor(random() * captions.length);
      captions.forEach((caption, i) => {
        if (i === held) queriesA.push({ caption, image: row });
        else (trainA.captions.push(caption), trainA.imageOfCaption.push(row));
      });
    });
    // (b) whole images held out.
    const heldImages = shuffle(allRows, random).slice(0, HELDOUT_IMAGES).sort((x, y) => x - y);
    const trainB = { captions: [], imageOfCaption: [] };
    const queriesB = [];
    captionsOf.forEach((captions, row) => {
      for (const caption of captions) {
        if (heldImages.includes(row)) queriesB.push({ caption, image: row });
        else (trainB.captions.push(caption), trainB.imageOfCaption.push(row));
      }
    });
    for (const [split, train, queries, pool] of [['a', trainA, queriesA, allRows], ['b', trainB, queriesB, heldImages]]) {
      results[split].chance.push(KS.map((k) => (100 * Math.min(k, pool.length)) / pool.length));
      const trainRows = [...new Set(train.imageOfCaption)];
      if (split === 'a') results.a['nearest caption'].push(nearestCaption(train, queries, pool));
      results[split].untrained.push(evaluate(untrained(matrix, dim, trainRows, seed), matrix, dim, queries, pool));
      global.gc?.();
      const heapBefore = process.memoryUsage();
      const { model, report } = text.trainTextModelHere({ images: matrix, imageDim: dim, ...train }, { seed, epochs: EPOCHS });
      const heapAfter = process.memoryUsage();
      timing.push({ captions: train.captions.length, seconds: report.seconds, epochs: report.epochs, rss: heapAfter.rss, heapGrowth: heapAfter.heapUsed + heapAfter.arrayBuffers - heapBefore.heapUsed - heapBefore.arrayBuffers, loss: [report.losses[0], report.losses[report.losses.length - 1]] });
      results[split].trained.push(evaluate(model, matrix, dim, queries, pool));
      console.error(`seed ${seed} (${split}): trained R@1/5/10 ${results[split].trained.at(-1).map((v) => v.toFixed(1)).join(' / ')}, untrained ${results[split].untrained.at(-1).map((v) => v.toFixed(1)).join(' / ')}, loss ${report.losses[0].toFixed(3)} → ${report.losses.at(-1).toFixed(3)}, ${report.seconds.toFixed(2)} s`);
    }
  }
  const table = [];
  for (const [split, title] of [['a', `(a) held-out captions, pool ${images.length} images`], ['b', `(b) ${HELDOUT_IMAGES} images with no caption in training, pool ${HELDOUT_IMAGES}`]]) {
    for (const method of Object.keys(results[split])) {
      const runs = results[split][method];
      table.push({ split: title, method, recall: KS.map((_, i) => median(runs.map((run) => run[i]))), runs: runs.length });
    }
  }
  const perThousand = median(timing.map((t) => (t.seconds / t.epochs / t.captions) * 1000));
  const summary = {
    command: `node bench/text-recall.js ${args.join(' ')}`.trim(),
    node: process.version,
    seeds: SEEDS,
    epochs: EPOCHS,
    table,
    trainingSecondsPerEpochPer1000Captions: perThousand,
    trainingSecondsMedian: median(timing.map((t) => t.seconds)),
    captionsPerRun: timing.map((t) => t.captions),
    peakRssMB: Math.max(...timing.map((t) => t.rss)) / 2 ** 20,
    heapGrowthMBMedian: median(timing.map((t) => t.heapGrowth)) / 2 ** 20,
    lossFirstLast: timing.map((t) => t.loss),
    scaling: scaling(),
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, 'summary.json'), JSON.stringify(summary, null, 2));
  for (const row of table) console.log(`${row.split.padEnd(48)} ${row.method.padEnd(16)} R@1/5/10 = ${row.recall.map((v) => v.toFixed(1)).join(' / ')}`);
  for (const row of summary.scaling) console.log(`${row.count} captions: ${row.secondsPerEpoch.toFixed(2)} s per epoch, ${row.allocatedMB.toFixed(0)} MB allocated while training, peak RSS ${row.rssOverBaseMB.toFixed(0)} MB (runs ${row.rssRunsMB.join(', ')}) over a process that loaded the same and trained nothing (${row.baseRssMB.toFixed(0)} MB; runs ${row.baseRssRunsMB.join(', ')})`);
  console.log(`training: ${summary.trainingSecondsMedian.toFixed(2)} s median per run (${EPOCHS} epochs), ${perThousand.toFixed(3)} s per epoch per 1,000 captions; peak RSS ${summary.peakRssMB.toFixed(0)} MB`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
