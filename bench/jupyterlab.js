#!/usr/bin/env node
// Keypress → next image painted, inside a notebook in JupyterLab against the standalone app, in the same run.
//
// Notebook: the JupyterLab 4.6 test bed (jupyterlab/test-bed, built from npm, Debian's jupyter-server), our
// kernel and prebuilt extension installed by `quicksort jupyter install --prefix`, a cell showing ds.widget().
// Standalone: the same app bundle in a plain page over a WebSocket to the same engine (bench/jupyterlab-
// standalone.js). Both in one headless Chromium, on copies of one generated dataset (no embeddings, so both
// queues are in id order and the engine does the same work).
//
// Measured in the page: from the keydown event's timestamp (the real key, sent by the browser's input
// pipeline) to the second animation frame after the next image has decoded in the app (the frame that shows
// it), for `--labels` sequential labels, each waiting for its image. p50 and p95 per run; the reported figure
// is the median of the runs.
//
//   npm run build && npm ci --prefix jupyterlab && node bench/jupyterlab.js [--runs 3] [--labels 200] [--items 240]
//
// Results, with the machine, go to bench/results/jupyterlab.md.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');
const { chromium } = require('playwright-core');
const { startStandalone } = require('./jupyterlab-standalone');

const REPO = path.join(__dirname, '..');
const TOOLS = path.join(REPO, 'jupyterlab');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const runs = Number(option('runs', '3'));
const labels = Number(option('labels', '200'));
const items = Number(option('items', String(labels + 40)));
const CLASSES = ['one', 'two', 'three'];
const KEYS = ['1', '2', '3'];

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};
const median = (values) => percentile(values, 50);

/** The app the extension carries, for the standalone page: the same bundle (build-info.json names it). */
function appSource() {
  const info = JSON.parse(fs.readFileSync(path.join(TOOLS, 'labextension', 'build-info.json'), 'utf8'));
  const script = path.join(REPO, info.app);
  const style = script.replace(/\.js$/, '.css');
  return { name: info.app, esm: fs.readFileSync(script, 'utf8'), css: fs.existsSync(style) ? fs.readFileSync(style, 'utf8') : '' };
}

/** `count` distinct 320×240 JPEGs (noise), like small photos. */
async function makeImages(dir, count) {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const pixels = Buffer.alloc(320 * 240 * 3);
    let seed = i + 1;
    for (let j = 0; j < pixels.length; j++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      pixels[j] = seed >> 23;
    }
    await sharp(pixels, { raw: { width: 320, height: 240, channels: 3 } }).jpeg({ quality: 85 }).toFile(path.join(dir, `image-${String(i).padStart(4, '0')}.jpg`));
  }
}

async function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Builds (or reuses) the test bed and starts it with our kernel and extension installed in a temp prefix. */
async function startLab(root) {
  const build = spawnSync(process.execPath, [path.join(TOOLS, 'test-bed', 'build-host.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (build.status !== 0) throw new Error(`building the test bed failed: ${build.stdout}`);
  const out = path.join(TOOLS, 'test-bed', 'build');
  const prefix = path.join(root, 'prefix');
  const notebooks = path.join(root, 'notebooks');
  const dirs = { JUPYTER_DATA_DIR: path.join(root, 'data'), JUPYTER_CONFIG_DIR: path.join(root, 'config'), JUPYTER_RUNTIME_DIR: path.join(root, 'runtime') };
  for (const dir of [...Object.values(dirs), notebooks]) fs.mkdirSync(dir, { recursive: true });
  const env = { ...process.env, ...dirs, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTER_PLATFORM_DIRS: '0', PYTHONWARNINGS: 'ignore' };
  const installed = spawnSync(process.execPath, [path.join(REPO, 'bin', 'quicksort.js'), 'jupyter', 'install', '--prefix', prefix], { encoding: 'utf8', env });
  if (installed.status !== 0) throw new Error(`quicksort jupyter install failed: ${installed.stderr}`);
  fs.cpSync(path.join(out, 'labextensions'), path.join(prefix, 'share', 'jupyter', 'labextensions'), { recursive: true });
  const port = await freePort();
  const token = 'bench';
  const child = spawn('/usr/bin/python3', [path.join(TOOLS, 'test-bed', 'serve.py'), `--lab-dir=${path.join(out, 'lab')}`, '--ServerApp.ip=127.0.0.1', `--ServerApp.port=${port}`, '--ServerApp.port_retries=0', `--ServerApp.token=${token}`, '--ServerApp.allow_root=True', '--ServerApp.open_browser=False', `--ServerApp.root_dir=${notebooks}`], { env, cwd: notebooks, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    try {
      if ((await fetch(`${url}/api/status?token=${token}`)).ok) break;
    } catch {
      // not yet
    }
    if (tries > 150) throw new Error('the test-bed server did not start');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, token, notebooks, stop: () => child.kill('SIGTERM') };
}

function writeNotebook(file, dataset) {
  const source = [
    'import { QuickSort } from "quicksort";',
    `const ds = await QuickSort.open(${JSON.stringify(dataset)});`,
    'await ds.ingest();',
    `for (const name of ${JSON.stringify(CLASSES)}) ds.addClass(name);`,
    'ds.widget({ embeddings: false })',
  ].join('\n');
  const notebook = {
    cells: [{ cell_type: 'code', id: 'bench', execution_count: null, metadata: {}, outputs: [], source }],
    metadata: { kernelspec: { name: 'quicksort', display_name: 'TypeScript (QuickSort)', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  fs.writeFileSync(file, JSON.stringify(notebook));
}

/**
 * In the page: keydown (capture, on window) → the next <img> inside the app whose source changes has decoded
 * → two animation frames (the second runs once the frame showing it was produced). One sample per key.
 */
function instrument(selector) {
  const root = document.querySelector(selector);
  const samples = [];
  let started = null;
  window.addEventListener('keydown', (event) => {
    if (root.contains(event.target)) started = event.timeStamp;
  }, true);
  const onImage = (img) => {
    if (started === null) return;
    const start = started;
    started = null;
    const painted = () => requestAnimationFrame(() => requestAnimationFrame(() => samples.push(performance.now() - start)));
    (img.decode ? img.decode() : Promise.resolve()).then(painted, painted);
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
}

async function measure(page, selector) {
  await page.evaluate(instrument, selector);
  const target = page.locator(`${selector} [tabindex]`).first();
  await ((await target.count()) > 0 ? target : page.locator(selector).first()).click();
  for (let i = 0; i < labels; i++) {
    await page.keyboard.press(KEYS[i % KEYS.length]);
    await page.waitForFunction((n) => window.benchSamples.length >= n, i + 1, { timeout: 30000, polling: 'raf' });
  }
  const samples = await page.evaluate(() => window.benchSamples);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), n: samples.length };
}

async function oneRun(run, images, app, browser) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `quicksort-bench-lab-${run}-`));
  const lab = await startLab(root);
  let standalone;
  try {
    // Notebook.
    const notebookData = path.join(root, 'notebook-images');
    fs.cpSync(images, notebookData, { recursive: true });
    writeNotebook(path.join(lab.notebooks, 'bench.ipynb'), notebookData);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${lab.url}/lab/workspaces/bench-${run}/tree/bench.ipynb?token=${lab.token}`);
    await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle', null, { timeout: 120000 });
    await page.locator('.jp-Notebook .jp-Cell .jp-InputPrompt').first().click();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+Enter');
    const widget = '.jp-OutputArea .quicksort-widget';
    await page.locator(`${widget} img`).first().waitFor({ timeout: 120000 });
    const notebook = await measure(page, widget);
    await page.close();

    // Standalone, same app bundle, same engine.
    const { Dataset } = require('../dist/dataset');
    const standaloneData = path.join(root, 'standalone-images');
    fs.cpSync(images, standaloneData, { recursive: true });
    const ds = await Dataset.open(standaloneData);
    await ds.ingest();
    for (const name of CLASSES) ds.addClass(name);
    standalone = await startStandalone({ dataset: ds, esm: app.esm, css: app.css });
    const plain = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await plain.goto(standalone.url);
    await plain.locator('#app img').first().waitFor({ timeout: 60000 });
    const alone = await measure(plain, '#app');
    await plain.close();
    await standalone.close();
    ds.close();
    return { notebook, standalone: alone };
  } finally {
    lab.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function main() {
  const app = appSource();
  const images = fs.mkdtempSync(path.join(os.tmpdir(), 'quicksort-bench-images-'));
  await makeImages(images, items);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const results = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const result = await oneRun(run, images, app, browser);
      results.push(result);
      console.log(`run ${run}: notebook p50 ${result.notebook.p50.toFixed(1)} ms, p95 ${result.notebook.p95.toFixed(1)} ms | standalone p50 ${result.standalone.p50.toFixed(1)} ms, p95 ${result.standalone.p95.toFixed(1)} ms (${result.notebook.n} labels each)`);
    }
  } finally {
    await browser.close();
    fs.rmSync(images, { recursive: true, force: true });
  }
  const pick = (side, key) => results.map((r) => r[side][key]);
  const summary = {
    app: app.name,
    labels,
    runs,
    notebook: { p50: median(pick('notebook', 'p50')), p95: median(pick('notebook', 'p95')), perRun: results.map((r) => r.notebook) },
    standalone: { p50: median(pick('standalone', 'p50')), p95: median(pick('standalone', 'p95')), perRun: results.map((r) => r.standalone) },
    load: os.loadavg(),
  };
  console.log(JSON.stringify(summary, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
