#!/usr/bin/env node
// Export throughput (rows/s, MB/s) and peak memory for each format, against writing the same prepared
// apache-arrow Table directly with apache-arrow (IPC) or parquet-wasm (Parquet) in the same run; for
// WebDataset, against a plain tar-stream loop over the same files.
//
//   npm run build && node bench/export.js [--rows 200000] [--dim 512] [--runs 3]
//       [--formats arrow,arrow-stream,parquet,webdataset] [--wds-rows 20000] [--store-fix]
//       [--modes export,direct] [--dist DIR] [--baseline DIR]
//
// `export`: ds.export({ format, embeddings }) end to end — store read, record batches, encoding, file.
// `direct`: the Table from ds.toArrow (built before the clock starts) written in one call:
//   tableToIPC(table, 'file'|'stream') + writeFile, or parquet-wasm writeParquet with the same writer
//   properties the exporter uses (compression, row groups, dictionary columns) + writeFile.
// `read`: iterating the store alone (store.iterateItems), the part of `export` that is not ours.
// `read columns`: the column exports' read path alone — store.iterateItemRows into column buffers, on one
//   thread (what the export's reader thread does while the main thread writes).
// --baseline DIR: also run `export` with another build (a copy of dist/ from an earlier commit, kept inside
//   the repo, e.g. bench/out/dist-before, so that its requires find node_modules), interleaved with the
//   others, so before and after are measured in the same conditions.
// --store-fix: also measure with the store's row mapping done by Object.assign instead of object spread
// (patched in the child process only; see bench/results/export.md).
//
// Each measurement runs in its own child process, so its peak RSS (VmHWM) is its own; runs are
// interleaved (export, direct, export, direct…) so that a busy machine slows both alike.
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
// --dist DIR: measure another build (e.g. a copy of dist/ from an earlier commit, kept inside the repo so that
// its requires find node_modules); passed to the child processes through the environment.
if (option('dist')) process.env.QUICKSORT_BENCH_DIST = path.resolve(option('dist'));
let DIST = process.env.QUICKSORT_BENCH_DIST ?? path.join(__dirname, '..', 'dist');

/** Wall-clock and CPU time (all threads of the process: reader and encoder threads count) of the measured part. */
// `var`: the child runs from the top of this file, before later `let`s are initialised.
var cpuStart;
var cpuSeconds = NaN;
function startClock() {
  cpuStart = process.cpuUsage();
  return performance.now();
}
function stopClock(started) {
  const cpu = process.cpuUsage(cpuStart);
  cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return (performance.now() - started) / 1000;
}

if (args[0] === '--child') {
  child(JSON.parse(args[1])).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exit(1);
    },
  );
  return;
}

const rows = Number(option('rows', '200000'));
const dim = Number(option('dim', '512'));
const runs = Number(option('runs', '3'));
const wdsRows = Number(option('wds-rows', '20000'));
const formats = option('formats', 'arrow,arrow-stream,parquet,webdataset').split(',');
const storeFix = args.includes('--store-fix');
// `--modes export` skips the direct writes, e.g. at 1M rows, where parquet-wasm cannot hold the whole table.
const modes = option('modes', 'export,direct').split(',');
const baseline = option('baseline') ? path.resolve(option('baseline')) : null;
if (baseline) modes.splice(modes.indexOf('export') + 1, 0, 'baseline');
const root = option('dir', path.join(os.tmpdir(), 'quicksort-bench-export'));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A store of `count` items (no image files), half labeled (by people and a model), some captioned and tagged. */
function generateTableDataset(dir, count) {
  const { LabelStore } = require(path.join(DIST, 'store'));
  const file = path.join(dir, '.quicksort', 'quicksort.db');
  if (existsSync(file)) {
    const store = LabelStore.open(file, { readonly: true });
    const n = store.count();
    store.close();
    if (n === count) return;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(file), { recursive: true });
  const started = performance.now();
  const store = LabelStore.open(file, { durability: 'normal' });
  const classes = ['cat', 'dog', 'bird', 'horse', 'ship', 'truck', 'plane', 'frog'];
  for (let start = 0; start < count; start += 10000) {
    const records = [];
    for (let i = start; i < Math.min(count, start + 10000); i++) {
      records.push({
        uri: `images/${String(i >> 10).padStart(4, '0')}/${String(i).padStart(8, '0')}.jpg`,
        width: 640, height: 480, format: 'jpeg', bytes: 50000, mtimeMs: 1,
        hash: (i * 2654435761 >>> 0).toString(16).padStart(64, '0'),
        split: i % 10 === 0 ? 'val' : 'train', sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null,
      });
    }
    store.upsertItems(records);
  }
  for (let start = 1; start <= count; start += 10000) {
    const human = [];
    const model = [];
    const other = [];
    for (let id = start; id < Math.min(count + 1, start + 10000); id++) {
      if (id % 2 === 0) human.push({ itemId: id, action: { kind: 'label', label: classes[id % classes.length] } });
      else if (id % 5 === 1) model.push({ itemId: id, action: { kind: 'label', label: classes[(id * 7) % classes.length] } });
      if (id % 10 === 3) other.push({ itemId: id, action: { kind: 'caption', caption: `a photo of item ${id}, with a caption of some length` } });
      if (id % 10 === 7) other.push({ itemId: id, action: { kind: 'tags', tags: ['outdoor', id % 3 ? 'blurry' : 'sharp'] } });
    }
    store.actMany(human);
    store.actMany(model, { source: 'model', confidence: 0.75 });
    store.actMany(other);
  }
  store.close();
  console.error(`generated ${count} items in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** `count` items with real small JPEG files (200 distinct 96×96 noise images, ~8 KB, copied). */
async function generateImageDataset(dir, count) {
  const { LabelStore } = require(path.join(DIST, 'store'));
  const file = path.join(dir, '.quicksort', 'quicksort.db');
  if (existsSync(file)) {
    const store = LabelStore.open(file, { readonly: true });
    const n = store.count();
    store.close();
    if (n === count) return;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(file), { recursive: true });
  const sharp = require('sharp');
  const templates = [];
  for (let t = 0; t < 200; t++) {
    const pixels = Buffer.alloc(96 * 96 * 3);
    for (let j = 0; j < pixels.length; j++) pixels[j] = (j * 31 + t * 977 + ((j * t) >> 3)) & 255;
    templates.push(await sharp(pixels, { raw: { width: 96, height: 96, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
  }
  const store = LabelStore.open(file, { durability: 'normal' });
  const { createHash } = require('node:crypto');
  const hashes = templates.map((data) => createHash('sha256').update(data).digest('hex'));
  for (let start = 0; start < count; start += 5000) {
    const records = [];
    for (let i = start; i < Math.min(count, start + 5000); i++) {
      const uri = `images/${String(i >> 10).padStart(4, '0')}/${String(i).padStart(8, '0')}.jpg`;
      mkdirSync(path.join(dir, path.dirname(uri)), { recursive: true });
      writeFileSync(path.join(dir, uri), templates[i % 200]);
      records.push({ uri, width: 96, height: 96, format: 'jpeg', bytes: templates[i % 200].length, mtimeMs: 1, hash: hashes[i % 200], split: null, sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null });
    }
    store.upsertItems(records);
  }
  const labels = [];
  for (let id = 2; id <= count; id += 2) labels.push({ itemId: id, action: { kind: 'label', label: id % 4 ? 'cat' : 'dog' } });
  store.actMany(labels);
  store.close();
}

/** Deterministic embeddings for ids 1..count (uniform in ±0.5, like a normalised embedding's spread). */
function embeddings(count, dim) {
  const vectors = new Float32Array(count * dim);
  let state = 12345;
  for (let i = 0; i < vectors.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    vectors[i] = state / 4294967296 - 0.5;
  }
  return { ids: Array.from({ length: count }, (_, i) => i + 1), dim, vectors };
}

function peakRssMB() {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

function patchStoreMapping() {
  const { LabelStore } = require(path.join(DIST, 'store'));
  const original = LabelStore.prototype.iterateItems;
  const toItem = (row) => ({
    id: row.id, uri: row.uri, width: row.width, height: row.height, format: row.format, bytes: row.bytes, hash: row.hash, split: row.split,
    sourceUri: row.source_uri, box: row.box_x !== null && row.box_y !== null && row.box_w !== null && row.box_h !== null ? [row.box_x, row.box_y, row.box_w, row.box_h] : null,
    cocoImageId: row.coco_image_id, cocoAnnotationId: row.coco_annotation_id, missing: row.missing === 1,
  });
  const toState = (row) => ({
    label: row.label, labelSource: row.label_source, confidence: row.confidence, labeledBy: row.labeled_by, skipped: row.skipped === 1,
    dontKnow: row.dont_know === 1, caption: row.caption, tags: JSON.parse(row.tags), deleted: row.deleted === 1, version: row.version,
  });
  // Only the unfiltered query the benchmark runs; anything else goes to the store's own code.
  LabelStore.prototype.iterateItems = function* (where = {}) {
    if (Object.keys(where).length > 0) return yield* original.call(this, where);
    const sql = 'SELECT i.*, s.* FROM items i JOIN item_state s ON s.item_id = i.id WHERE s.deleted = 0 ORDER BY i.id';
    for (const row of this.db.prepare(sql).iterate()) yield Object.assign(toItem(row), toState(row));
  };
}

async function child({ mode, format, dataset, out, rows: count, dim: d, storeFix: fix, dist }) {
  if (dist) DIST = dist;
  if (fix) patchStoreMapping();
  const { Dataset } = require(path.join(DIST, 'dataset'));
  const exportModule = require(path.join(DIST, 'export'));
  const ds = await Dataset.open(dataset, { readonly: true });
  const matrix = format === 'webdataset' ? undefined : embeddings(count, d);
  rmSync(out, { recursive: true, force: true });
  let seconds;
  let bytes;
  let written = count;
  if (mode === 'read') {
    const started = startClock();
    let n = 0;
    for (const item of ds.store.iterateItems({})) n += item.id > 0 ? 1 : 0;
    seconds = stopClock(started);
    bytes = 0;
    written = n;
  } else if (mode === 'read-columns') {
    const { ItemColumnsBuilder } = require(path.join(DIST, 'export', 'item-columns'));
    const started = startClock();
    let n = 0;
    let builder = new ItemColumnsBuilder(65536);
    for (const row of ds.store.iterateItemRows({})) {
      builder.addRow(row);
      if (builder.length === 65536) {
        n += builder.finish().length;
        builder = new ItemColumnsBuilder(65536);
      }
    }
    n += builder.finish().length;
    seconds = stopClock(started);
    bytes = 0;
    written = n;
  } else if (mode === 'export' || mode === 'baseline') {
    const started = startClock();
    const report = await ds.export({ format, out, embeddings: matrix, force: true });
    seconds = stopClock(started);
    bytes = report.bytes;
    written = report.rows;
  } else if (format === 'webdataset') {
    // A plain tar-stream loop over the same files: image + a small JSON per sample, one shard.
    const items = ds.items();
    const { pack: tarPack } = require('tar-stream');
    const { createWriteStream } = require('node:fs');
    const { readFile } = require('node:fs/promises');
    const { pipeline } = require('node:stream/promises');
    mkdirSync(out, { recursive: true });
    const started = startClock();
    const pack = tarPack();
    const done = pipeline(pack, createWriteStream(path.join(out, 'direct-000000.tar')));
    for (const item of items) {
      const key = String(item.id).padStart(9, '0');
      const image = await readFile(ds.pathOf(item));
      await new Promise((resolve, reject) => pack.entry({ name: `${key}.jpg`, size: image.length }, image, (e) => (e ? reject(e) : resolve())));
      const json = Buffer.from(JSON.stringify({ id: item.id, uri: item.uri, label: item.label }));
      await new Promise((resolve, reject) => pack.entry({ name: `${key}.json`, size: json.length }, json, (e) => (e ? reject(e) : resolve())));
    }
    pack.finalize();
    await done;
    seconds = stopClock(started);
    bytes = statSync(path.join(out, 'direct-000000.tar')).size;
  } else {
    const arrow = require('apache-arrow');
    const table = await ds.toArrow({ embeddings: matrix });
    const started = startClock();
    if (format === 'parquet') {
      const pw = require('parquet-wasm/node');
      let builder = new pw.WriterPropertiesBuilder()
        .setCompression(pw.Compression.SNAPPY)
        .setMaxRowGroupSize(exportModule.defaultRowGroupRows(d))
        .setDictionaryEnabled(false);
      for (const column of exportModule.PARQUET_DICTIONARY_COLUMNS) builder = builder.setColumnDictionaryEnabled(column, true);
      const data = pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), builder.build());
      writeFileSync(out, data);
      bytes = data.byteLength;
    } else {
      const data = arrow.tableToIPC(table, format === 'arrow' ? 'file' : 'stream');
      writeFileSync(out, data);
      bytes = data.byteLength;
    }
    seconds = stopClock(started);
  }
  ds.close();
  rmSync(out, { recursive: true, force: true });
  return { seconds, cpuSeconds, bytes, rows: written, peakRssMB: peakRssMB() };
}

function measure(spec) {
  const result = spawnSync(process.execPath, ['--max-old-space-size=16384', __filename, '--child', JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`child ${JSON.stringify(spec)} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

async function main() {
  const loadBefore = os.loadavg();
  const tableDir = path.join(root, `table-${rows}`);
  const imageDir = path.join(root, `images-${wdsRows}`);
  generateTableDataset(tableDir, rows);
  if (formats.includes('webdataset')) await generateImageDataset(imageDir, wdsRows);
  const variants = storeFix ? [false, true] : [false];
  const results = [];
  for (const fix of variants) {
    const samples = {};
    for (let run = 0; run < runs; run++) {
      for (const format of formats) {
        const webdataset = format === 'webdataset';
        const base = { format, dataset: webdataset ? imageDir : tableDir, rows: webdataset ? wdsRows : rows, dim, storeFix: fix };
        const out = path.join(root, `out-${format}${webdataset ? '' : `.${format}`}`);
        for (const mode of modes) {
          const result = measure({ ...base, mode, out, dist: mode === 'baseline' ? baseline : undefined });
          (samples[`${format}/${mode}`] ??= []).push(result);
          console.error(`run ${run + 1} ${fix ? 'store-fix ' : ''}${format} ${mode}: ${result.seconds.toFixed(2)} s (CPU ${result.cpuSeconds.toFixed(2)} s), ${(result.bytes / 1e6).toFixed(1)} MB, peak ${result.peakRssMB.toFixed(0)} MB`);
        }
      }
      const read = measure({ mode: 'read', format: 'arrow', dataset: tableDir, out: path.join(root, 'none'), rows, dim: 1, storeFix: fix });
      (samples.read ??= []).push(read);
      console.error(`run ${run + 1} ${fix ? 'store-fix ' : ''}store read: ${read.seconds.toFixed(2)} s`);
      if (existsSync(path.join(DIST, 'export', 'item-columns.js'))) {
        const columns = measure({ mode: 'read-columns', format: 'arrow', dataset: tableDir, out: path.join(root, 'none'), rows, dim: 1, storeFix: fix });
        (samples.readColumns ??= []).push(columns);
        console.error(`run ${run + 1} store read into columns: ${columns.seconds.toFixed(2)} s`);
      }
    }
    results.push({ fix, samples });
  }

  console.log(`\nrows ${rows} (webdataset: ${wdsRows} items with 96×96 JPEG files), dim ${dim}, median of ${runs} runs, node ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model}, load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} at the start, ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end${baseline ? `; baseline build ${path.relative(process.cwd(), baseline)}` : ''}\n`);
  for (const { fix, samples } of results) {
    const columnsRead = samples.readColumns ? `; into column buffers (the reader thread's work) ${median(samples.readColumns.map((s) => s.seconds)).toFixed(2)} s` : '';
    console.log(`${fix ? 'with the store mapping fix (Object.assign)' : 'store as committed'}: store read alone (iterateItems) ${median(samples.read.map((s) => s.seconds)).toFixed(2)} s for ${rows} rows${columnsRead}\n`);
    console.log('| format | rows | export s | export rows/s | export MB/s | direct s | direct MB/s | ratio (direct s / export s) | output MB | peak RSS export / direct MB |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const format of formats) {
      const exp = samples[`${format}/export`];
      const dir = samples[`${format}/direct`] ?? [{ seconds: NaN, bytes: NaN, peakRssMB: NaN }];
      const es = median(exp.map((s) => s.seconds));
      const ds = median(dir.map((s) => s.seconds));
      const n = exp[0].rows;
      const mb = exp[0].bytes / 1e6;
      console.log(
        `| ${format} | ${n} | ${es.toFixed(2)} | ${Math.round(n / es)} | ${(mb / es).toFixed(0)} | ${ds.toFixed(2)} | ${(dir[0].bytes / 1e6 / ds).toFixed(0)} | ${(ds / es).toFixed(2)} | ${mb.toFixed(1)} | ${median(exp.map((s) => s.peakRssMB)).toFixed(0)} / ${median(dir.map((s) => s.peakRssMB)).toFixed(0)} |`,
      );
    }
    console.log('');
    // Each export beside the direct write of the same run (adjacent in time, so a busy machine slows both).
    const paired = (mode, format) => {
      const exp = samples[`${format}/${mode}`];
      const dir = samples[`${format}/direct`];
      if (!exp || !dir) return NaN;
      return median(exp.map((s, i) => dir[i].seconds / s.seconds));
    };
    // CPU seconds (all threads) say how much work each path does, whatever the load; wall seconds, how well it overlaps.
    const cpu = (mode, format) => median((samples[`${format}/${mode}`] ?? [{ cpuSeconds: NaN }]).map((s) => s.cpuSeconds)).toFixed(2);
    console.log(`| format | ratio, paired by run (median) | CPU s export / direct |${baseline ? ' baseline export s | baseline ratio (medians) | baseline ratio, paired | baseline CPU s |' : ''}`);
    console.log(`| --- | ---: | ---: |${baseline ? ' ---: | ---: | ---: | ---: |' : ''}`);
    for (const format of formats) {
      let line = `| ${format} | ${paired('export', format).toFixed(2)} | ${cpu('export', format)} / ${cpu('direct', format)} |`;
      if (baseline) {
        const bs = median(samples[`${format}/baseline`].map((s) => s.seconds));
        const ds = median((samples[`${format}/direct`] ?? [{ seconds: NaN }]).map((s) => s.seconds));
        line += ` ${bs.toFixed(2)} | ${(ds / bs).toFixed(2)} | ${paired('baseline', format).toFixed(2)} | ${cpu('baseline', format)} |`;
      }
      console.log(line);
    }
    console.log('');
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
