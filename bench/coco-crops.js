#!/usr/bin/env node
// Crops per second on coco-tiny (160 real COCO 2017 images, val + train ground truth): `importCoco` against
// a plain Python PIL loop cutting the same boxes, measured in the same run, each in its own process.
//
//   npm run build && node bench/coco-crops.js [--runs 3] [--data ../shared/data/coco-tiny]
//
// Both sides do the whole job from the JSON file to crops on disk: parse the annotations, decode each image
// once and turn it upright (EXIF), cut every box (rounded outwards, clamped to the image), encode JPEG at
// quality 90 and write it. QuickSort also hashes each crop and records it, with its suggested class, in the
// SQLite store. PIL runs on one core; `importCoco` runs one worker per core, and once more on one thread.
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};

const SPLITS = ['val2017', 'train2017'];
if (args[0] === '--child') return child(args[1], args[2]);

const runs = Number(option('runs', '3'));
const data = path.resolve(option('data', path.join(__dirname, '..', '..', 'shared', 'data', 'coco-tiny')));
const modes = ['quicksort', 'quicksort-1-thread', 'python-pil'];

const PYTHON = `
import json, math, os, sys, time
from PIL import Image, ImageOps
data, out = sys.argv[1], sys.argv[2]
started = time.perf_counter()
crops = 0
for split in ${JSON.stringify(SPLITS)}:
    with open(os.path.join(data, 'annotations', 'instances_%s.json' % split)) as f:
        coco = json.load(f)
    images = {image['id']: image for image in coco['images']}
    boxes = {}
    for a in coco['annotations']:
        x, y, w, h = a['bbox']
        if w > 0 and h > 0 and a['image_id'] in images:
            boxes.setdefault(a['image_id'], []).append(a)
    for image_id, annotations in boxes.items():
        name = images[image_id]['file_name']
        image = ImageOps.exif_transpose(Image.open(os.path.join(data, split, name)))
        if image.mode not in ('RGB', 'L'):
            image = image.convert('RGB')
        width, height = image.size
        folder = os.path.join(out, split, os.path.splitext(name)[0])
        os.makedirs(folder, exist_ok=True)
        for a in annotations:
            x, y, w, h = a['bbox']
            if x >= width or y >= height or x + w <= 0 or y + h <= 0:
                continue
            box = (max(0, math.floor(x)), max(0, math.floor(y)), min(width, math.ceil(x + w)), min(height, math.ceil(y + h)))
            image.crop(box).save(os.path.join(folder, '%d.jpg' % a['id']), quality=90)
            crops += 1
print(json.dumps({'crops': crops, 'seconds': time.perf_counter() - started, 'cpuSeconds': time.process_time()}))
`;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(mode) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-crops-'));
  try {
    const command = mode === 'python-pil' ? ['/usr/bin/python3', ['-c', PYTHON, data, out]] : [process.execPath, [__filename, '--child', mode, out]];
    const result = spawnSync(command[0], command[1], { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, BENCH_DATA: data } });
    if (result.status !== 0) throw new Error(`${mode} failed: ${result.stderr}`);
    return JSON.parse(result.stdout.trim().split('\n').pop());
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function child(mode, out) {
  const { LabelStore } = require('../dist/store');
  const { importCoco } = require('../dist/coco');
  const input = process.env.BENCH_DATA;
  const started = performance.now();
  const cpu = process.cpuUsage();
  let crops = 0;
  for (const split of SPLITS) {
    const root = path.join(out, split);
    require('node:fs').mkdirSync(path.join(root, '.quicksort'), { recursive: true });
    const store = LabelStore.open(path.join(root, '.quicksort', 'quicksort.db'));
    const report = await importCoco(store, root, {
      annotations: path.join(input, 'annotations', `instances_${split}.json`),
      images: path.join(input, split),
      threads: mode === 'quicksort-1-thread' ? 1 : undefined,
    });
    store.close();
    crops += report.cut;
  }
  // process.cpuUsage counts every thread of the process: the workers' CPU too.
  const used = process.cpuUsage(cpu);
  process.stdout.write(`${JSON.stringify({ crops, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 })}\n`);
}

(async () => {
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const pil = spawnSync('/usr/bin/python3', ['-c', 'import PIL; print(PIL.__version__)'], { encoding: 'utf8' }).stdout.trim();
  console.log(`data: ${data} (${SPLITS.join(' + ')}), Pillow ${pil}, sharp ${require('sharp').versions.sharp}, libvips ${require('sharp').versions.vips}`);
  const samples = Object.fromEntries(modes.map((mode) => [mode, []]));
  for (let run = 0; run < runs; run++) {
    for (const mode of modes) {
      const sample = measure(mode);
      samples[mode].push(sample);
      console.error(`run ${run + 1} ${mode}: ${sample.crops} crops in ${sample.seconds.toFixed(2)} s, cpu ${sample.cpuSeconds.toFixed(2)} s`);
    }
  }
  const counts = new Set(modes.map((mode) => samples[mode][0].crops));
  if (counts.size !== 1) throw new Error(`modes cut different numbers of crops: ${[...counts].join(' vs ')}`);
  const rate = (mode) => median(samples[mode].map((s) => s.crops / s.seconds));
  const perCpu = (mode) => median(samples[mode].map((s) => s.crops / s.cpuSeconds));
  const base = rate('python-pil');
  const baseCpu = perCpu('python-pil');
  console.log(`\n${samples.quicksort[0].crops} crops; median of ${runs} runs; load after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('| cutter | crops/s (wall) | ratio to PIL | crops per CPU-second | ratio to PIL |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const mode of modes) {
    console.log(`| ${mode} | ${rate(mode).toFixed(0)} | ${(rate(mode) / base).toFixed(2)}× | ${perCpu(mode).toFixed(0)} | ${(perCpu(mode) / baseCpu).toFixed(2)}× |`);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
