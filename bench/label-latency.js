#!/usr/bin/env node
// Label write latency (p50/p99) with durability on (synchronous=FULL, the default) and, in the same run,
// with synchronous=NORMAL, and the bare cost of one INSERT in its own transaction as the baseline.
//
//   npm run build && node bench/label-latency.js [--labels 2000] [--runs 3]
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Database = require('better-sqlite3');
const { LabelStore } = require('../dist/store');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const labels = Number(option('labels', '2000'));
const runs = Number(option('runs', '3'));
const ITEMS = 10000;

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const median = (values) => quantile(values, 0.5);

function storeRun(durability) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-label-'));
  const store = LabelStore.open(path.join(dir, 'store.db'), { durability });
  store.upsertItems(Array.from({ length: ITEMS }, (_, i) => ({
    uri: `i${i}.jpg`, width: 1, height: 1, format: 'jpeg', bytes: 1, mtimeMs: 0, hash: String(i), split: null, sourceUri: null,
    box: null, cocoImageId: null, cocoAnnotationId: null,
  })));
  const times = [];
  for (let i = 0; i < labels; i++) {
    const started = process.hrtime.bigint();
    store.act((i * 7919) % ITEMS + 1, { kind: 'label', label: `class-${i % 10}` });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return times;
}

function bareInsertRun() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-label-'));
  const db = new Database(path.join(dir, 'bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, item INTEGER, label TEXT)');
  const insert = db.prepare('INSERT INTO t (item, label) VALUES (?, ?)');
  const times = [];
  for (let i = 0; i < labels; i++) {
    const started = process.hrtime.bigint();
    insert.run(i, `class-${i % 10}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return times;
}

console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, node ${process.version}; ${labels} labels on ${ITEMS} items, median of ${runs} runs`);
const rows = { 'label, durability full': [], 'label, durability normal': [], 'bare INSERT, synchronous=FULL (baseline)': [] };
for (let run = 0; run < runs; run++) {
  rows['label, durability full'].push(storeRun('full'));
  rows['label, durability normal'].push(storeRun('normal'));
  rows['bare INSERT, synchronous=FULL (baseline)'].push(bareInsertRun());
}
console.log('| write | p50 ms | p99 ms |');
console.log('| --- | ---: | ---: |');
for (const [name, samples] of Object.entries(rows)) {
  const p50 = median(samples.map((t) => quantile(t, 0.5)));
  const p99 = median(samples.map((t) => quantile(t, 0.99)));
  console.log(`| ${name} | ${p50.toFixed(3)} | ${p99.toFixed(3)} |`);
}
