#!/usr/bin/env node
/**
 * Builds the prebuilt JupyterLab extension into jupyterlab/labextension/ (shipped in the package, committed):
 *   1. copies the labeling app's AFM bundle (and CSS) from widget/'s build into extension/lib/,
 *   2. compiles extension/src with the repository's TypeScript into extension/lib/,
 *   3. runs @jupyter/builder against @jupyterlab/core-meta (Module Federation; @jupyter-widgets/base shared as
 *      a singleton, not bundled), which writes labextension/ with `jupyterlab._build` in its package.json,
 *   4. records the digest of its inputs in labextension/build-info.json, so tests can tell a stale build.
 *
 * Usage: node jupyterlab/scripts/build-extension.js [--if-stale] [--check] [--afm FILE] [--css FILE]
 *   --if-stale    what `npm run build` uses: nothing when the shipped build matches its inputs (or there is no
 *                 app bundle to check against); a rebuild when it does not and the JupyterLab toolchain is
 *                 installed (`npm ci --prefix jupyterlab`); else a warning, never a failure — the extension
 *                 ships prebuilt, so a checkout builds without the toolchain
 *   --check       exit 1 when the shipped build does not match its inputs (app bundle, sources, tool versions)
 */
'use strict';

const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const TOOLS = path.resolve(__dirname, '..');
const ROOT = path.resolve(TOOLS, '..');
const EXTENSION = path.join(TOOLS, 'extension');
const OUTPUT = path.join(TOOLS, 'labextension');
const BUILD_INFO = 'build-info.json';

/**
 * Where widget/'s build leaves the app as one ES module (and its CSS), first found wins. The AFM and its CSS
 * are the whole contract between widget/ and this extension.
 */
const APP_CANDIDATES = [
  ['dist/widget/labeling-app.js', 'dist/widget/labeling-app.css'],
  ['dist/widget/index.js', 'dist/widget/index.css'],
  ['widget/dist/labeling-app.js', 'widget/dist/labeling-app.css'],
  ['widget/dist/index.js', 'widget/dist/index.css'],
];

function option(args, name) {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

/** The app bundle and its CSS, or a typed explanation of what to build first. */
function findLabelingApp({ afm, css } = {}) {
  if (afm) return { script: path.resolve(afm), style: css ? path.resolve(css) : undefined };
  for (const [script, style] of APP_CANDIDATES) {
    const file = path.join(ROOT, script);
    if (fs.existsSync(file)) return { script: file, style: fs.existsSync(path.join(ROOT, style)) ? path.join(ROOT, style) : undefined };
  }
  const error = new Error(
    `quicksort-widget build: no labeling app bundle found (looked for ${APP_CANDIDATES.map(([s]) => s).join(', ')}); build the widget first (npm run build in the repository root) or pass --afm FILE`,
  );
  error.code = 'APP_BUNDLE_MISSING';
  throw error;
}

function sourceFiles() {
  const files = [path.join(EXTENSION, 'package.json'), path.join(EXTENSION, 'tsconfig.json'), __filename];
  for (const name of fs.readdirSync(path.join(EXTENSION, 'src')).sort()) files.push(path.join(EXTENSION, 'src', name));
  return files;
}

/**
 * The locked versions of the packages that shape the output (the builder, the core description, the shared
 * widget base), from package-lock.json: other tools in the lockfile (the test bed's) do not make it stale.
 */
function toolVersions() {
  const lock = readJson(path.join(TOOLS, 'package-lock.json')) ?? {};
  const versions = {};
  for (const name of ['@jupyter/builder', '@jupyterlab/core-meta', '@jupyter-widgets/base', '@rspack/core']) versions[name] = lock.packages?.[`node_modules/${name}`]?.version ?? null;
  return versions;
}

/** Digest of everything the build output depends on. */
function inputsDigest(app) {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(toolVersions()));
  for (const file of [...sourceFiles(), app.script, ...(app.style ? [app.style] : [])]) {
    // Paths relative to the repository, so the digest is the same in any checkout.
    hash.update(path.relative(ROOT, file).split(path.sep).join('/')).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The shipped build, if any: its package.json (with `jupyterlab._build`) and build info. */
function shippedBuild() {
  const manifest = readJson(path.join(OUTPUT, 'package.json'));
  if (!manifest?.jupyterlab?._build) return undefined;
  return { manifest, info: readJson(path.join(OUTPUT, BUILD_INFO)) };
}

function run(command, args, what) {
  const result = spawnSync(command, args, { cwd: TOOLS, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`quicksort-widget build: ${what} failed (exit ${result.status}):\n${`${result.stdout}\n${result.stderr}`.trim().slice(-6000)}`);
  }
  return result;
}

/** Builds labextension/; returns what it did. */
function buildExtension({ afm, css } = {}) {
  if (!fs.existsSync(path.join(TOOLS, 'node_modules', '@jupyter', 'builder'))) {
    throw new Error('quicksort-widget build: the JupyterLab build tools are missing; run `npm ci --prefix jupyterlab` in the repository root first');
  }
  const app = findLabelingApp({ afm, css });
  const lib = path.join(EXTENSION, 'lib');
  fs.rmSync(lib, { recursive: true, force: true });
  fs.mkdirSync(lib, { recursive: true });
  fs.copyFileSync(app.script, path.join(lib, 'labeling-app.js'));
  const style = app.style ? fs.readFileSync(app.style, 'utf8') : '';
  fs.writeFileSync(path.join(lib, 'labeling-app-css.js'), `// Generated from ${path.relative(ROOT, app.style ?? 'no CSS file')}.\nexport const LABELING_APP_CSS = ${JSON.stringify(style)};\n`);

  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  run(process.execPath, [tsc, '-p', path.join(EXTENSION, 'tsconfig.json')], 'compiling extension/src');

  const builder = require.resolve('@jupyter/builder/lib/build-labextension.js', { paths: [TOOLS] });
  const core = require.resolve('@jupyterlab/core-meta/core.package.json', { paths: [TOOLS] });
  run(process.execPath, [builder, '--core-package-file', core, EXTENSION], '@jupyter/builder');

  const manifest = readJson(path.join(OUTPUT, 'package.json'));
  if (!manifest?.jupyterlab?._build) throw new Error(`quicksort-widget build: ${OUTPUT}/package.json has no jupyterlab._build after the build`);
  const info = {
    digest: inputsDigest(app),
    app: path.relative(ROOT, app.script),
    appBytes: fs.statSync(app.script).size,
    builder: readJson(require.resolve('@jupyter/builder/package.json', { paths: [TOOLS] })).version,
    coreMeta: readJson(require.resolve('@jupyterlab/core-meta/package.json', { paths: [TOOLS] })).version,
  };
  fs.writeFileSync(path.join(OUTPUT, BUILD_INFO), `${JSON.stringify(info, null, 2)}\n`);
  return { built: true, output: OUTPUT, ...info };
}

/** Whether the shipped build matches its inputs now. */
function checkBuild(options = {}) {
  const shipped = shippedBuild();
  if (!shipped) return { upToDate: false, reason: `no built extension in ${OUTPUT}` };
  let app;
  try {
    app = findLabelingApp(options);
  } catch (error) {
    return { upToDate: false, reason: error.message };
  }
  const digest = inputsDigest(app);
  if (shipped.info?.digest !== digest) {
    return { upToDate: false, reason: `the shipped extension was built from other inputs (app ${shipped.info?.app ?? '?'}); rebuild with node jupyterlab/scripts/build-extension.js` };
  }
  return { upToDate: true };
}

function main() {
  const args = process.argv.slice(2);
  const options = { afm: option(args, '--afm'), css: option(args, '--css') };
  if (args.includes('--check')) {
    const result = checkBuild(options);
    console.log(result.upToDate ? 'quicksort-widget: the shipped JupyterLab extension is up to date' : `quicksort-widget: ${result.reason}`);
    process.exit(result.upToDate ? 0 : 1);
  }
  if (args.includes('--if-stale') && shippedBuild()) {
    const state = checkBuild(options);
    const toolsInstalled = fs.existsSync(path.join(TOOLS, 'node_modules', '@jupyter', 'builder'));
    let appFound = true;
    try {
      findLabelingApp(options);
    } catch {
      appFound = false;
    }
    if (state.upToDate || !appFound) {
      console.log(`quicksort-widget: using the prebuilt JupyterLab extension in ${path.relative(ROOT, OUTPUT)}${appFound ? '' : ' (no app bundle built to compare with)'}`);
      return;
    }
    if (!toolsInstalled) {
      console.warn(`quicksort-widget: WARNING ${state.reason}; the JupyterLab toolchain is not installed, so the shipped extension was kept (npm ci --prefix jupyterlab, then npm run build)`);
      return;
    }
  }
  const started = Date.now();
  const result = buildExtension(options);
  console.log(`quicksort-widget: built the JupyterLab extension in ${path.relative(ROOT, OUTPUT)} from ${result.app} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

module.exports = { buildExtension, checkBuild, findLabelingApp, shippedBuild, OUTPUT };

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
