#!/usr/bin/env node
// Parse time and peak memory of a ~455 MB COCO instances file (90k images, 755k annotations, generated from
// the real val2014 ground truth by bench/coco-generate.js): QuickSort's streaming reader against
// JSON.parse and Python's json.load, measured in the same run, each in its own process.
//
//   npm run build && node bench/coco-parse.js [--runs 3] [--file /tmp/coco-455mb.json]
//
// Every mode ends with the same facts in hand: each annotation's box (summed, so nothing is optimised
// away) and each image's entry. `quicksort` reads annotations' scalar fields from bytes and keeps the rest
// as raw bytes; `quicksort-full` also JSON.parses every annotation (segmentation included), as a caller
// that wants whole objects would; `json-parse` and `python-json` build the whole document.
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};

if (args[0] === '--child') return child(args[1], args[2]);

const runs = Number(option('runs', '3'));
const file = option('file', path.join(os.tmpdir(), 'quicksort-coco-455mb.json'));
const modes = ['quicksort', 'quicksort-full', 'json-parse', 'python-json'];

const PYTHON = `
import json, resource, sys, time
started = time.perf_counter()
with open(sys.argv[1], 'rb') as f:
    data = json.load(f)
area = 0.0
for a in data['annotations']:
    area += a['bbox'][2] * a['bbox'][3]
images = sum(1 for i in data['images'] if i['file_name'])
seconds = time.perf_counter() - started
print(json.dumps({'annotations': len(data['annotations']), 'images': images, 'area': area, 'seconds': seconds,
                  'cpuSeconds': time.process_time(), 'peakMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(mode) {
  const command = mode === 'python-json' ? ['/usr/bin/python3', ['-c', PYTHON, file]] : [process.execPath, ['--max-old-space-size=16384', __filename, '--child', mode, file]];
  const result = spawnSync(command[0], command[1], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`${mode} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

async function child(mode, input) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let annotations = 0;
  let images = 0;
  let area = 0;
  if (mode === 'json-parse') {
    const data = JSON.parse(readFileSync(input, 'utf8'));
    for (const a of data.annotations) area += a.bbox[2] * a.bbox[3];
    annotations = data.annotations.length;
    images = data.images.filter((i) => i.file_name).length;
  } else {
    const { readCocoFile } = require('../dist/coco');
    const full = mode === 'quicksort-full';
    for await (const batch of readCocoFile(input).batches()) {
      for (const record of batch) {
        if (record.section === 'annotations') {
          annotations++;
          const bbox = full ? record.json.bbox : record.fields.bbox;
          area += bbox[2] * bbox[3];
        } else if (record.section === 'images') {
          if (record.json.file_name) images++;
        }
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
  process.stdout.write(`${JSON.stringify({ annotations, images, area, seconds, cpuSeconds: (used.user + used.system) / 1e6, peakMb: peakKb / 1024 })}\n`);
}

(async () => {
  if (!existsSync(file)) {
    const { generate } = require('./coco-generate');
    console.error(`generating ${file}…`);
    await generate(file, 900);
  }
  const bytes = require('node:fs').statSync(file).size;
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`file: ${file}, ${(bytes / 1e6).toFixed(0)} MB`);
  const samples = Object.fromEntries(modes.map((mode) => [mode, []]));
  // Interleaved, so that a busy moment on a shared machine hits every mode alike.
  for (let run = 0; run < runs; run++) {
    for (const mode of modes) {
      const sample = measure(mode);
      samples[mode].push(sample);
      console.error(`run ${run + 1} ${mode}: ${sample.seconds.toFixed(2)} s, cpu ${sample.cpuSeconds.toFixed(2)} s, ${sample.peakMb.toFixed(0)} MB`);
    }
  }
  const counts = new Set(modes.map((mode) => `${samples[mode][0].annotations}/${samples[mode][0].images}/${samples[mode][0].area.toFixed(0)}`));
  if (counts.size !== 1) throw new Error(`modes disagree on what they read: ${[...counts].join(' vs ')}`);
  const base = median(samples['json-parse'].map((s) => s.seconds));
  const baseMemory = median(samples['json-parse'].map((s) => s.peakMb));
  console.log(`\n${samples.quicksort[0].annotations} annotations, ${samples.quicksort[0].images} images; median of ${runs} runs`);
  console.log('| reader | wall s | CPU s | time vs JSON.parse | peak RSS MB | memory vs JSON.parse | MB/s |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const mode of modes) {
    const seconds = median(samples[mode].map((s) => s.seconds));
    const cpuSeconds = median(samples[mode].map((s) => s.cpuSeconds));
    const peak = median(samples[mode].map((s) => s.peakMb));
    console.log(`| ${mode} | ${seconds.toFixed(2)} | ${cpuSeconds.toFixed(2)} | ${(seconds / base).toFixed(2)}× | ${peak.toFixed(0)} | ${(peak / baseMemory).toFixed(2)}× | ${(bytes / 1e6 / seconds).toFixed(0)} |`);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
