#!/usr/bin/env node
// The labeling app in Chromium against `quicksort serve` (startServer from dist/server), two measures:
//
// 1. focus — keypress → next image painted, over `--labels` labels, with the app's image prefetch on (the
//    default, 4 images decoded ahead) and off (`?prefetch=0` on the page URL: the standalone page sets the
//    synced `image_prefetch` from it), each at a human pace (`--pace` ms between keys, default 300) and back
//    to back (the next key as soon as the image showed, as bench/jupyterlab.js does). Baseline in the same run,
//    on the same page and by the same method: a key the app ignores (`x`) → the next frame painted, i.e. the
//    floor any keypress pays on this machine (waiting for the next frame, then painting it).
//    Dataset: `--focus-items` (320) varied photos cut from ../shared/data/coco-tiny (random 40–100 % crops,
//    640–1600 px wide JPEGs; the app asks for them at its stage's size, 1024 px at 1280×900).
// 2. grid — the grid filtered to `unlabeled` (browse mode: every item), scrolled top to bottom through
//    `--grid-items` (10,000) thumbnails at `--scroll-speed` px/s (set from a requestAnimationFrame loop, by
//    time, so a slow frame does not slow the scroll): frames dropped (rAF deltas), long animation frames
//    (PerformanceObserver 'long-animation-frame', > 50 ms), the share of on-screen cells showing their image,
//    and memory (JS heap from CDP Performance.getMetrics, before/after/after GC; the page's renderer and the GPU
//    process RSS from /proc, sampled each second). Baseline in the same run: the same page idle for
//    `--idle` s (frames dropped with nothing to do: the machine's own noise).
//    Dataset: `--grid-items` small JPEGs (160–320 px crops of the same photos), in folders of 1,000.
//
// How "painted" is measured (in the page, shared with bench/jupyterlab.js): from the keydown event's
// timeStamp (the key as the browser's input pipeline received it) to
//   - next paint: the first animation frame after the new <img> is in the DOM and decoded, then a task posted
//     from that frame's rAF callback — it runs once the main thread has painted that frame (the headline);
//   - two frames: the second rAF after that (the method bench/jupyterlab.js used first: one frame later by
//     construction, an upper bound);
//   - in the first frame: whether that frame is the first one after the keydown (rAF timestamps compared) —
//     the app's own part, whatever the machine's load does to frame times.
// Headless Chromium on this machine produces frames at 60 Hz (16.7 ms), so "next paint" is at least the wait
// for the next frame (uniform 0–16.7 ms) plus the frame's own work.
//
// Generated datasets are cached under bench/out/app/ (gitignored); each measure runs on a fresh copy of the
// store and a fresh server (cold engine image cache).
//
//   npm run build && node bench/app.js [--runs 3] [--labels 200] [--pace 300] [--only focus|grid]
//        [--paces 300,0] [--floor 50] [--warmup 5] [--focus-items 320] [--grid-items 10000]
//        [--scroll-speed 3000] [--idle 5] [--thumbnails cold|warm] [--profile] [--count-blobs]
//
// --thumbnails: the engine's thumbnail cache on disk (thumbnails.db beside the store) empty at the start of each
// grid run (cold, the default: a dataset opened for the first time), or filled beforehand as
// `quicksort thumbnails --dataset DIR` does (warm: the cost of filling it is printed); none: every thumbnail
// refused, so the cells show their placeholder (the scroll's own cost, a baseline).
//
// Diagnostics, not for the reported figures: --profile, a CDP CPU profile of the page during each grid scroll
// (heaviest functions in the JSON; it slows the page); --count-blobs, every Blob and object URL the page makes
// during the scroll, counted and timed (wraps the constructors before the app loads).
//
// Results, with the machine, go to bench/results/app.md.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.join(__dirname, '..');
const OUT = path.join(__dirname, 'out', 'app');
const COCO = path.join(REPO, '..', 'shared', 'data', 'coco-tiny');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CLASSES = ['one', 'two', 'three'];
const KEYS = ['1', '2', '3'];
const FRAME_MS = 1000 / 60;

const percentile = (values, p) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};
const median = (values) => percentile(values, 50);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------
// In the page (passed to page.evaluate: no closures).

/**
 * Installs the keypress → painted probe on the app under `rootSelector`: for each keydown inside it, the next
 * <img> matching `imageSelector` that enters the DOM (or changes its src) is awaited until decoded, then the
 * next animation frame (`frame`), a task posted from it (`painted`: that frame has been painted) and the
 * frame after (`twoFrames`). Keys in `floorKeys` change nothing in the app: for them the same probe starts at
 * once, without an image (the baseline). Samples land in window.benchSamples.
 */
function installProbe({ rootSelector, imageSelector, floorKeys }) {
  const root = document.querySelector(rootSelector);
  const samples = [];
  let pending = null;
  const afterFrame = (sample) => {
    requestAnimationFrame((frameTime) => {
      sample.frame = performance.now() - sample.start;
      // Frames after the first one the key could have changed: 0 when the image is in that very frame.
      sample.framesLate = sample.firstFrame === undefined ? undefined : Math.round((frameTime - sample.firstFrame) / (1000 / 60));
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        sample.painted = performance.now() - sample.start;
        channel.port1.close();
      };
      channel.port2.postMessage(0);
      requestAnimationFrame(() => {
        sample.twoFrames = performance.now() - sample.start;
        // The posted task has run by now (it was queued a whole frame earlier).
        samples.push(sample);
      });
    });
  };
  window.addEventListener(
    'keydown',
    (event) => {
      if (!root.contains(event.target)) return;
      // handler: the input delay, from the key's timestamp to this (first) listener running.
      const sample = { key: event.key, start: event.timeStamp, handler: performance.now() - event.timeStamp };
      // The first frame after the key (its rAF timestamp, shared by every callback of that frame).
      requestAnimationFrame((frameTime) => (sample.firstFrame = frameTime));
      if (floorKeys.includes(event.key)) return afterFrame(sample);
      pending = sample;
    },
    true,
  );
  const onImage = (img) => {
    if (pending === null || !img.matches(imageSelector)) return;
    const sample = pending;
    pending = null;
    sample.dom = performance.now() - sample.start;
    const decoded = img.complete && img.naturalWidth > 0 ? Promise.resolve() : img.decode().catch(() => undefined);
    decoded.then(() => {
      sample.decoded = performance.now() - sample.start;
      afterFrame(sample);
    });
  };
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === 'attributes' && record.target.tagName === 'IMG') onImage(record.target);
      for (const node of record.addedNodes) {
        if (node.tagName === 'IMG') onImage(node);
        else if (node.querySelectorAll) node.querySelectorAll('img').forEach(onImage);
      }
    }
  }).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ['src'] });
  window.benchSamples = samples;
  // Long animation frames (> 50 ms) while labeling, with the scripts in them (what kept the main thread).
  const loaf = { frames: 0, ms: 0, script: 0, byInvoker: {} };
  if (PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')) {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        loaf.frames++;
        loaf.ms += e.duration;
        for (const script of e.scripts || []) {
          loaf.script += script.duration;
          const name = `${script.invokerType}: ${String(script.invoker).slice(0, 50)}`;
          loaf.byInvoker[name] = (loaf.byInvoker[name] || 0) + script.duration;
        }
      }
    }).observe({ type: 'long-animation-frame' });
  }
  window.benchLoaf = loaf;
}

// ---------------------------------------------------------------------------------------------------------
// Driving the probe from Node.

/**
 * `count` presses of `keys` (cycled) on a page with the probe installed, each waiting for its sample, and at
 * least `pace` ms from one press to the next. The first `warmup` samples are dropped.
 * @returns {Promise<object[]>} the samples
 */
async function pressAndMeasure(page, { keys, count, pace = 0, warmup = 0 }) {
  const before = await page.evaluate(() => window.benchSamples.length);
  let last = 0;
  for (let i = 0; i < warmup + count; i++) {
    const wait = last + pace - Date.now();
    if (wait > 0) await sleep(wait);
    last = Date.now();
    await page.keyboard.press(keys[i % keys.length]);
    await page.waitForFunction((n) => window.benchSamples.length >= n, before + i + 1, { timeout: 30000, polling: 'raf' });
  }
  return (await page.evaluate((from) => window.benchSamples.slice(from), before)).slice(warmup);
}

/** p50/p95 of each measure over the samples. */
function summarize(samples) {
  const out = { n: samples.length };
  // The frame's own main-thread work: from its rAF callback to the task posted from it (style, layout, paint).
  for (const s of samples) if (typeof s.painted === 'number' && typeof s.frame === 'number') s.frameWork = s.painted - s.frame;
  for (const measure of ['painted', 'twoFrames', 'handler', 'dom', 'decoded', 'frame', 'frameWork']) {
    const values = samples.map((s) => s[measure]).filter((v) => typeof v === 'number');
    if (values.length > 0) out[measure] = { p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) };
  }
  out.overFrame = samples.filter((s) => s.painted > FRAME_MS).length;
  const late = samples.map((s) => s.framesLate).filter((v) => typeof v === 'number');
  // Share of keys whose image was in the first frame after the key, and the p95 of frames late.
  out.nextFrame = late.length ? late.filter((v) => v === 0).length / late.length : NaN;
  out.framesLateP95 = percentile(late, 95);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Datasets (cached under bench/out/app).

/** A tiny deterministic generator: the engine's own (mulberry32). */
function random(seed) {
  return require('../dist/random').mulberry32(seed);
}

function cocoSources() {
  const files = [];
  for (const split of ['train2017', 'val2017']) {
    const dir = path.join(COCO, split);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir).sort()) if (/\.jpe?g$/i.test(name)) files.push(path.join(dir, name));
  }
  if (files.length === 0) throw new Error(`no source photos in ${COCO}`);
  return files;
}

/**
 * Writes `count` JPEGs cut from the COCO photos: a random crop (40–100% of each side), resized to one of
 * `sizes` (width; height keeps the crop's shape). `folderSize` files per sub-folder.
 */
async function cutImages(dir, count, { sizes, quality, folderSize, seed }) {
  const sharp = require('sharp');
  const sources = cocoSources();
  const next = random(seed);
  const decoded = new Map();
  const raw = async (file) => {
    if (!decoded.has(file)) decoded.set(file, await sharp(file).rotate().raw().toBuffer({ resolveWithObject: true }));
    return decoded.get(file);
  };
  for (let i = 0; i < count; i++) {
    const source = sources[i % sources.length];
    const { data, info } = await raw(source);
    const w = Math.max(32, Math.round(info.width * (0.4 + 0.6 * next())));
    const h = Math.max(32, Math.round(info.height * (0.4 + 0.6 * next())));
    const left = Math.floor(next() * (info.width - w + 1));
    const top = Math.floor(next() * (info.height - h + 1));
    const width = sizes[Math.floor(next() * sizes.length)];
    const folder = path.join(dir, `part-${String(Math.floor(i / folderSize)).padStart(3, '0')}`);
    if (i % folderSize === 0) fs.mkdirSync(folder, { recursive: true });
    await sharp(data, { raw: info })
      .extract({ left, top, width: w, height: h })
      .resize({ width, height: Math.max(16, Math.round((width * h) / w)), fit: 'fill' })
      .jpeg({ quality })
      .toFile(path.join(folder, `img-${String(i).padStart(5, '0')}.jpg`));
    if (decoded.size > 8) decoded.delete(decoded.keys().next().value);
  }
}

/**
 * The dataset `name` with `count` images, ingested, with the bench's classes; generated once. Returns the
 * folder and its store file (copy it before labeling).
 */
async function cachedDataset(name, count, cut) {
  const { Dataset } = require('../dist/dataset');
  const dir = path.join(OUT, `${name}-${count}`);
  const done = path.join(dir, '.bench-ready');
  if (!fs.existsSync(done)) {
    fs.rmSync(dir, { recursive: true, force: true });
    const started = Date.now();
    process.stderr.write(`generating ${count} images in ${dir}… `);
    await cut(path.join(dir, 'images'), count);
    process.stderr.write(`${((Date.now() - started) / 1000).toFixed(0)} s; ingesting… `);
    const ds = await Dataset.open(dir);
    const report = await ds.ingest();
    for (const c of CLASSES) ds.addClass(c);
    ds.close();
    if (report.added !== count) throw new Error(`ingest added ${report.added} of ${count} images (${JSON.stringify(report.failures.slice(0, 3))})`);
    process.stderr.write(`${((Date.now() - started) / 1000).toFixed(0)} s in all\n`);
    fs.writeFileSync(done, JSON.stringify({ count, at: new Date().toISOString() }));
  }
  return { dir, store: path.join(dir, '.quicksort', 'quicksort.db') };
}

const focusDataset = (count) =>
  cachedDataset('focus', count, (dir, n) => cutImages(dir, n, { sizes: [640, 800, 1024, 1280, 1600], quality: 85, folderSize: 1000, seed: 7 }));
const gridDataset = (count) => cachedDataset('grid', count, (dir, n) => cutImages(dir, n, { sizes: [160, 192, 256, 320], quality: 80, folderSize: 1000, seed: 11 }));

/**
 * A fresh copy of a dataset's store, and `quicksort serve` on it (port 0, no embeddings: items in id order).
 * The thumbnail cache on disk (thumbnails.db beside the store) starts empty, unless `thumbnails` names a
 * pre-filled one to copy (--thumbnails warm).
 */
async function serveCopy(dataset, { thumbnails } = {}) {
  const { startServer } = require('../dist/server');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-app-'));
  const store = path.join(tmp, 'quicksort.db');
  fs.copyFileSync(dataset.store, store);
  if (thumbnails && thumbnails !== 'none') fs.copyFileSync(thumbnails, path.join(tmp, 'thumbnails.db'));
  const server = await startServer({ dataset: dataset.dir, store, port: 0, embeddings: false });
  // Images the engine made or read from its disk cache (each lands in its memory cache once): thumbnails/s.
  const made = { count: 0 };
  const images = server.sessions?.images;
  if (images) {
    const set = images.set.bind(images);
    images.set = (key, image) => {
      made.count++;
      return set(key, image);
    };
  }
  // --thumbnails none: every thumbnail refused (cells show their placeholder): the scroll's own cost.
  if (thumbnails === 'none') {
    const image = server.sessions.image.bind(server.sessions);
    server.sessions.image = (item, size) => (size <= 384 ? Promise.reject(new Error('bench: no thumbnails')) : image(item, size));
  }
  return {
    url: server.url,
    made,
    close: async () => {
      await server.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

async function launch() {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

// ---------------------------------------------------------------------------------------------------------
// 1. Focus: keypress → next image painted.

/** One page of the standalone app on a fresh server: the floor baseline, then `labels` labels. */
async function focusOnce(browser, dataset, { prefetch, pace, labels, warmup, floor }) {
  const server = await serveCopy(dataset);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(prefetch ? server.url : `${server.url}&prefetch=0`);
    await page.locator('#app .qs-stage-holder img').first().waitFor({ timeout: 60000 });
    await page.locator('#app .qs-class-key').nth(CLASSES.length - 1).waitFor({ timeout: 60000 });
    await page.locator('#app .qs-app').focus();
    await sleep(1000); // the look-ahead settles, as it would while a person looks at the first image
    await page.evaluate(installProbe, { rootSelector: '#app', imageSelector: '.qs-stage-holder img', floorKeys: ['x'] });
    const floorSamples = await pressAndMeasure(page, { keys: ['x'], count: floor, pace: Math.min(pace, 100) || 50 });
    await page.evaluate(() => Object.assign(window.benchLoaf, { frames: 0, ms: 0, script: 0, byInvoker: {} }));
    const samples = await pressAndMeasure(page, { keys: KEYS, count: labels, pace, warmup });
    const loaf = await page.evaluate(() => window.benchLoaf);
    return { floor: summarize(floorSamples), label: summarize(samples), longFrames: loaf, samples: samples.map(({ key, start, firstFrame, ...rest }) => rest) };
  } finally {
    await context.close();
    await server.close();
  }
}

async function focusBench({ runs, labels, warmup, paces, items, floor }) {
  const dataset = await focusDataset(items);
  const configs = [];
  for (const pace of paces) for (const prefetch of [true, false]) configs.push({ pace, prefetch });
  const perRun = [];
  const browser = await launch();
  try {
    for (let run = 1; run <= runs; run++) {
      // Alternate the order run to run, so drift in the machine's load does not favour one side.
      const order = run % 2 === 1 ? configs : [...configs].reverse();
      const results = {};
      for (const config of order) {
        const key = `${config.prefetch ? 'on' : 'off'}@${config.pace}`;
        results[key] = await focusOnce(browser, dataset, { ...config, labels, warmup, floor });
        const r = results[key];
        console.log(
          `focus run ${run} prefetch ${config.prefetch ? 'on ' : 'off'} pace ${config.pace} ms: next paint p50 ${r.label.painted.p50.toFixed(1)} p95 ${r.label.painted.p95.toFixed(1)} ms` +
            ` (two frames p50 ${r.label.twoFrames.p50.toFixed(1)} p95 ${r.label.twoFrames.p95.toFixed(1)}; input delay p50 ${r.label.handler.p50.toFixed(1)} p95 ${r.label.handler.p95.toFixed(1)}; in DOM p50 ${r.label.dom.p50.toFixed(1)} p95 ${r.label.dom.p95.toFixed(1)}; ${(100 * r.label.nextFrame).toFixed(0)}% in the first frame after the key, p95 ${r.label.framesLateP95} frames late)` +
            ` | floor (ignored key) p50 ${r.floor.painted.p50.toFixed(1)} p95 ${r.floor.painted.p95.toFixed(1)} ms | load ${os.loadavg()[0].toFixed(2)}`,
        );
      }
      perRun.push(results);
    }
  } finally {
    await browser.close();
  }
  const summary = {};
  for (const key of Object.keys(perRun[0])) {
    const pick = (side, measure, stat) => median(perRun.map((r) => r[key][side][measure][stat]));
    summary[key] = {
      label: {
        painted: { p50: pick('label', 'painted', 'p50'), p95: pick('label', 'painted', 'p95') },
        twoFrames: { p50: pick('label', 'twoFrames', 'p50'), p95: pick('label', 'twoFrames', 'p95') },
        handler: { p50: pick('label', 'handler', 'p50'), p95: pick('label', 'handler', 'p95') },
        dom: { p50: pick('label', 'dom', 'p50'), p95: pick('label', 'dom', 'p95') },
      },
      floor: { painted: { p50: pick('floor', 'painted', 'p50'), p95: pick('floor', 'painted', 'p95') } },
      p95OverFloor: median(perRun.map((r) => r[key].label.painted.p95 / r[key].floor.painted.p95)),
      overFrame: perRun.map((r) => `${r[key].label.overFrame}/${r[key].label.n}`),
      nextFrame: median(perRun.map((r) => r[key].label.nextFrame)),
      framesLateP95: median(perRun.map((r) => r[key].label.framesLateP95)),
    };
  }
  return { labels, warmup, runs, items, perRun, summary };
}

// ---------------------------------------------------------------------------------------------------------
// 2. Grid: scrolling 10,000 thumbnails.

/** In the page: rAF deltas for `ms` (no scrolling), and long animation frames. */
function idleFrames(ms) {
  return new Promise((resolve) => {
    const deltas = [];
    const loaf = [];
    const observer = typeof PerformanceObserver !== 'undefined' && PerformanceObserver.supportedEntryTypes.includes('long-animation-frame') ? new PerformanceObserver((list) => loaf.push(...list.getEntries().map((e) => e.duration))) : null;
    observer?.observe({ type: 'long-animation-frame' });
    let last = null;
    const end = performance.now() + ms;
    const tick = (now) => {
      if (last !== null) deltas.push(now - last);
      last = now;
      if (now < end) requestAnimationFrame(tick);
      else {
        observer?.disconnect();
        resolve({ deltas, loaf });
      }
    };
    requestAnimationFrame(tick);
  });
}

/**
 * In the page: scrolls the grid from top to bottom at `speed` px/s (position set by elapsed time each frame),
 * recording rAF deltas, long animation frames, and every 6th frame how many cells in view show their image.
 */
function scrollFrames(speed) {
  return new Promise((resolve) => {
    const scroller = document.querySelector('.qs-grid-scroll');
    const deltas = [];
    const loaf = [];
    const coverage = [];
    const shownIds = new Set();
    // Long animation frames, split into script (by invoker), rendering callbacks (rAF: the scroll itself and
    // React's scheduled work land here too) and style/layout/paint.
    const split = { frames: 0, total: 0, blocking: 0, script: 0, renderCallbacks: 0, styleLayoutPaint: 0, byInvoker: {} };
    const observer =
      typeof PerformanceObserver !== 'undefined' && PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')
        ? new PerformanceObserver((list) => {
            for (const e of list.getEntries()) {
              loaf.push(e.duration);
              split.frames++;
              split.total += e.duration;
              split.blocking += e.blockingDuration || 0;
              const end = e.startTime + e.duration;
              if (e.styleAndLayoutStart) split.styleLayoutPaint += end - e.styleAndLayoutStart;
              if (e.renderStart && e.styleAndLayoutStart) split.renderCallbacks += e.styleAndLayoutStart - e.renderStart;
              for (const script of e.scripts || []) {
                split.script += script.duration;
                const name = `${script.invokerType}: ${String(script.invoker).slice(0, 60)}`;
                split.byInvoker[name] = (split.byInvoker[name] || 0) + script.duration;
              }
            }
          })
        : null;
    observer?.observe({ type: 'long-animation-frame' });
    const distance = scroller.scrollHeight - scroller.clientHeight;
    let start = null;
    let last = null;
    let frames = 0;
    const tick = (now) => {
      if (start === null) start = now;
      if (last !== null) deltas.push(now - last);
      last = now;
      if (++frames % 6 === 0) {
        const box = scroller.getBoundingClientRect();
        let cells = 0;
        let shown = 0;
        for (const cell of scroller.querySelectorAll('.qs-cell')) {
          const r = cell.getBoundingClientRect();
          if (r.bottom <= box.top || r.top >= box.bottom) continue;
          cells++;
          if (cell.querySelector('img')) {
            shown++;
            shownIds.add(cell.dataset.itemId);
          }
        }
        if (cells > 0) coverage.push(shown / cells);
      }
      const top = Math.min(distance, ((now - start) / 1000) * speed);
      scroller.scrollTop = top;
      if (top < distance) requestAnimationFrame(tick);
      else {
        setTimeout(() => {
          observer?.disconnect();
          resolve({ deltas, loaf, split, coverage, shownIds: shownIds.size, distance, seconds: (now - start) / 1000, endCount: Number(scroller.dataset.count) });
        }, 200);
      }
    };
    requestAnimationFrame(tick);
  });
}

/** Frames dropped: each rAF delta of k frame intervals (rounded) counts k − 1; janky: deltas over 1.5 frames. */
function frameStats({ deltas, loaf }) {
  const dropped = deltas.reduce((n, d) => n + Math.max(0, Math.round(d / FRAME_MS) - 1), 0);
  const expected = deltas.reduce((n, d) => n + Math.max(1, Math.round(d / FRAME_MS)), 0);
  return {
    frames: deltas.length,
    dropped,
    droppedShare: expected > 0 ? dropped / expected : 0,
    janky: deltas.filter((d) => d > 1.5 * FRAME_MS).length,
    p95: percentile(deltas, 95),
    max: deltas.length ? Math.max(...deltas) : 0,
    loaf: loaf.length,
    loafMs: loaf.reduce((a, b) => a + b, 0),
  };
}

/** The page's renderer (the busiest one) and the GPU process, by pid, with their RSS in MiB. */
async function processMemory(browserSession) {
  const { processInfo } = await browserSession.send('SystemInfo.getProcessInfo');
  const cpu = {};
  for (const p of processInfo) cpu[p.type] = (cpu[p.type] || 0) + p.cpuTime;
  const rss = (pid) => {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Number(match[1]) / 1024 : NaN;
    } catch {
      return NaN;
    }
  };
  const renderers = processInfo.filter((p) => p.type === 'renderer').sort((a, b) => b.cpuTime - a.cpuTime);
  const gpu = processInfo.find((p) => p.type === 'GPU');
  return {
    renderer: renderers[0] ? rss(renderers[0].id) : NaN,
    gpu: gpu ? rss(gpu.id) : NaN,
    all: processInfo.reduce((sum, p) => sum + (rss(p.id) || 0), 0),
    cpu: { renderer: renderers[0]?.cpuTime ?? NaN, gpu: gpu?.cpuTime ?? NaN, browser: cpu.browser ?? NaN },
  };
}

async function heap(session) {
  const { metrics } = await session.send('Performance.getMetrics');
  const get = (name) => metrics.find((m) => m.name === name)?.value ?? NaN;
  return { jsHeapMiB: get('JSHeapUsedSize') / 1048576, nodes: get('Nodes') };
}

/**
 * In the page, before the app loads (--count-blobs only): times every Blob construction and object URL the page
 * makes, so the cost per image is known without the profiler's overhead.
 */
function countBlobs() {
  const stats = { blobs: 0, blobMs: 0, blobBytes: 0, urls: 0, urlMs: 0, revokes: 0, revokeMs: 0 };
  const NativeBlob = window.Blob;
  window.Blob = class extends NativeBlob {
    constructor(parts, options) {
      const start = performance.now();
      super(parts, options);
      stats.blobs++;
      stats.blobMs += performance.now() - start;
      stats.blobBytes += this.size;
    }
  };
  const create = URL.createObjectURL.bind(URL);
  const revoke = URL.revokeObjectURL.bind(URL);
  URL.createObjectURL = (object) => {
    const start = performance.now();
    const url = create(object);
    stats.urls++;
    stats.urlMs += performance.now() - start;
    return url;
  };
  URL.revokeObjectURL = (url) => {
    const start = performance.now();
    revoke(url);
    stats.revokes++;
    stats.revokeMs += performance.now() - start;
  };
  window.benchBlobs = stats;
}

/** The heaviest functions of a CDP CPU profile: self time, and total time for the app's own functions. */
function profileSummary(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const interval = new Map();
  for (let i = 0; i < profile.samples.length; i++) interval.set(i, (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000);
  const selfOf = new Map();
  profile.samples.forEach((id, i) => selfOf.set(id, (selfOf.get(id) || 0) + interval.get(i)));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const label = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url ? `${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
  const total = new Map();
  for (const [id, ms] of selfOf) {
    const n = byId.get(id);
    self.set(label(n), (self.get(label(n)) || 0) + ms);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur));
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) || 0) + ms);
    }
  }
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => [name, Math.round(ms)]);
  return { self: sorted(self), total: sorted(total) };
}

async function gridOnce(dataset, { speed, idle, profile, blobs, thumbnails }) {
  const server = await serveCopy(dataset, { thumbnails });
  // A browser of its own: its processes' memory is this page's.
  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const session = await context.newCDPSession(page);
    await session.send('Performance.enable');
    const browserSession = await browser.newBrowserCDPSession();
    if (blobs) await page.addInitScript(countBlobs);
    await page.goto(server.url);
    await page.locator('#app .qs-stage-holder img').first().waitFor({ timeout: 60000 });
    await page.locator('#app .qs-app').focus();
    await page.keyboard.press('g');
    await page.keyboard.press('/');
    await page.keyboard.type('unlabeled');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('.qs-grid-scroll')?.dataset.mode === 'browse' && Number(document.querySelector('.qs-grid-scroll').dataset.count) > 0, null, { timeout: 60000 });
    const count = await page.evaluate(() => Number(document.querySelector('.qs-grid-scroll').dataset.count));
    // The first screen's thumbnails, then a moment for the look-ahead to settle.
    await page.waitForFunction((none) => document.querySelectorAll(none ? '.qs-cell .qs-placeholder' : '.qs-cell img').length >= 30, thumbnails === 'none', { timeout: 60000 });
    await sleep(1500);
    const before = { ...(await heap(session)), ...(await processMemory(browserSession)) };
    const idleResult = frameStats(await page.evaluate(idleFrames, idle * 1000));

    const peak = { renderer: 0, gpu: 0, all: 0, jsHeapMiB: 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = { ...(await processMemory(browserSession)), ...(await heap(session)) };
        for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k] || 0);
        await sleep(1000);
      }
    })();
    if (profile) {
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: 500 });
      await session.send('Profiler.start');
    }
    if (blobs) await page.evaluate(() => Object.keys(window.benchBlobs).forEach((k) => (window.benchBlobs[k] = 0)));
    const cpuBefore = { ...(await processMemory(browserSession)).cpu, server: process.cpuUsage() };
    const madeBefore = server.made.count;
    const scrolled = await page.evaluate(scrollFrames, speed);
    const engineImages = server.made.count - madeBefore;
    const profiled = profile ? profileSummary((await session.send('Profiler.stop')).profile) : undefined;
    const blobCounts = blobs ? await page.evaluate(() => window.benchBlobs) : undefined;
    const cpuAfter = (await processMemory(browserSession)).cpu;
    const serverCpu = process.cpuUsage(cpuBefore.server);
    // CPU seconds spent during the scroll: the page's renderer, the GPU (compositor) process, the browser
    // process, and this Node process (quicksort serve: its session, sharp's resizes; the driver is idle then).
    const cpuSeconds = {
      renderer: cpuAfter.renderer - cpuBefore.renderer,
      gpu: cpuAfter.gpu - cpuBefore.gpu,
      browser: cpuAfter.browser - cpuBefore.browser,
      server: (serverCpu.user + serverCpu.system) / 1e6,
    };
    sampling = false;
    await sampler;
    await sleep(2000);
    const after = { ...(await heap(session)), ...(await processMemory(browserSession)) };
    await session.send('HeapProfiler.collectGarbage');
    const afterGc = await heap(session);
    const scroll = frameStats(scrolled);
    return {
      items: count,
      distance: scrolled.distance,
      seconds: scrolled.seconds,
      idle: idleResult,
      scroll,
      cpuSeconds,
      longFrames: scrolled.split,
      profile: profiled,
      blobs: blobCounts,
      shown: { mean: scrolled.coverage.reduce((a, b) => a + b, 0) / Math.max(1, scrolled.coverage.length), p10: percentile(scrolled.coverage, 10) },
      // Thumbnails the engine delivered during the scroll (made, or read from its disk cache), and distinct
      // cells seen with their image in the page's samples (every 6th frame: a lower bound), per second.
      thumbnailsPerSecond: engineImages / scrolled.seconds,
      cellsShownPerSecond: scrolled.shownIds / scrolled.seconds,
      memory: { before, peak, after, afterGcHeapMiB: afterGc.jsHeapMiB },
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

/**
 * The grid dataset's thumbnail cache, filled once as `quicksort thumbnails --dataset DIR` would (size 128: the
 * grid's cells at 1280×900, device pixel ratio 1), for --thumbnails warm. Returns its file and what filling cost.
 */
async function warmThumbnails(dataset) {
  const { fillThumbnails } = require('../dist/session');
  const { Dataset } = require('../dist/dataset');
  const file = path.join(dataset.dir, '.quicksort', 'thumbnails.db');
  const ds = await Dataset.open(dataset.dir);
  try {
    const report = await fillThumbnails(ds, { sizes: [128], cacheFile: file });
    process.stderr.write(`thumbnail cache ${file}: ${report.made} made, ${report.cached} there already, ${report.seconds.toFixed(1)} s, ${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB\n`);
    return { file, report };
  } finally {
    ds.close();
  }
}

async function gridBench({ runs, items, speed, idle, profile, blobs, thumbnails }) {
  const dataset = await gridDataset(items);
  const warm = thumbnails === 'warm' ? await warmThumbnails(dataset) : undefined;
  const perRun = [];
  for (let run = 1; run <= runs; run++) {
    const r = await gridOnce(dataset, { speed, idle, profile, blobs, thumbnails: thumbnails === 'none' ? 'none' : warm?.file });
    perRun.push(r);
    if (r.blobs) console.log(`grid run ${run}: ${r.blobs.blobs} Blobs (${(r.blobs.blobBytes / r.blobs.blobs / 1024).toFixed(1)} KiB each) ${(r.blobs.blobMs / r.blobs.blobs).toFixed(2)} ms each, ${r.blobs.urls} createObjectURL ${(r.blobs.urlMs / r.blobs.urls).toFixed(2)} ms each, ${r.blobs.revokes} revokeObjectURL ${(r.blobs.revokeMs / Math.max(1, r.blobs.revokes)).toFixed(2)} ms each: ${((r.blobs.blobMs + r.blobs.urlMs + r.blobs.revokeMs) / 1000).toFixed(1)} s of the main thread`);
    console.log(
      `grid run ${run}: ${r.items} items, ${(r.distance / 1000).toFixed(0)}k px in ${r.seconds.toFixed(1)} s — scroll: ${r.scroll.dropped} frames dropped of ${r.scroll.frames + r.scroll.dropped} (${(100 * r.scroll.droppedShare).toFixed(1)}%), ${r.scroll.janky} janky, p95 ${r.scroll.p95.toFixed(1)} ms, max ${r.scroll.max.toFixed(0)} ms, ${r.scroll.loaf} LoAF` +
        ` | CPU s during the scroll: renderer ${r.cpuSeconds.renderer.toFixed(1)}, GPU process ${r.cpuSeconds.gpu.toFixed(1)}, server ${r.cpuSeconds.server.toFixed(1)}` +
        ` | long frames ${r.longFrames.total.toFixed(0)} ms: script ${r.longFrames.script.toFixed(0)}, rAF callbacks ${r.longFrames.renderCallbacks.toFixed(0)}, style/layout/paint ${r.longFrames.styleLayoutPaint.toFixed(0)}` +
        ` | idle: ${r.idle.dropped} dropped (${(100 * r.idle.droppedShare).toFixed(1)}%) | cells in view with their image: mean ${(100 * r.shown.mean).toFixed(0)}%, p10 ${(100 * r.shown.p10).toFixed(0)}%` +
        ` | thumbnails/s from the engine ${r.thumbnailsPerSecond.toFixed(0)}, distinct cells seen with their image /s ${r.cellsShownPerSecond.toFixed(0)}` +
        ` | JS heap ${r.memory.before.jsHeapMiB.toFixed(1)} → peak ${r.memory.peak.jsHeapMiB.toFixed(1)} → ${r.memory.after.jsHeapMiB.toFixed(1)} (after GC ${r.memory.afterGcHeapMiB.toFixed(1)}) MiB; renderer RSS ${r.memory.before.renderer.toFixed(0)} → peak ${r.memory.peak.renderer.toFixed(0)} → ${r.memory.after.renderer.toFixed(0)} MiB; GPU process ${r.memory.before.gpu.toFixed(0)} → ${r.memory.peak.gpu.toFixed(0)} MiB | load ${os.loadavg()[0].toFixed(2)}`,
    );
  }
  const m = (fn) => median(perRun.map(fn));
  return {
    runs,
    items,
    speed,
    thumbnails: thumbnails ?? 'cold',
    warmFill: warm?.report,
    perRun,
    summary: {
      scrollDroppedShare: m((r) => r.scroll.droppedShare),
      scrollDropped: m((r) => r.scroll.dropped),
      scrollJanky: m((r) => r.scroll.janky),
      scrollP95: m((r) => r.scroll.p95),
      scrollLoaf: m((r) => r.scroll.loaf),
      idleDroppedShare: m((r) => r.idle.droppedShare),
      shownMean: m((r) => r.shown.mean),
      shownP10: m((r) => r.shown.p10),
      thumbnailsPerSecond: m((r) => r.thumbnailsPerSecond),
      cellsShownPerSecond: m((r) => r.cellsShownPerSecond),
      jsHeapBefore: m((r) => r.memory.before.jsHeapMiB),
      jsHeapPeak: m((r) => r.memory.peak.jsHeapMiB),
      jsHeapAfterGc: m((r) => r.memory.afterGcHeapMiB),
      rendererBefore: m((r) => r.memory.before.renderer),
      rendererPeak: m((r) => r.memory.peak.renderer),
      rendererAfter: m((r) => r.memory.after.renderer),
      gpuPeak: m((r) => r.memory.peak.gpu),
      cpuRenderer: m((r) => r.cpuSeconds.renderer),
      cpuGpu: m((r) => r.cpuSeconds.gpu),
      cpuServer: m((r) => r.cpuSeconds.server),
      scrollSeconds: m((r) => r.seconds),
      browserPeakAll: m((r) => r.memory.peak.all),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 ? args[index + 1] : fallback;
  };
  const runs = Number(option('runs', '3'));
  const only = option('only', 'all');
  const out = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadStart: os.loadavg(), started: new Date().toISOString() };
  if (only === 'all' || only === 'focus') {
    out.focus = await focusBench({
      runs,
      labels: Number(option('labels', '200')),
      warmup: Number(option('warmup', '5')),
      paces: option('paces', `${option('pace', '300')},0`).split(',').map(Number),
      items: Number(option('focus-items', '320')),
      floor: Number(option('floor', '50')),
    });
  }
  if (only === 'all' || only === 'grid') {
    out.grid = await gridBench({ runs, items: Number(option('grid-items', '10000')), speed: Number(option('scroll-speed', '3000')), idle: Number(option('idle', '5')), profile: args.includes('--profile'), blobs: args.includes('--count-blobs'), thumbnails: option('thumbnails', 'cold') });
  }
  out.loadEnd = os.loadavg();
  fs.mkdirSync(path.join(__dirname, 'out'), { recursive: true });
  const file = path.join(__dirname, 'out', `app-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(JSON.stringify({ focus: out.focus?.summary, grid: out.grid?.summary, loadStart: out.loadStart, loadEnd: out.loadEnd }, null, 2));
  console.log(`all samples: ${path.relative(REPO, file)}`);
}

module.exports = { CHROMIUM, CHROMIUM_ARGS, installProbe, pressAndMeasure, summarize, percentile, median, focusDataset, gridDataset, profileSummary };

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
