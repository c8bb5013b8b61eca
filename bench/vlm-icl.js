#!/usr/bin/env node
// In-context learning with the VLM assist, against the loopback fake VLM of the tests (tests/vlm: it answers
// with the label of the demonstration most like the query image in 16×16 RGB, so only the demonstrations sent
// decide the answer), on Fashion-MNIST and on COCO crops. In one run, per seed: accuracy of the suggestions
// with no demonstrations, k random labelled ones, k retrieved ones (the bank: nearest labelled neighbours on
// the default ONNX model's embeddings, one of each of the head's top 3 classes, at most ⌈k/2⌉ of a class),
// the kNN majority vote of the same retrieved items, and the head alone (softmax on the embeddings); and the
// requests/s and p50/p99 latency the suggestion run sustains (client concurrency 4; the fake in a child process).
//
//   node node_modules/typescript/bin/tsc -p tsconfig.build.json && node bench/vlm-icl.js \
//     [--seeds 5] [--k 8] [--labelled 5] [--queries 100] [--per-class 40] [--coco ../shared/data/coco-tiny] \
//     [--url http://HOST:PORT/v1 --model NAME]   (a real server in place of the fake)
//
// Fashion-MNIST from Debian's dataset-fashion-mnist; COCO crops cut by `importCoco` from coco-tiny's ground
// truth (val2017: 80 images), boxes of at least 32 px a side, the 8 most frequent classes.
const { fork } = require('node:child_process');
const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);

if (args[0] === '--fake-child') return fakeChild();

const seeds = Number(option('seeds', '5'));
const k = Number(option('k', '8'));
const labelledPerClass = Number(option('labelled', '5'));
const queryCount = Number(option('queries', '100'));
const perClass = Number(option('per-class', '40'));
const cocoData = path.resolve(option('coco', path.join(__dirname, '..', '..', 'shared', 'data', 'coco-tiny')));
const MIN_CROP_SIDE = 32;
const COCO_CLASSES = 8;

const dist = (name) => require(path.join(__dirname, '..', 'dist', name));
const { Dataset } = dist('dataset');
const { createVlmClient, suggestWithVlm, openBank } = dist('vlm');
const { mulberry32 } = dist('random');

/** The fake VLM, bundled from its TypeScript by esbuild, serving from a child process of its own. */
function fakeChild() {
  // In dist/bench/, so that its packages (sharp) resolve from the repository's node_modules.
  const bundle = path.join(__dirname, '..', 'dist', 'bench', 'fake-vlm-server.js');
  require('esbuild').buildSync({ entryPoints: [path.join(__dirname, '..', 'tests', 'vlm', 'fake-vlm-server.ts')], bundle: true, platform: 'node', packages: 'external', outfile: bundle, logLevel: 'error' });
  require(bundle)
    .startFakeVlm()
    .then((fake) => process.send({ url: fake.url }));
  process.on('disconnect', () => process.exit(0));
}

function startFake() {
  const child = fork(__filename, ['--fake-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve) => child.once('message', ({ url }) => resolve({ url, close: () => child.kill() })));
}

function shuffle(values, random) {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function fashionDataset(dir) {
  const sharp = require('sharp');
  const { loadFashionMnist } = require('./fashion-mnist');
  const data = loadFashionMnist('train', perClass * 20);
  const taken = new Map();
  for (let i = 0; i < data.images.length; i++) {
    const name = data.classes[data.labels[i]];
    const count = taken.get(name) ?? 0;
    if (count >= perClass) continue;
    taken.set(name, count + 1);
    const png = await sharp(Buffer.from(data.images[i]), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    writeFileSync(path.join(dir, `${name}-${count}.png`), png);
  }
  const ds = await Dataset.open(dir, { user: 'bench' });
  await ds.ingest();
  await ds.embed();
  const truth = new Map(ds.items().map((item) => [item.id, path.basename(item.uri).replace(/-\d+\.png$/, '')]));
  return { ds, truth };
}

async function cocoDataset(dir) {
  const ds = await Dataset.open(dir, { user: 'bench' });
  await ds.importCoco({ annotations: path.join(cocoData, 'annotations', 'instances_val2017.json'), images: path.join(cocoData, 'val2017') });
  const big = ds.items().filter((item) => item.label && item.box && item.box[2] >= MIN_CROP_SIDE && item.box[3] >= MIN_CROP_SIDE);
  const counts = new Map();
  for (const item of big) counts.set(item.label, (counts.get(item.label) ?? 0) + 1);
  const classes = new Set([...counts].sort((a, b) => b[1] - a[1]).slice(0, COCO_CLASSES).map(([name]) => name));
  await ds.embed();
  const truth = new Map(big.filter((item) => classes.has(item.label)).map((item) => [item.id, item.label]));
  return { ds, truth };
}

/** One seed: labels a few of each class as a person, asks about a sample of the rest in every mode. */
async function runSeed(ds, truth, url, seed, previous) {
  for (const id of previous) ds.unlabel(id);
  const random = mulberry32(seed);
  const byClass = new Map();
  for (const [id, label] of truth) byClass.set(label, [...(byClass.get(label) ?? []), id]);
  const labelled = [];
  const rest = [];
  for (const ids of byClass.values()) {
    const order = shuffle(ids, random);
    labelled.push(...order.slice(0, labelledPerClass));
    rest.push(...order.slice(labelledPerClass));
  }
  ds.labelMany(labelled.map((id) => ({ id, label: truth.get(id) })));
  const queries = shuffle(rest, random).slice(0, queryCount);
  const accuracy = (items, labelOf) => items.filter((item) => labelOf(item) === truth.get(item.id)).length / items.length;
  const client = createVlmClient({ url, model: option('model', 'fake-vlm'), concurrency: 4, retries: 0 });
  const counts = new Map();
  for (const id of queries) counts.set(truth.get(id), (counts.get(truth.get(id)) ?? 0) + 1);
  // Answering the most frequent class every time: what an accuracy is worth on imbalanced queries (COCO's persons).
  const result = { labelled: labelled.length, queries: queries.length, majority: Math.max(...counts.values()) / queries.length };
  try {
    for (const [mode, demonstrations, kk] of [['zero', 'none', 0], ['random', 'random', k], ['retrieved', 'retrieved', k]]) {
      const report = await suggestWithVlm(ds, { client, items: queries, k: kk, demonstrations, cache: false, seed });
      result[mode] = accuracy(report.items, (item) => item.label);
      if (mode === 'retrieved') {
        result.vote = accuracy(report.items, (item) => item.vote?.label);
        result.agreeWithVote = report.items.filter((item) => item.label === item.vote?.label).length / report.items.length;
        result.requestsPerSecond = report.requestsPerSecond;
        result.p50 = report.latency.p50;
        result.p99 = report.latency.p99;
      }
    }
    const bank = openBank(ds, seed);
    result.head = accuracy(queries.map((id) => ({ id })), (item) => bank.candidateClasses(item.id, 1)[0]);
  } finally {
    client.close();
  }
  return { result, labelled };
}

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'quicksort-vlm-icl-'));
  // --url (and --model) asks a real server instead: the same prompts, the same measures.
  const fake = option('url') ? { url: option('url'), close: () => undefined } : await startFake();
  const rows = [];
  try {
    for (const [name, make] of [['Fashion-MNIST', fashionDataset], ['COCO crops (coco-tiny)', cocoDataset]]) {
      const dir = path.join(work, name.split(' ')[0]);
      mkdirSync(dir);
      const started = performance.now();
      const { ds, truth } = await make(dir);
      process.stderr.write(`${name}: ${truth.size} items of ${new Set(truth.values()).size} classes ready in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
      let previous = [];
      const results = [];
      for (let seed = 1; seed <= seeds; seed++) {
        const { result, labelled } = await runSeed(ds, truth, fake.url, seed, previous);
        previous = labelled;
        results.push(result);
        process.stderr.write(`  seed ${seed}: ${JSON.stringify(result)}\n`);
      }
      ds.close();
      const keys = ['majority', 'zero', 'random', 'retrieved', 'vote', 'head', 'agreeWithVote', 'requestsPerSecond', 'p50', 'p99'];
      rows.push({ name, classes: new Set(truth.values()).size, labelled: results[0].labelled, queries: results[0].queries, ...Object.fromEntries(keys.map((key) => [key, median(results.map((r) => r[key]))])) });
    }
  } finally {
    fake.close();
    rmSync(work, { recursive: true, force: true });
  }
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  console.log(`k = ${k}, ${labelledPerClass} labelled per class, medians of ${seeds} seeds; ${os.cpus().length} cores, node ${process.version}`);
  console.log('| dataset | classes | labelled | queries | majority class | zero demos | k random | k retrieved | kNN vote (same k) | head alone | ICL = vote | req/s | p50 ms | p99 ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.classes} | ${r.labelled} | ${r.queries} | ${pct(r.majority)} | ${pct(r.zero)} | ${pct(r.random)} | ${pct(r.retrieved)} | ${pct(r.vote)} | ${pct(r.head)} | ${pct(r.agreeWithVote)} | ${r.requestsPerSecond.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} |`);
  }
  console.log(JSON.stringify(rows));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
