// Embedding throughput: JPEG files to vectors (end to end), against (a) the bare model on pre-made tensors at
// the same batch size and (b) preprocessing alone (decode, resize, normalise in the same worker pool), all
// measured in the same run, plus peak memory. Each measurement runs in its own child process, so its peak
// RSS (VmHWM, worker threads included) is its own.
//
//   npm run build && npx esbuild bench/embed.ts --bundle --platform=node --packages=external --outfile=dist/bench/embed.js \
//     && node dist/bench/embed.js [--images DIR] [--repeat 2] [--runs 3] [--batch 16] [--threads 2] [--model-threads 2] \
//        [--providers cpu] [--model models/x.json]
//
// The bundle must sit in dist/bench/: the worker pools find their compiled modules in dist/ from there.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { OnnxEmbedder, Preprocessor, embedDataset, planPreprocess, type EmbedderOptions } from '../src/embed';
import { ingestFolder } from '../src/images';
import { LabelStore } from '../src/store';

type Mode = 'model' | 'decode' | 'end-to-end' | 'dataset';
const MODES: Mode[] = ['model', 'decode', 'end-to-end', 'dataset'];

interface Measurement {
  mode: Mode;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  peakRssMb: number;
  provider: string;
}

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1]! : fallback;
};

const settings = {
  images: option('images', '/work/shared/data/coco-tiny'),
  repeat: Number(option('repeat', '2')),
  runs: Number(option('runs', '3')),
  batch: Number(option('batch', '16')),
  threads: Number(option('threads', String(cpus().length))),
  modelThreads: option('model-threads', ''),
  providers: option('providers', 'cpu'),
  model: option('model', ''),
};

function embedderOptions(): EmbedderOptions {
  return {
    providers: settings.providers,
    batchSize: settings.batch,
    threads: settings.threads,
    ...(settings.modelThreads ? { modelThreads: Number(settings.modelThreads) } : {}),
    modelCacheDir: path.join(tmpdir(), 'quicksort-bench-model-cache'),
    onNotice: (message) => process.stderr.write(`notice: ${message}\n`),
  };
}

function listImages(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(jpe?g|png)$/i.test(entry.name)) found.push(full);
    }
  };
  walk(folder);
  return found.sort();
}

function peakRssMb(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : process.memoryUsage().rss / 1024 / 1024;
}

async function child(mode: Mode): Promise<Measurement> {
  const files = listImages(settings.images);
  const inputs = Array.from({ length: settings.repeat }, () => files).flat();
  const model = settings.model || undefined;
  const embedder = await OnnxEmbedder.load(model, embedderOptions());
  const provider = embedder.provider;
  try {
    // Warm-up: start the pools and let ONNX Runtime allocate, so the timings are of steady state.
    await embedder.embedImages(files.slice(0, settings.batch).map((file) => ({ file })));
    let started = performance.now();
    let count = inputs.length;
    if (mode === 'model') {
      const floats = embedder.preprocessor.floatsPerImage;
      const tensor = Float32Array.from({ length: settings.batch * floats }, (_, i) => Math.sin(i) * 2);
      started = performance.now();
      for (let done = 0; done < count; done += settings.batch) await embedder.embedTensor(tensor, settings.batch);
      count = Math.ceil(count / settings.batch) * settings.batch;
    } else if (mode === 'decode') {
      // The same worker pool and chunking as the pipeline, with nothing behind it.
      const pre = new Preprocessor(planPreprocess(embedder.manifest.vision), { threads: settings.threads });
      const chunk = Math.max(1, Math.min(16, Math.ceil(settings.batch / settings.threads)));
      await pre.run(files.slice(0, settings.threads).map((file) => ({ file })));
      started = performance.now();
      const inFlight: Promise<unknown>[] = [];
      for (let start = 0; start < inputs.length; start += chunk) {
        inFlight.push(pre.run(inputs.slice(start, start + chunk).map((file) => ({ file }))));
        if (inFlight.length >= settings.threads * 2) await inFlight.shift();
      }
      await Promise.all(inFlight);
      await pre.close();
    } else if (mode === 'end-to-end') {
      const results = await embedder.embedImages(inputs.map((file) => ({ file })));
      const failed = results.filter((r) => !r.ok).length;
      if (failed) throw new Error(`${failed} images failed`);
    } else {
      // A dataset of `repeat` copies of the folder, ingested beforehand (not timed): decode to vectors in the cache.
      const root = path.join(tmpdir(), `quicksort-bench-embed-${process.pid}`);
      rmSync(root, { recursive: true, force: true });
      for (let copy = 0; copy < settings.repeat; copy++) {
        const target = path.join(root, `copy-${copy}`);
        mkdirSync(target, { recursive: true });
        for (const file of files) {
          // Distinct bytes per copy (a trailing byte), so ingest sees distinct files.
          const bytes = readFileSync(file);
          writeFileSync(path.join(target, path.basename(file)), Buffer.concat([bytes, Buffer.from([copy])]));
        }
      }
      mkdirSync(path.join(root, '.quicksort'), { recursive: true });
      const store = LabelStore.open(path.join(root, '.quicksort', 'quicksort.db'));
      await ingestFolder(store, root, { verify: 'header' });
      started = performance.now();
      const report = await embedDataset(store, root, { embedder });
      count = report.embedded;
      store.close();
      rmSync(root, { recursive: true, force: true });
    }
    const seconds = (performance.now() - started) / 1000;
    return { mode, images: count, seconds, imagesPerSecond: count / seconds, peakRssMb: peakRssMb(), provider };
  } finally {
    await embedder.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const noticesSaid = new Set<string>();

function measure(mode: Mode): Measurement {
  const result = spawnSync(process.execPath, [__filename, '--child', mode, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${mode} failed: ${result.stderr}`);
  // Provider fallbacks, said once for the whole bench.
  for (const line of result.stderr.split('\n').filter((l) => l.startsWith('notice: '))) {
    if (!noticesSaid.has(line)) console.log(line);
    noticesSaid.add(line);
  }
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Measurement;
}

async function main(): Promise<void> {
  const childIndex = args.indexOf('--child');
  if (childIndex >= 0) {
    const measurement = await child(args[childIndex + 1] as Mode);
    process.stdout.write(`${JSON.stringify(measurement)}\n`);
    return;
  }
  const files = listImages(settings.images);
  console.log(
    `# embed bench: ${files.length} images × ${settings.repeat} from ${settings.images}, batch ${settings.batch}, ` +
      `${settings.threads} preprocessing threads, model threads ${settings.modelThreads || 'default'}, providers ${settings.providers}, ` +
      `${settings.runs} runs; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; ` +
      `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  const runs: Record<Mode, Measurement[]> = { model: [], decode: [], 'end-to-end': [], dataset: [] };
  // Interleaved, so drift in the machine's load touches every mode alike.
  for (let run = 0; run < settings.runs; run++) {
    for (const mode of MODES) {
      const m = measure(mode);
      runs[mode].push(m);
      console.log(`run ${run + 1} ${mode.padEnd(10)} ${m.imagesPerSecond.toFixed(1).padStart(7)} images/s  peak RSS ${m.peakRssMb.toFixed(0)} MB  (${m.provider})`);
    }
  }
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other processes share these cores)`);
  const rate = (mode: Mode) => median(runs[mode].map((m) => m.imagesPerSecond));
  const peak = (mode: Mode) => Math.max(...runs[mode].map((m) => m.peakRssMb));
  const model = rate('model');
  const decode = rate('decode');
  const serial = 1 / (1 / model + 1 / decode);
  console.log('\n| measure | images/s (median) | peak RSS MB |');
  console.log('| --- | ---: | ---: |');
  for (const mode of MODES) console.log(`| ${mode} | ${rate(mode).toFixed(1)} | ${peak(mode).toFixed(0)} |`);
  console.log(`| 1/(model time + decode time) | ${serial.toFixed(1)} | |`);
  console.log(`\nend-to-end / (1/(t_model + t_decode)) = ${(rate('end-to-end') / serial).toFixed(2)} (aim ≥ 0.9)`);
  console.log(`end-to-end / bare model = ${(rate('end-to-end') / model).toFixed(2)} (aim ≥ 0.6)`);
  console.log(`dataset (with store and cache) / (1/(t_model + t_decode)) = ${(rate('dataset') / serial).toFixed(2)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
