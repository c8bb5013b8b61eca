#!/usr/bin/env node
// Human-seconds per correct label, one item at a time, with the VLM assist's suggestions for the head's hard
// cases against the head alone (issue 16), on Fashion-MNIST and on COCO crops, through the product's path: a
// SessionHost (with `vlm: { client, batch, everyLabels, k }`, or `vlm: false` for the baseline) and a
// LabelingSession fed protocol messages by a simulated person, with the simulator's time model
// (DEFAULT_TIME_MODEL of src/learn: 0.6 s to accept the suggestion shown, 2.5 s to choose another class).
//
//   node node_modules/typescript/bin/tsc -p tsconfig.build.json && node bench/vlm-simulate.js \
//     [--runs 3] [--pool 500] [--ranker hybrid] [--batch 8] [--every 10] [--k 8] [--coco ../shared/data/coco-tiny] \
//     [--only fashion,coco] [--url http://HOST:PORT/v1 --model NAME]   (a real server in place of the fake)
//
// The VLM is the tests' loopback fake (bench/vlm-fake.js: answers with the label of the demonstration most like
// the query in 16×16 RGB): this measures the plumbing and the retrieval, not a real VLM.
//
// The simulated person: the current item is the first of the last `queue` the session sent, as the later
// `items` broadcasts left it (a VLM label the assist stored meanwhile arrives that way, shown as the item's
// suggestion, in place of the head's). If the suggestion shown is the true class they accept it (`accept`,
// 0.6 s), else they choose the true class (`label`, 2.5 s); every label ends right, so human-seconds per
// correct label = total seconds / labels. They take longer than the machine: before each item they wait for the
// head's re-score, the assist's round and the host's follower to have delivered the round's suggestions.
//
// Fashion-MNIST: --pool images of the Debian package's training split, an equal number per class, a different
// sample per run (out of twice as many, embedded once with the default ONNX model). COCO crops: coco-tiny
// val2017 ground truth cut by `importCoco`, boxes of at least 32 px a side, the 8 most frequent classes; per
// run a random 80 % of them. The learner only knows the run's pool (its embedding matrix is the pool's rows).
const { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startFake } = require('./vlm-fake');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const runs = Number(option('runs', '3'));
const poolSize = Number(option('pool', '500'));
const ranker = option('ranker', 'hybrid');
const vlmSettings = { batch: Number(option('batch', '8')), everyLabels: Number(option('every', '10')), k: Number(option('k', '8')), captions: false };
const cocoData = path.resolve(option('coco', path.join(__dirname, '..', '..', 'shared', 'data', 'coco-tiny')));
const only = option('only', 'fashion,coco').split(',');
const MIN_CROP_SIDE = 32;
const COCO_CLASSES = 8;

const dist = (name) => require(path.join(__dirname, '..', 'dist', name));
const { Dataset } = dist('dataset');
const { loadEmbeddings } = dist('embed');
const { SessionHost, LabelingSession } = dist('session');
const { createVlmClient } = dist('vlm');
const { DEFAULT_TIME_MODEL } = dist('learn');
const { mulberry32 } = dist('random');

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function shuffle(values, random) {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Fashion-MNIST as PNG files, ingested and embedded; truth from the file names. */
async function prepareFashion(dir) {
  const sharp = require('sharp');
  const { loadFashionMnist } = require('./fashion-mnist');
  const perClass = Math.ceil((2 * poolSize) / 10);
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
  ds.close();
  // Per run: poolSize items, the same number of each class.
  const byClass = new Map();
  for (const [id, label] of truth) byClass.set(label, [...(byClass.get(label) ?? []), id]);
  const pool = (random) => [...byClass.values()].flatMap((ids) => shuffle(ids, random).slice(0, Math.floor(poolSize / byClass.size)));
  return { truth, pool };
}

/** COCO crops of the most frequent classes; the imported classes become the truth and leave the store (no stored suggestion). */
async function prepareCoco(dir) {
  const ds = await Dataset.open(dir, { user: 'bench' });
  await ds.importCoco({ annotations: path.join(cocoData, 'annotations', 'instances_val2017.json'), images: path.join(cocoData, 'val2017') });
  const all = ds.items();
  const big = all.filter((item) => item.label && item.box && item.box[2] >= MIN_CROP_SIDE && item.box[3] >= MIN_CROP_SIDE);
  const counts = new Map();
  for (const item of big) counts.set(item.label, (counts.get(item.label) ?? 0) + 1);
  const classes = new Set([...counts].sort((a, b) => b[1] - a[1]).slice(0, COCO_CLASSES).map(([name]) => name));
  const truth = new Map(big.filter((item) => classes.has(item.label)).map((item) => [item.id, item.label]));
  await ds.embed();
  ds.store.actMany(all.filter((item) => item.label).map((item) => ({ itemId: item.id, action: { kind: 'unlabel' } })), { user: 'bench' });
  ds.close();
  const ids = [...truth.keys()];
  return { truth, pool: (random) => shuffle(ids, random).slice(0, Math.round(0.8 * ids.length)) };
}

/** The embedding matrix of the pool's items alone: the learner (and so the queue and the assist) knows only them. */
function poolMatrix(ds, ids) {
  const all = loadEmbeddings(ds.root, { store: ds.store });
  const rowOf = new Map(all.ids.map((id, row) => [id, row]));
  const vectors = new Float32Array(ids.length * all.dim);
  ids.forEach((id, i) => vectors.set(all.vectors.subarray(rowOf.get(id) * all.dim, (rowOf.get(id) + 1) * all.dim), i * all.dim));
  return { ids: [...ids], dim: all.dim, vectors };
}

/** One simulated person labelling the whole pool; `vlm` false: the head alone. */
async function simulateSession(preparedDir, truth, ids, vlm, url) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quicksort-vlm-sim-run-'));
  cpSync(preparedDir, dir, { recursive: true });
  const ds = await Dataset.open(dir, { user: 'person' });
  const client = vlm ? createVlmClient({ url, model: option('model', 'fake-vlm'), concurrency: 4, retries: 0 }) : undefined;
  const host = new SessionHost(ds, { embeddings: poolMatrix(ds, ids), ranker, rescoreDelayMs: 1, followIntervalMs: 20, thumbnailCache: false, vlm: vlm ? { ...vlmSettings, client } : false });
  // The client's copies: the last queue, and every item as last sent.
  let queue = [];
  const views = new Map();
  const vlmShown = new Set();
  const session = new LabelingSession(host, ({ message }) => {
    if (message.type === 'queue') queue = message.items.map((item) => item.id);
    for (const item of message.items ?? []) {
      views.set(item.id, item);
      if (item.labelSource === 'vlm') vlmShown.add(item.id);
    }
  });
  const tally = { labels: 0, seconds: 0, accepted: 0, vlmShown: 0, vlmRight: 0, headRightOnVlm: 0, vlmStored: 0 };
  try {
    await host.ready;
    let requestId = 1;
    await session.handle({ type: 'hello', requestId: requestId++ });
    while (tally.labels < ids.length) {
      // A person slower than the machine: the re-score, the assist's round and its suggestions reaching the page.
      await host.settled();
      await host.vlm.settled();
      for (let waited = 0; vlmShown.size < host.vlm.state.stored && waited < 100; waited++) await new Promise((resolve) => setTimeout(resolve, 10));
      const id = queue[0];
      if (id === undefined) break;
      const view = views.get(id);
      const shown = view.suggestion?.label;
      const right = truth.get(id);
      if (view.labelSource === 'vlm') {
        tally.vlmShown++;
        if (shown === right) tally.vlmRight++;
        if (host.learner?.suggest(id)?.label === right) tally.headRightOnVlm++;
      }
      if (shown === right) {
        tally.accepted++;
        tally.seconds += DEFAULT_TIME_MODEL.confirm;
        await session.handle({ type: 'accept', requestId: requestId++, itemId: id, label: shown });
      } else {
        tally.seconds += DEFAULT_TIME_MODEL.choose;
        await session.handle({ type: 'label', requestId: requestId++, itemId: id, label: right });
      }
      tally.labels++;
    }
    tally.vlmStored = host.vlm.state.stored ?? 0;
    tally.vlmAsked = host.vlm.state.asked ?? 0;
    const wrong = ds.items().filter((item) => truth.has(item.id) && ids.includes(item.id) && item.label !== truth.get(item.id));
    if (wrong.length > 0) throw new Error(`${wrong.length} items do not end with their true class`);
  } finally {
    session.close();
    await host.close();
    ds.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { ...tally, secondsPerLabel: tally.seconds / tally.labels, acceptedRate: tally.accepted / tally.labels, vlmRightRate: tally.vlmRight / Math.max(1, tally.vlmShown), headRightOnVlmRate: tally.headRightOnVlm / Math.max(1, tally.vlmShown) };
}

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'quicksort-vlm-sim-'));
  const fake = option('url') ? { url: option('url'), close: () => undefined } : await startFake();
  const rows = [];
  try {
    for (const [key, name, prepare] of [['fashion', 'Fashion-MNIST', prepareFashion], ['coco', 'COCO crops (coco-tiny val2017)', prepareCoco]]) {
      if (!only.includes(key)) continue;
      const dir = path.join(work, key);
      mkdirSync(dir);
      const started = performance.now();
      const { truth, pool } = await prepare(dir);
      process.stderr.write(`${name}: ${truth.size} items of ${new Set(truth.values()).size} classes ready in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
      const results = { head: [], vlm: [] };
      for (let run = 1; run <= runs; run++) {
        const ids = pool(mulberry32(run));
        for (const mode of ['head', 'vlm']) {
          const t = performance.now();
          const result = await simulateSession(dir, truth, ids, mode === 'vlm', fake.url);
          results[mode].push(result);
          process.stderr.write(`  run ${run} ${mode}: ${JSON.stringify(result)} (${((performance.now() - t) / 1000).toFixed(0)} s)\n`);
        }
      }
      rows.push({ name, pool: pool(mulberry32(1)).length, classes: new Set(truth.values()).size, results });
    }
  } finally {
    fake.close();
    rmSync(work, { recursive: true, force: true });
  }
  const m = (list, key) => median(list.map((r) => r[key]));
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  console.log(`ranker ${ranker}, VLM assist ${JSON.stringify(vlmSettings)}, medians of ${runs} runs; ${os.cpus()[0].model}, ${os.cpus().length} cores, node ${process.version}`);
  console.log('| dataset | pool | mode | human-s per correct label | suggestions accepted | VLM suggestions shown | of them right | head right on the same items | VLM asked / stored |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) {
    for (const mode of ['head', 'vlm']) {
      const list = row.results[mode];
      const vlmCells = mode === 'vlm' ? `${m(list, 'vlmShown')} | ${pct(m(list, 'vlmRightRate'))} | ${pct(m(list, 'headRightOnVlmRate'))} | ${m(list, 'vlmAsked')} / ${m(list, 'vlmStored')}` : '– | – | – | –';
      console.log(`| ${row.name} | ${row.pool} | ${mode === 'head' ? 'head alone' : 'head + VLM on hard cases'} | ${m(list, 'secondsPerLabel').toFixed(3)} (${list.map((r) => r.secondsPerLabel.toFixed(3)).join(', ')}) | ${pct(m(list, 'acceptedRate'))} | ${vlmCells} |`);
    }
  }
  console.log(JSON.stringify(rows));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
