#!/usr/bin/env node
// Latency of natural-language search at scale (issue 15): a query encoded by the text model and the k best of
// N items in its joint space, against the exact JavaScript scan of every row (what search did first), in the
// same run; and the open's projection of the items, made once vs read back from its cache file.
//
//   npm run build && node bench/text-search.js [--items 100000] [--image-dim 1280] [--queries 200] [--k 20] [--runs 3]
//
// Synthetic unit image embeddings; an untrained text model of the default shape (the latency does not depend on
// what it learned); a real store of N items with every other one labeled, for the filtered search ("unlabeled":
// the filter's store query is part of the time, as in TextSearch). Queries are COCO captions of coco-mini-train.
const os = require('node:os');
const path = require('node:path');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const items = Number(option('items', '100000'));
const imageDim = Number(option('image-dim', '1280'));
const queries = Number(option('queries', '200'));
const k = Number(option('k', '20'));
const runs = Number(option('runs', '3'));
const dist = (name) => require(path.join(__dirname, '..', 'dist', name));
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

async function main() {
  const { createTextModel, JointIndex } = dist('text');
  const { exactTopK } = dist('vectors');
  const { Dataset } = dist('dataset');
  const captions = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'shared', 'data', 'coco-mini-train', 'annotations', 'captions_train2017.json'), 'utf8')).annotations.map((a) => a.caption);
  const texts = Array.from({ length: queries }, (_, i) => captions[i % captions.length]);

  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
  const embeddings = Float32Array.from({ length: items * imageDim }, random);
  const model = createTextModel(imageDim);
  const ids = Array.from({ length: items }, (_, i) => i + 1);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-text-search-'));
  const ds = await Dataset.open(dir, { durability: 'normal' });
  try {
    ds.store.upsertItems(ids.map((i) => ({ uri: `i${i}.jpg`, width: 1, height: 1, format: 'jpeg', bytes: 1, mtimeMs: 0, hash: String(i), split: null, sourceUri: null, box: null, cocoImageId: null, cocoAnnotationId: null })));
    ds.labelMany(ids.filter((id) => id % 2 === 0).map((id) => ({ id, label: 'seen' })));

    const file = path.join(dir, 'joint.bin');
    const key = { modelMtimeMs: 1, modelBytes: 1, imageModel: 'bench@1' };
    const project = [];
    const cached = [];
    let index;
    for (let run = 0; run < runs; run++) {
      let t = process.hrtime.bigint();
      index = new JointIndex(ids, model.jointDim, model.projectImages(embeddings));
      project.push(ms(t));
      index.write(file, key);
      t = process.hrtime.bigint();
      index = JointIndex.read(file, key, ids);
      cached.push(ms(t));
    }

    const encode = texts.map((text) => model.encodeText([text]));
    const times = { js: [], simd: [], filtered: [] };
    for (let run = 0; run < runs; run++) {
      for (const query of encode) {
        let t = process.hrtime.bigint();
        exactTopK(index.vectors, index.dim, query, k, { rowCount: items });
        times.js.push(ms(t));
        t = process.hrtime.bigint();
        index.search(query, k);
        times.simd.push(ms(t));
      }
      for (const query of encode.slice(0, 50)) {
        const t = process.hrtime.bigint();
        const rows = [];
        for (const id of ds.store.itemIds({ labeled: false })) rows.push(index.rows.get(id));
        index.search(query, k, Int32Array.from(rows));
        times.filtered.push(ms(t));
      }
    }
    const encodeTimes = texts.map((text) => {
      const t = process.hrtime.bigint();
      model.encodeText([text]);
      return ms(t);
    });

    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, node ${process.version}; load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; ${items} items, ${imageDim}-d image embeddings → ${model.jointDim}-d joint space, k ${k}, ${queries} queries × ${runs} runs\n`);
    console.log('| what | p50 ms | p99 ms |');
    console.log('| --- | ---: | ---: |');
    const row = (name, values) => console.log(`| ${name} | ${quantile(values, 0.5).toFixed(2)} | ${quantile(values, 0.99).toFixed(2)} |`);
    row('encode the query (text model)', encodeTimes);
    row('baseline: exact JavaScript scan of every row', times.js);
    row('search, every row (usearch SIMD exact scan)', times.simd);
    row(`search, unlabeled only (store query of ${items / 2} rows + JavaScript scan of them)`, times.filtered);
    console.log(`\nopen: project every item ${quantile(project, 0.5).toFixed(0)} ms (${project.map((v) => v.toFixed(0)).join(', ')}), read the cached projection ${quantile(cached, 0.5).toFixed(0)} ms (${cached.map((v) => v.toFixed(0)).join(', ')})`);
    console.log(`load after the runs ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  } finally {
    ds.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
