#!/usr/bin/env node
/**
 * Builds the labeling app into dist/widget/ with esbuild:
 *   labeling-app.js   the AFM (React bundled in): the one file JupyterLab's extension, anywidget and the
 *                     standalone page all load
 *   labeling-app.css  its styles
 *   standalone.js     the page of `quicksort serve`: the AFM `model` over a WebSocket; imports
 *                     ./labeling-app.js at run time, so both hosts run the very same bundle
 *   index.html, standalone.css
 *
 * The sources are type-checked first (widget/tsconfig.json; esbuild itself does not check types).
 *
 * Usage: node widget/build.js [--no-typecheck] [--dev]
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const esbuild = require('esbuild');

const ROOT = path.resolve(__dirname, '..');
const SOURCE = path.join(__dirname, 'src');
const OUT = path.join(ROOT, 'dist', 'widget');
const TARGET = ['chrome110', 'firefox110', 'safari16'];

function typecheck() {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'tsconfig.json')], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`quicksort-widget build: type errors in widget/ (tsc -p widget/tsconfig.json):\n${`${result.stdout}${result.stderr}`.trim()}`);
  }
}

async function build({ dev = false, check = true } = {}) {
  const started = Date.now();
  if (check) typecheck();
  fs.mkdirSync(OUT, { recursive: true });
  const common = {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: TARGET,
    minify: !dev,
    sourcemap: dev ? 'inline' : false,
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
    logLevel: 'warning',
    legalComments: 'eof',
  };
  await Promise.all([
    esbuild.build({ ...common, entryPoints: [path.join(SOURCE, 'index.tsx')], outfile: path.join(OUT, 'labeling-app.js') }),
    // The app bundle is loaded by URL at run time, never bundled into the page script.
    esbuild.build({ ...common, entryPoints: [path.join(SOURCE, 'standalone', 'main.ts')], outfile: path.join(OUT, 'standalone.js') }),
    esbuild.build({ entryPoints: [path.join(__dirname, 'styles', 'app.css')], outfile: path.join(OUT, 'labeling-app.css'), bundle: true, minify: !dev, target: TARGET, logLevel: 'warning' }),
    esbuild.build({ entryPoints: [path.join(SOURCE, 'standalone', 'standalone.css')], outfile: path.join(OUT, 'standalone.css'), bundle: true, minify: !dev, target: TARGET, logLevel: 'warning' }),
  ]);
  fs.copyFileSync(path.join(SOURCE, 'standalone', 'index.html'), path.join(OUT, 'index.html'));
  const bytes = fs.statSync(path.join(OUT, 'labeling-app.js')).size;
  return { out: OUT, bytes, seconds: (Date.now() - started) / 1000 };
}

module.exports = { build, OUT };

if (require.main === module) {
  const args = process.argv.slice(2);
  build({ dev: args.includes('--dev'), check: !args.includes('--no-typecheck') }).then(
    (result) => console.log(`quicksort-widget: built ${path.relative(ROOT, result.out)}/labeling-app.js (${(result.bytes / 1024).toFixed(0)} KiB) in ${result.seconds.toFixed(1)} s`),
    (error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
