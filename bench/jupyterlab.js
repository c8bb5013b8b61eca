#!/usr/bin/env node
// Keypress → next image painted, inside a notebook in JupyterLab against the same app standalone
// (`quicksort serve`), in the same run.
//
// Notebook: the JupyterLab 4.6 test bed (jupyterlab/test-bed, built from npm, Debian's jupyter-server), our
// kernel and prebuilt extension installed by `quicksort jupyter install --prefix`, one cell:
// `ds.widget({ embeddings: false, imagePrefetch })` — the app talks to the engine in the kernel through
// widget comm messages (browser → jupyter-server websocket → ZeroMQ → kernel, and back).
// Standalone: `quicksort serve` (startServer from dist/server, the same app bundle: the extension carries
// dist/widget/labeling-app.js) with `?prefetch=` on its URL — the app talks to the engine over a WebSocket.
// Both on copies of one dataset (bench/app.js's: 320 varied photos cut from coco-tiny, ingested, three
// classes; no embeddings, so both queues go in id order and the engine does the same work), in one headless
// Chromium, 1280×900.
//
// Configurations, each on a fresh copy of the dataset and a fresh page: the app's image prefetch on (4 ahead,
// the default) and off (every image asked for when its item comes up: each label pays one image request
// through the transport, so notebook − standalone with prefetch off is what the comm path costs per round
// trip, seen from the page), at a human pace (`--pace` ms between keys, default 300), and prefetch on back to
// back (the next key as soon as the image showed). Order alternated run to run.
//
// Measured in the page with bench/app.js's probe (installProbe): from the keydown event's timeStamp to
//   - next paint: the first animation frame after the new image is in the DOM and decoded, then a task posted
//     from that frame's rAF callback (runs once that frame is painted) — the headline;
//   - two frames: the rAF after that (the method this bench first used; one frame more by construction).
// Per configuration: p50 and p95 over `--labels` labels (after `--warmup`); reported: the median over runs.
//
//   npm run build && npm ci --prefix jupyterlab && node bench/jupyterlab.js [--runs 3] [--labels 200] [--pace 300]
//        [--configs on@300,off@300,on@0] [--profile]
//
// Results, with the machine, go to bench/results/jupyterlab.md.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { CHROMIUM, CHROMIUM_ARGS, installProbe, pressAndMeasure, summarize, median, focusDataset, profileSummary } = require('./app');

const REPO = path.join(__dirname, '..');
const TOOLS = path.join(REPO, 'jupyterlab');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const runs = Number(option('runs', '3'));
const labels = Number(option('labels', '200'));
const warmup = Number(option('warmup', '5'));
const pace = Number(option('pace', '300'));
const items = Number(option('items', '320'));
const KEYS = ['1', '2', '3'];
const CONFIGS = [
  { host: 'notebook', prefetch: true, pace },
  { host: 'standalone', prefetch: true, pace },
  { host: 'notebook', prefetch: false, pace },
  { host: 'standalone', prefetch: false, pace },
  { host: 'notebook', prefetch: true, pace: 0 },
  { host: 'standalone', prefetch: true, pace: 0 },
];
const keyOf = (c) => `${c.host} ${c.prefetch ? 'on' : 'off'}@${c.pace}`;
// --configs on@300,off@300: only these (both hosts), for a quick look.
const only = option('configs', null)?.split(',');
// --profile: a CDP CPU profile of the page while labeling (heaviest functions in the JSON); diagnostics only.
const profile = args.includes('--profile');
if (only) CONFIGS.splice(0, CONFIGS.length, ...CONFIGS.filter((c) => only.includes(keyOf(c).split(' ')[1])));

/** The app bundle the extension was built from must be the one `quicksort serve` serves. */
function checkSameApp() {
  const info = JSON.parse(fs.readFileSync(path.join(TOOLS, 'labextension', 'build-info.json'), 'utf8'));
  const served = path.join(REPO, 'dist', 'widget', 'labeling-app.js');
  const bytes = fs.statSync(served).size;
  if (path.resolve(REPO, info.app) !== served || info.appBytes !== bytes) {
    throw new Error(`the JupyterLab extension was built from ${info.app} (${info.appBytes} bytes), quicksort serve serves ${served} (${bytes} bytes): run npm run build`);
  }
  return { app: info.app, bytes, sha256: crypto.createHash('sha256').update(fs.readFileSync(served)).digest('hex').slice(0, 12) };
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
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    try {
      if ((await fetch(`${url}/api/status?token=${token}`)).ok) break;
    } catch {
      // not yet
    }
    if (child.exitCode !== null) throw new Error(`the test-bed server exited (${child.exitCode})`);
    if (tries > 150) throw new Error('the test-bed server did not start');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    token,
    notebooks,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A copy of the cached dataset folder (images and the ingested store with its classes). */
function copyDataset(dataset, to) {
  fs.cpSync(dataset.dir, to, { recursive: true });
  return to;
}

function writeNotebook(file, dataset, prefetch) {
  const source = [
    'import { QuickSort } from "quicksort";',
    `const ds = await QuickSort.open(${JSON.stringify(dataset)});`,
    `ds.widget({ embeddings: false, imagePrefetch: ${prefetch ? 4 : 0} })`,
  ].join('\n');
  const notebook = {
    cells: [{ cell_type: 'code', id: 'bench', execution_count: null, metadata: {}, outputs: [], source }],
    metadata: { kernelspec: { name: 'quicksort', display_name: 'TypeScript (QuickSort)', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  fs.writeFileSync(file, JSON.stringify(notebook));
}

/** Ready to label: the first image shown, the classes' keys there, the keyboard in the app; then a second. */
async function measureApp(page, root, config) {
  await page.locator(`${root} .qs-stage-holder img`).first().waitFor({ timeout: 120000 });
  await page.locator(`${root} .qs-class-key`).nth(KEYS.length - 1).waitFor({ timeout: 60000 });
  await page.locator(`${root} .qs-app`).first().focus();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await page.evaluate(installProbe, { rootSelector: root, imageSelector: '.qs-stage-holder img', floorKeys: [] });
  const session = profile ? await page.context().newCDPSession(page) : undefined;
  if (session) {
    await session.send('Profiler.enable');
    await session.send('Profiler.setSamplingInterval', { interval: 200 });
    await session.send('Profiler.start');
  }
  const result = summarize(await pressAndMeasure(page, { keys: KEYS, count: labels, pace: config.pace, warmup }));
  if (session) result.profile = profileSummary((await session.send('Profiler.stop')).profile, 40);
  return result;
}

async function notebookOnce(browser, lab, dataset, config, name) {
  const data = copyDataset(dataset, path.join(lab.notebooks, `${name}-data`));
  writeNotebook(path.join(lab.notebooks, `${name}.ipynb`), data, config.prefetch);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(`${lab.url}/lab/workspaces/${name}/tree/${name}.ipynb?token=${lab.token}`);
    await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle', null, { timeout: 120000 });
    await page.locator('.jp-Notebook .jp-Cell .jp-InputPrompt').first().click();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+Enter');
    const result = await measureApp(page, '.jp-OutputArea .quicksort-widget', config);
    // Shut the kernel down with the page, so the next configuration's kernel has the machine to itself.
    await page.evaluate(() => window.jupyterapp.shell.currentWidget?.sessionContext?.shutdown()).catch(() => undefined);
    return result;
  } finally {
    await context.close();
    fs.rmSync(data, { recursive: true, force: true });
  }
}

async function standaloneOnce(browser, dataset, config, root) {
  const { startServer } = require('../dist/server');
  const data = copyDataset(dataset, path.join(root, 'standalone-data'));
  const server = await startServer({ dataset: data, port: 0, embeddings: false });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}&prefetch=${config.prefetch ? 4 : 0}`);
    return await measureApp(page, '#app', config);
  } finally {
    await context.close();
    await server.close();
    fs.rmSync(data, { recursive: true, force: true });
  }
}

const f = (v) => v.toFixed(1);

async function main() {
  const app = checkSameApp();
  const dataset = await focusDataset(items);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const perRun = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), `quicksort-bench-lab-${run}-`));
      const lab = await startLab(root);
      const results = {};
      try {
        const order = run % 2 === 1 ? CONFIGS : [...CONFIGS].reverse();
        for (const [index, config] of order.entries()) {
          const result = config.host === 'notebook' ? await notebookOnce(browser, lab, dataset, config, `bench-${run}-${index}`) : await standaloneOnce(browser, dataset, config, root);
          results[keyOf(config)] = result;
          console.log(
            `run ${run} ${keyOf(config).padEnd(20)} next paint p50 ${f(result.painted.p50)} p95 ${f(result.painted.p95)} ms | two frames p50 ${f(result.twoFrames.p50)} p95 ${f(result.twoFrames.p95)} | input delay p95 ${f(result.handler.p95)} | frame work p50 ${f(result.frameWork.p50)} p95 ${f(result.frameWork.p95)} | in DOM p50 ${f(result.dom.p50)} p95 ${f(result.dom.p95)} | ${(100 * result.nextFrame).toFixed(0)}% in the first frame after the key, p95 ${result.framesLateP95} frames late | load ${os.loadavg()[0].toFixed(2)}`,
          );
        }
      } finally {
        await lab.stop();
        fs.rmSync(root, { recursive: true, force: true });
      }
      perRun.push(results);
    }
  } finally {
    await browser.close();
  }
  const summary = {};
  for (const config of CONFIGS) {
    const key = keyOf(config);
    const pick = (measure, stat) => median(perRun.map((r) => r[key][measure][stat]));
    summary[key] = { painted: { p50: pick('painted', 'p50'), p95: pick('painted', 'p95') }, twoFrames: { p50: pick('twoFrames', 'p50'), p95: pick('twoFrames', 'p95') }, dom: { p50: pick('dom', 'p50'), p95: pick('dom', 'p95') }, frameWork: { p50: pick('frameWork', 'p50'), p95: pick('frameWork', 'p95') }, nextFrame: median(perRun.map((r) => r[key].nextFrame)), framesLateP95: median(perRun.map((r) => r[key].framesLateP95)) };
  }
  const ratio = (a, b, measure, stat) => median(perRun.map((r) => r[a][measure][stat] / r[b][measure][stat]));
  const diff = (a, b, measure, stat) => median(perRun.map((r) => r[a][measure][stat] - r[b][measure][stat]));
  const vs = {};
  for (const config of CONFIGS.filter((c) => c.host === 'notebook')) {
    const nb = keyOf(config);
    const sa = keyOf({ ...config, host: 'standalone' });
    vs[nb.replace('notebook ', '')] = {
      p50Ratio: ratio(nb, sa, 'painted', 'p50'),
      p95Ratio: ratio(nb, sa, 'painted', 'p95'),
      p50Diff: diff(nb, sa, 'painted', 'p50'),
      p95Diff: diff(nb, sa, 'painted', 'p95'),
    };
  }
  const out = { app, labels, warmup, runs, items, pace, node: process.version, cpus: os.cpus().length, load: os.loadavg(), summary, notebookVsStandalone: vs, perRun };
  fs.mkdirSync(path.join(__dirname, 'out'), { recursive: true });
  const file = path.join(__dirname, 'out', `jupyterlab-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(JSON.stringify({ summary, notebookVsStandalone: vs, load: out.load }, null, 2));
  console.log(`all samples: ${path.relative(REPO, file)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
