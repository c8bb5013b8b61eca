#!/usr/bin/env node
// Ingest throughput and peak memory on generated folders, against a plain loop of
// sharp(file).metadata() plus sha256 measured in the same run.
//
//   npm run build && node bench/ingest.js [--sizes 10000,100000] [--runs 3]
//
// Each measurement runs in its own child process so that its peak RSS (VmHWM) is its own.
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};

if (args[0] === '--child') return child(args[1], args[2]);

const sizes = option('sizes', '10000,100000').split(',').map(Number);
const runs = Number(option('runs', '3'));
const root = option('dir', path.join(os.tmpdir(), 'quicksort-bench-ingest'));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function generate(dir, count) {
  const sharp = require('sharp');
  if (existsSync(dir) && countFiles(dir) === count) return;
  rmSync(dir, { recursive: true, force: true });
  // 1,000 distinct small JPEGs (256×192 noise, ~20 KB), copied into folders of 1,000 files.
  const templates = [];
  for (let i = 0; i < 1000; i++) {
    const pixels = Buffer.alloc(256 * 192 * 3);
    for (let j = 0; j < pixels.length; j++) pixels[j] = (j * 31 + i * 977 + ((j * i) >> 3)) & 255;
    templates.push(await sharp(pixels, { raw: { width: 256, height: 192, channels: 3 } }).jpeg({ quality: 80 }).toBuffer());
  }
  for (let i = 0; i < count; i++) {
    const folder = path.join(dir, `part-${String(Math.floor(i / 1000)).padStart(4, '0')}`);
    if (i % 1000 === 0) mkdirSync(folder, { recursive: true });
    // Vary one byte in the comment-free tail padding so every file hashes differently.
    const data = Buffer.concat([templates[i % 1000], Buffer.from([i & 255, (i >> 8) & 255, (i >> 16) & 255])]);
    writeFileSync(path.join(folder, `img-${i}.jpg`), data);
  }
}

function countFiles(dir) {
  return readdirSync(dir).reduce((n, folder) => n + readdirSync(path.join(dir, folder)).length, 0);
}

function measure(mode, dir) {
  const result = spawnSync(process.execPath, [__filename, '--child', mode, dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${mode} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

async function child(mode, dir) {
  const started = performance.now();
  let files = 0;
  if (mode === 'baseline') {
    const sharp = require('sharp');
    const { createHash } = require('node:crypto');
    const { readFile } = require('node:fs/promises');
    for (const folder of readdirSync(dir).sort()) {
      for (const name of readdirSync(path.join(dir, folder)).sort()) {
        const file = path.join(dir, folder, name);
        const data = await readFile(file);
        createHash('sha256').update(data).digest('hex');
        await sharp(file).metadata();
        files++;
      }
    }
  } else {
    const { LabelStore, ingestFolder } = require('../dist');
    const storeDir = path.join(os.tmpdir(), `quicksort-bench-store-${process.pid}`);
    mkdirSync(storeDir, { recursive: true });
    const store = LabelStore.open(path.join(storeDir, 'store.db'));
    const verify = mode === 'ingest-header' ? 'header' : 'decode';
    const report = await ingestFolder(store, dir, { verify });
    files = report.added;
    if (mode === 'reingest') {
      const again = performance.now();
      const second = await ingestFolder(store, dir, { verify });
      store.close();
      rmSync(storeDir, { recursive: true, force: true });
      return emit(second.unchanged, (performance.now() - again) / 1000);
    }
    store.close();
    rmSync(storeDir, { recursive: true, force: true });
  }
  emit(files, (performance.now() - started) / 1000);
}

function emit(files, seconds) {
  const status = require('node:fs').readFileSync('/proc/self/status', 'utf8');
  const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)[1]);
  process.stdout.write(`${JSON.stringify({ files, seconds, filesPerSecond: files / seconds, peakMb: peakKb / 1024 })}\n`);
}

(async () => {
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  for (const size of sizes) {
    const dir = path.join(root, String(size));
    await generate(dir, size);
    const modes = ['baseline', 'ingest-decode', 'ingest-header', 'reingest'];
    const samples = Object.fromEntries(modes.map((mode) => [mode, []]));
    for (let run = 0; run < runs; run++) for (const mode of modes) samples[mode].push(measure(mode, dir));
    const base = median(samples.baseline.map((s) => s.filesPerSecond));
    console.log(`\n${size} files, median of ${runs} runs`);
    console.log('| mode | files/s | ratio to baseline | peak RSS MB |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const mode of modes) {
      const rate = median(samples[mode].map((s) => s.filesPerSecond));
      const peak = median(samples[mode].map((s) => s.peakMb));
      console.log(`| ${mode} | ${rate.toFixed(0)} | ${(rate / base).toFixed(2)} | ${peak.toFixed(0)} |`);
    }
  }
})();
