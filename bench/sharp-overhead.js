#!/usr/bin/env node
// Where a crop's time goes: sharp's fixed cost per pipeline and its JPEG decode, against Pillow doing the
// same steps, and the cost of touching freshly allocated memory on this machine — measured in the same run.
//
//   node bench/sharp-overhead.js [--runs 5] [--data ../shared/data/coco-tiny]
//
// Each step runs alone in a loop on one thread (sharp.concurrency(1), cache off, as in the crop workers);
// CPU milliseconds per call (user + system of the process), median of the runs. Pillow runs in a child
// process (Debian /usr/bin/python3, python3-pil) over the same files and the same crop box.
const { spawnSync } = require('node:child_process');
const { readdirSync, readFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const runs = Number(option('runs', '5'));
const data = path.resolve(option('data', path.join(__dirname, '..', '..', 'shared', 'data', 'coco-tiny')));
const folder = path.join(data, 'val2017');
const names = readdirSync(folder).filter((name) => name.endsWith('.jpg')).sort().slice(0, 60);
const files = names.map((name) => readFileSync(path.join(folder, name)));
const DECODE = 'sharp: decode a 640×480 JPEG to raw';
const CROP = 'sharp: extract the box from raw, encode JPEG q90';
const BOX = { left: 100, top: 100, width: 105, height: 105 }; // ~11,000 px: the mean COCO-tiny crop

sharp.concurrency(1);
sharp.cache(false);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function cpuPerCall(calls, fn) {
  await fn(0);
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) await fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / calls;
}

const PYTHON = `
import io, json, os, sys, time
from PIL import Image
folder, names, runs = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
files = [open(os.path.join(folder, n), 'rb').read() for n in names]
def per_call(calls, fn):
    fn(0)
    start = time.process_time()
    for i in range(calls): fn(i)
    return (time.process_time() - start) * 1000 / calls
def decode(i):
    image = Image.open(io.BytesIO(files[i % len(files)])); image.load(); return image
first = decode(0)
def crop(i):
    out = io.BytesIO(); first.crop((100, 100, 205, 205)).save(out, 'JPEG', quality=90)
out = {'decode': [], 'crop': []}
for r in range(runs):
    out['decode'].append(per_call(len(files), decode))
    out['crop'].append(per_call(300, crop))
print(json.dumps(out))
`;

async function main() {
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0].model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips})`);
  console.log(`load average before: ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  const { data: pixels, info } = await sharp(files[0]).raw().toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
  const cut = await sharp(pixels, raw).extract(BOX).raw().toBuffer();
  const cutRaw = { raw: { width: BOX.width, height: BOX.height, channels: info.channels } };
  const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } }).jpeg().toBuffer();
  const frameBytes = info.width * info.height * info.channels;
  const reused = Buffer.allocUnsafe(frameBytes);
  const steps = {
    [DECODE]: [files.length, (i) => sharp(files[i % files.length]).raw().toBuffer()],
    'sharp: decode an 8×8 JPEG (fixed cost)': [300, () => sharp(tiny).raw().toBuffer()],
    'sharp: raw in, raw out, nothing done': [300, () => sharp(pixels, raw).raw().toBuffer()],
    [CROP]: [300, () => sharp(pixels, raw).extract(BOX).jpeg({ quality: 90, optimiseCoding: false }).toBuffer()],
    'sharp: encode the cut box alone, JPEG q90': [300, () => sharp(cut, cutRaw).jpeg({ quality: 90, optimiseCoding: false }).toBuffer()],
    [`fresh ${(frameBytes / 1024).toFixed(0)} KiB buffer, written once`]: [300, () => Buffer.allocUnsafeSlow(frameBytes).fill(1)],
    [`the same ${(frameBytes / 1024).toFixed(0)} KiB buffer, written again`]: [300, () => reused.fill(1)],
  };
  const results = Object.fromEntries(Object.keys(steps).map((name) => [name, []]));
  for (let run = 0; run < runs; run++) {
    for (const [name, [calls, fn]] of Object.entries(steps)) results[name].push(await cpuPerCall(calls, fn));
  }
  const python = spawnSync('/usr/bin/python3', ['-c', PYTHON, folder, JSON.stringify(names), String(runs)], { encoding: 'utf8' });
  const pil = python.status === 0 ? JSON.parse(python.stdout) : undefined;
  if (!pil) console.log(`Pillow not measured: ${python.stderr.trim().split('\n').pop()}`);
  console.log(`\nCPU ms per call, median of ${runs} runs; load average after: ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  console.log('| step | sharp / Node | Pillow |\n| --- | ---: | ---: |');
  for (const [name, values] of Object.entries(results)) {
    const pillow = name === DECODE ? pil?.decode : name === CROP ? pil?.crop : undefined;
    console.log(`| ${name} | ${median(values).toFixed(3)} | ${pillow ? median(pillow).toFixed(3) : '—'} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
