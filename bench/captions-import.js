#!/usr/bin/env node
// Captions import (issue 15): `importCaptions` of a synthetic COCO captions file (--images × --per captions:
// read, parse, match by file name, write as add_caption events in chunks of one batch), against, in the same
// run on a store of the same items, the same number of plain label events written through actMany in chunks
// of the same size (the store's bare cost of that many events). Runs alternate; medians of --runs. A second
// import of the same file (idempotent: adds nothing) is timed too.
//
//   node node_modules/typescript/bin/tsc -p tsconfig.build.json && node bench/captions-import.js [--images 100000] [--per 5] [--runs 3]
const { mkdtempSync, rmSync, writeFileSync, statSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { LabelStore } = require('../dist/store');
const { importCaptions } = require('../dist/captions');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const images = Number(option('images', '100000'));
const per = Number(option('per', '5'));
const runs = Number(option('runs', '3'));
const CHUNK = 5000;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fileName = (i) => `${String(i + 1).padStart(12, '0')}.jpg`;
const WORDS = {
  adjective: ['red', 'small', 'shiny', 'matte', 'old', 'wooden', 'blurry', 'bright', 'crowded', 'empty'],
  noun: ['car', 'dog', 'cat', 'train', 'table', 'street', 'kitchen', 'beach', 'bicycle', 'man'],
  place: ['a tree', 'the station', 'a window', 'the sofa', 'a building', 'the sea', 'a fence', 'the road'],
};
const pick = (list, n) => list[n % list.length];

function writeCocoFile(dir) {
  const file = path.join(dir, 'captions_synthetic.json');
  const imagesJson = Array.from({ length: images }, (_, i) => ({ id: i + 1, file_name: fileName(i), width: 640, height: 480 }));
  const annotations = [];
  for (let i = 0; i < images; i++) {
    for (let k = 0; k < per; k++) {
      const n = i * per + k;
      annotations.push({ id: n + 1, image_id: i + 1, caption: `A ${pick(WORDS.adjective, n)} ${pick(WORDS.noun, n * 7 + i)} next to ${pick(WORDS.place, n * 3 + k)}, seen ${k + 1} of ${i + 1}.` });
    }
  }
  writeFileSync(file, JSON.stringify({ info: {}, licenses: [], images: imagesJson, annotations }));
  return file;
}

function freshStore(dir, name) {
  const root = path.join(dir, name);
  const store = LabelStore.open(path.join(dir, `${name}.db`));
  const records = Array.from({ length: images }, (_, i) => ({
    uri: `train/${fileName(i)}`, width: 640, height: 480, format: 'jpeg', bytes: 1, mtimeMs: 0, hash: String(i), split: null,
    sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null,
  }));
  for (let at = 0; at < records.length; at += 10000) store.upsertItems(records.slice(at, at + 10000));
  return { root, store };
}

async function importRun(dir, file, index) {
  const target = freshStore(dir, `import-${index}`);
  const started = performance.now();
  const report = await importCaptions(target, { file, chunkRows: CHUNK });
  const seconds = (performance.now() - started) / 1000;
  if (report.added !== images * per || report.itemsMatched !== images) throw new Error(`import kept ${report.added} captions on ${report.itemsMatched} items`);
  const againStarted = performance.now();
  const again = await importCaptions(target, { file, chunkRows: CHUNK });
  const againSeconds = (performance.now() - againStarted) / 1000;
  if (again.added !== 0) throw new Error(`the second import added ${again.added}`);
  target.store.close();
  return { seconds, againSeconds };
}

function baselineRun(dir, index) {
  const { store } = freshStore(dir, `labels-${index}`);
  const entries = [];
  for (let i = 0; i < images; i++) for (let k = 0; k < per; k++) entries.push({ itemId: i + 1, action: { kind: 'label', label: `class-${(i + k) % 10}` } });
  const started = performance.now();
  for (let at = 0; at < entries.length; at += CHUNK) store.actMany(entries.slice(at, at + CHUNK));
  const seconds = (performance.now() - started) / 1000;
  store.close();
  return seconds;
}

(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-captions-'));
  try {
    const file = writeCocoFile(dir);
    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`${images} images × ${per} captions = ${images * per} captions; COCO file ${(statSync(file).size / 1e6).toFixed(1)} MB; chunks of ${CHUNK}; ${runs} runs`);
    const imports = [];
    const agains = [];
    const baselines = [];
    for (let run = 0; run < runs; run++) {
      // Alternate which goes first, so a change in the machine's load falls on both.
      const order = run % 2 === 0 ? ['import', 'baseline'] : ['baseline', 'import'];
      for (const what of order) {
        if (what === 'import') {
          const { seconds, againSeconds } = await importRun(dir, file, run);
          imports.push(seconds);
          agains.push(againSeconds);
        } else {
          baselines.push(baselineRun(dir, run));
        }
      }
      console.log(`run ${run + 1}: import ${imports.at(-1).toFixed(2)} s, again ${agains.at(-1).toFixed(2)} s, ${images * per} label events ${baselines.at(-1).toFixed(2)} s`);
    }
    const events = images * per;
    const row = (name, seconds) => `| ${name} | ${seconds.toFixed(2)} | ${Math.round(events / seconds).toLocaleString('en')} | ${(seconds / median(baselines)).toFixed(2)} |`;
    console.log('\n| what | median s | captions (events) / s | × baseline |\n| --- | ---: | ---: | ---: |');
    console.log(row('import (read, parse, match, write)', median(imports)));
    console.log(row('import again (adds nothing)', median(agains)));
    console.log(row('baseline: as many label events through actMany', median(baselines)));
    console.log(`load after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
