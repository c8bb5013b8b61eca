#!/usr/bin/env node
// Start-up of `quicksort serve` and the cost of `quicksort simulate` on a fully labeled dataset (issue 14),
// against a baseline build of the code before the change, measured in the same run.
//
//   npm run build && node bench/serve-startup.js --baseline /tmp/qs-base [--runs 3] [--rankers margin,knn] [--only serve|simulate]
//
// The baseline is a built checkout of another commit (8ed7af6: `git worktree add /tmp/qs-base 8ed7af6 && cd
// /tmp/qs-base && ln -s /work/main/node_modules node_modules && node node_modules/typescript/bin/tsc -p
// tsconfig.build.json && cp -r /work/main/dist/widget dist/`: serve wants the built app). The dataset:
// coco-tiny's train2017 ground truth cut into crops by `quicksort coco import --min-size 11` (631 crops, 80
// classes), embedded by `quicksort embed`, every crop labeled with the class the import suggested
// (ds.labelMany); made once by each build (the store's schema changed since the baseline) and kept in bench/out/.
//
// serve: seconds from spawning `quicksort serve --port 0 --json` to its URL on stdout (it listens), and, in a
// process of its own, from `new SessionHost` until its learner has learned every label (host.ready; the
// baseline's constructor does all that work before it returns). simulate: wall seconds of `quicksort
// simulate --mode one --rankers …` (the baseline random run plus one run per ranker), and seconds per 100 labels.
const { spawn, spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const runs = Number(option('runs', '3'));
const baseline = option('baseline', '/tmp/qs-base');
const rankers = option('rankers', 'margin,knn');
const only = option('only', undefined);
const data = path.resolve(option('data', path.join(__dirname, '..', '..', 'shared', 'data', 'coco-tiny')));
const current = path.join(__dirname, '..');
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function cli(root, argv) {
  const result = spawnSync(process.execPath, [path.join(root, 'bin', 'quicksort.js'), ...argv], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`quicksort ${argv.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** The labeled dataset, made by the build at `root` itself. */
const datasetOf = (root) => path.join(__dirname, 'out', `coco-tiny-train-labeled-${root === current ? 'current' : 'baseline'}`);

async function makeDataset(root) {
  const dataset = datasetOf(root);
  if (existsSync(path.join(dataset, '.quicksort', 'embeddings.db'))) return;
  cli(root, ['coco', 'import', '--annotations', path.join(data, 'annotations', 'instances_train2017.json'), '--images', path.join(data, 'train2017'), '-o', dataset, '--min-size', '11']);
  cli(root, ['embed', '--dataset', dataset]);
  const { Dataset } = require(path.join(root, 'dist', 'dataset'));
  const ds = await Dataset.open(dataset);
  try {
    const entries = [];
    for (const item of ds.store.iterateItems({})) if (item.label) entries.push({ id: item.id, label: item.label });
    ds.labelMany(entries);
  } finally {
    ds.close();
  }
}

/** Seconds until `quicksort serve` prints its URL; then it is stopped with SIGINT. */
function timeToListen(root) {
  const dataset = datasetOf(root);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [path.join(root, 'bin', 'quicksort.js'), 'serve', '--dataset', dataset, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seconds;
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      if (seconds !== undefined || !String(chunk).includes('"url"')) return;
      seconds = Number(process.hrtime.bigint() - started) / 1e9;
      child.kill('SIGINT');
    });
    child.on('exit', (code) => (seconds === undefined ? reject(new Error(`serve exited ${code} before listening: ${stderr}`)) : resolve(seconds)));
  });
}

/** Seconds from `new SessionHost` to a learner that knows every label, in a fresh process. */
function timeToReady(root) {
  const dataset = datasetOf(root);
  const script = `
    const { Dataset } = require(${JSON.stringify(path.join(root, 'dist', 'dataset'))});
    const { loadEmbeddings } = require(${JSON.stringify(path.join(root, 'dist', 'embed'))});
    const { SessionHost } = require(${JSON.stringify(path.join(root, 'dist', 'session'))});
    (async () => {
      const ds = await Dataset.open(${JSON.stringify(dataset)});
      const embeddings = loadEmbeddings(ds.root, { store: ds.store });
      const started = process.hrtime.bigint();
      const host = new SessionHost(ds, { embeddings });
      await host.ready;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (host.learner.labeledCount !== ${631}) throw new Error('learned ' + host.learner.labeledCount + ' labels');
      await host.close();
      ds.close();
      console.log(seconds);
    })();`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: root });
  if (result.status !== 0) throw new Error(`ready in ${root} failed: ${result.stderr}`);
  return Number(result.stdout.trim());
}

function timeSimulate(root) {
  const dataset = datasetOf(root);
  const started = process.hrtime.bigint();
  const report = JSON.parse(cli(root, ['simulate', '--dataset', dataset, '--mode', 'one', '--rankers', rankers, '--out', path.join(__dirname, 'out', `simulation-${path.basename(root)}.svg`), '--json']));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const labels = report.results.reduce((sum, r) => sum + r.labels, 0);
  return { seconds, perHundred: (100 * seconds) / labels, results: report.results };
}

(async () => {
  if (!existsSync(path.join(baseline, 'dist', 'session', 'index.js'))) throw new Error(`no baseline build at ${baseline}; see the comment at the top of bench/serve-startup.js`);
  await makeDataset(baseline);
  await makeDataset(current);
  console.log(`dataset ${datasetOf(current)} (and -baseline); ${runs} run(s) each; baseline ${baseline}`);
  if (only !== 'simulate') {
    const rows = [];
    for (const [name, root] of [['baseline', baseline], ['current', current]]) {
      const listen = [];
      const ready = [];
      for (let run = 0; run < runs; run++) {
        listen.push(await timeToListen(root));
        ready.push(timeToReady(root));
      }
      rows.push({ name, listen: median(listen), ready: median(ready) });
      console.log(`serve ${name}: listening after ${median(listen).toFixed(2)} s (runs ${listen.map((s) => s.toFixed(2)).join(', ')}); learner ready after ${median(ready).toFixed(2)} s (runs ${ready.map((s) => s.toFixed(2)).join(', ')})`);
    }
    console.log(`serve: listens ${(rows[0].listen / rows[1].listen).toFixed(1)}× sooner; learner ready ${(rows[0].ready / rows[1].ready).toFixed(2)}× sooner`);
  }
  if (only !== 'serve') {
    const rows = [];
    for (const [name, root] of [['baseline', baseline], ['current', current]]) {
      const measured = [];
      for (let run = 0; run < runs; run++) measured.push(timeSimulate(root));
      const seconds = median(measured.map((m) => m.seconds));
      const perHundred = median(measured.map((m) => m.perHundred));
      rows.push({ name, seconds, perHundred, results: measured[0].results });
      console.log(`simulate ${name} (${rankers}, one at a time): ${seconds.toFixed(1)} s, ${perHundred.toFixed(2)} s per 100 labels (runs ${measured.map((m) => m.seconds.toFixed(1)).join(', ')})`);
    }
    // Each build cut its own crops (today's import orders and ids them differently), so the results are not
    // compared here: tests/learn/pinned-results.test.ts pins them to the baseline's on the same data.
    console.log(`simulate: ${(rows[0].seconds / rows[1].seconds).toFixed(2)}× faster`);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
