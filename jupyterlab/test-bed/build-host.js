#!/usr/bin/env node
/**
 * Builds the test-bed JupyterLab: a JupyterLab 4.6 application assembled from npm alone, the way an installed
 * JupyterLab is built (rspack with Module Federation, so it loads prebuilt "federated" extensions from a
 * labextensions folder at run time), plus the widget manager (@jupyter-widgets/jupyterlab-manager, what
 * `pip install jupyterlab_widgets` puts in labextensions) built as a prebuilt extension from its npm package.
 *
 * Output (BUILD below), laid out like an installed JupyterLab's `share/jupyter`:
 *   lab/static      the application (index.html is also the server's template), static/package.json
 *   lab/schemas     plugin settings schemas       lab/themes   theme CSS
 *   lab/settings    page_config.json and overrides.json for the test bed
 *   labextensions/@jupyter-widgets/jupyterlab-manager   the widget manager, prebuilt
 *
 * Skips the build when `stamp.json` records the same inputs (lockfile, this recipe). Checked facts behind
 * the recipe: /work/shared/notes/jupyterlab-testbed.md; the shape follows jupyterlab/staging (4.6.x).
 *
 * Usage: node jupyterlab/test-bed/build-host.js [--force] [--out DIR]
 */
'use strict';

const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const TOOLS = path.resolve(__dirname, '..');
const RECIPE = __dirname;

async function main() {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const out = outIndex >= 0 ? path.resolve(args[outIndex + 1]) : path.join(RECIPE, 'build');
  const started = Date.now();
  const result = await buildHost({ out, force: args.includes('--force') });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(result.skipped ? `test-bed JupyterLab is up to date in ${out}` : `built the test-bed JupyterLab in ${out} (${seconds} s)`);
}

/** Everything the build depends on: when this changes, the build is redone. */
function inputsDigest() {
  const hash = createHash('sha256');
  for (const file of [path.join(TOOLS, 'package-lock.json'), ...fs.readdirSync(RECIPE).filter((f) => /\.(js|py|json|html)$/.test(f)).sort().map((f) => path.join(RECIPE, f))]) {
    hash.update(file.slice(TOOLS.length)).update(fs.readFileSync(file));
  }
  hash.update(process.version.split('.')[0]);
  return hash.digest('hex');
}

/**
 * Builds (or finds up to date) the host and the widget manager in `out`.
 * @returns {Promise<{ out: string, skipped: boolean, lab: string, labextensions: string }>}
 */
async function buildHost({ out, force = false }) {
  requireTools();
  const digest = inputsDigest();
  const stampFile = path.join(out, 'stamp.json');
  const paths = { out, lab: path.join(out, 'lab'), labextensions: path.join(out, 'labextensions') };
  if (!force && readJson(stampFile)?.digest === digest && fs.existsSync(path.join(paths.lab, 'static', 'index.html'))) {
    return { ...paths, skipped: true };
  }
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const timings = {};
  let mark = Date.now();
  buildWidgetManager(out, paths.labextensions);
  buildAnywidget(out, paths.labextensions);
  timings.prebuiltExtensionsSeconds = (Date.now() - mark) / 1000;
  mark = Date.now();
  await buildApplication(out, paths.lab);
  timings.applicationSeconds = (Date.now() - mark) / 1000;
  writeSettings(paths.lab);
  fs.writeFileSync(stampFile, `${JSON.stringify({ digest, builtAt: new Date().toISOString(), ...timings }, null, 2)}\n`);
  return { ...paths, skipped: false };
}

function requireTools() {
  if (!fs.existsSync(path.join(TOOLS, 'node_modules', '@jupyter', 'builder'))) {
    throw new Error(`quicksort test bed: the JupyterLab build tools are not installed in ${path.join(TOOLS, 'node_modules')}; run \`npm ci --prefix jupyterlab\` in the repository root`);
  }
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

const resolveTool = (request) => require.resolve(request, { paths: [TOOLS] });
const toolPackage = (name) => readJson(resolveTool(`${name}/package.json`));
const installedVersion = (name) => {
  try {
    return toolPackage(name).version;
  } catch {
    return undefined;
  }
};

/** The core description JupyterLab's extension builds and the application share: @jupyterlab/core-meta. */
function corePackage() {
  return readJson(resolveTool('@jupyterlab/core-meta/core.package.json'));
}

/**
 * The widget manager as published on npm carries its compiled lib/ and schema/, and the `jupyterlab` metadata
 * of a prebuilt extension whose outputDir points into its Python package. Built from a copy (inside TOOLS, so
 * its dependencies resolve from TOOLS/node_modules) with outputDir pointing here.
 */
function buildWidgetManager(out, labextensions) {
  const source = path.dirname(resolveTool('@jupyter-widgets/jupyterlab-manager/package.json'));
  const copy = path.join(out, 'src', 'jupyterlab-manager');
  fs.cpSync(source, copy, { recursive: true, filter: (file) => !path.relative(source, file).split(path.sep).includes('node_modules') });
  const manifest = readJson(path.join(copy, 'package.json'));
  const target = path.join(labextensions, ...manifest.name.split('/'));
  manifest.jupyterlab.outputDir = path.relative(copy, target);
  fs.writeFileSync(path.join(copy, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  runBuilder(copy);
  if (!readJson(path.join(target, 'package.json'))?.jupyterlab?._build) {
    throw new Error(`quicksort test bed: building ${manifest.name} wrote no jupyterlab._build in ${target}/package.json`);
  }
}

/**
 * anywidget's front end as published on npm (anywidget 0.11.0: dist/index.js, an AMD module
 * `define(["@jupyter-widgets/base"], factory)` returning { AnyModel, AnyView }), made into the prebuilt
 * extension `pip install anywidget` provides: a plugin registering module "anywidget" at its version, as
 * anywidget's own packages/anywidget/src/plugin.js does. It lets the test bed render `frontEnd: "anywidget"`
 * widgets with anywidget's real model and view.
 */
function buildAnywidget(out, labextensions) {
  // anywidget's exports do not include ./package.json: read it beside its resolved entry.
  const version = readJson(path.join(path.dirname(resolveTool('anywidget')), '..', 'package.json')).version;
  const dir = path.join(out, 'src', 'anywidget-extension');
  fs.mkdirSync(dir, { recursive: true });
  const manifest = {
    name: 'anywidget',
    version,
    private: true,
    main: 'plugin.js',
    // Not `anywidget` itself: an extension's own name is shared as the extension module, so the published
    // front end is imported by its file below.
    dependencies: { '@jupyter-widgets/base': '^6.0.0' },
    jupyterlab: {
      extension: true,
      outputDir: path.relative(dir, path.join(labextensions, 'anywidget')),
      sharedPackages: { '@jupyter-widgets/base': { bundled: false, singleton: true } },
    },
  };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // The published dist/index.js is anywidget's AMD build (for the classic notebook): as an ES module it calls a
  // global `define(deps, factory)`. A module evaluated first captures the factory, which the plugin then calls
  // with the shared @jupyter-widgets/base, as the AMD loader would.
  fs.writeFileSync(path.join(dir, 'define-shim.js'), 'globalThis.define = (deps, factory) => { globalThis.__anywidgetFactory = factory; };\n');
  fs.writeFileSync(
    path.join(dir, 'plugin.js'),
    `import './define-shim.js';
import ${JSON.stringify(resolveTool('anywidget'))};
import * as base from '@jupyter-widgets/base';

const factory = globalThis.__anywidgetFactory;
delete globalThis.define;
delete globalThis.__anywidgetFactory;
if (typeof factory !== 'function') throw new Error('test bed: anywidget did not call define(deps, factory)');
const widgets = factory(base);

export default {
  id: 'anywidget:plugin',
  requires: [base.IJupyterWidgetRegistry],
  autoStart: true,
  activate: (app, registry) => registry.registerWidget({ name: 'anywidget', version: ${JSON.stringify(version)}, exports: widgets }),
};
`,
  );
  runBuilder(dir);
}

/** Runs @jupyter/builder's extension build (it has no bin) on a package folder, against core-meta. */
function runBuilder(packageDir) {
  const builder = resolveTool('@jupyter/builder/lib/build-labextension.js');
  const result = spawnSync(process.execPath, [builder, '--core-package-file', resolveTool('@jupyterlab/core-meta/core.package.json'), packageDir], {
    cwd: TOOLS,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`quicksort test bed: @jupyter/builder failed on ${packageDir} (exit ${result.status}):\n${(result.stderr || '').slice(-4000)}\n${(result.stdout || '').slice(-4000)}`);
  }
  return result;
}

/**
 * The application: every core extension of core-meta bundled, shared through Module Federation so prebuilt
 * extensions found at run time use the same singletons (React, Lumino, @jupyterlab/*) as the host.
 */
async function buildApplication(out, lab) {
  const rspack = require(resolveTool('@rspack/core'));
  const { merge } = require(resolveTool('webpack-merge'));
  const baseConfig = require(resolveTool('@jupyter/builder/lib/webpack.config.base'));
  const { Build } = require(resolveTool('@jupyter/builder'));
  const core = corePackage();
  const { extensions, mimeExtensions, singletonPackages } = core.jupyterlab;
  const extensionPackages = [...new Set([...Object.keys(extensions), ...Object.keys(mimeExtensions)])];

  const src = path.join(out, 'src');
  const staticDir = path.join(lab, 'static');
  fs.mkdirSync(src, { recursive: true });
  fs.mkdirSync(staticDir, { recursive: true });

  // Schemas and themes of the core extensions, and style.js (the CSS of every extension), as JupyterLab's
  // own build lays them out: lab/schemas/<package>/…, lab/themes/<package>/index.css.
  const themeConfigs = Build.ensureAssets({ packageNames: extensionPackages, output: src, schemaOutput: lab, themeOutput: lab });

  fs.writeFileSync(path.join(src, 'app.js'), applicationSource(extensions, mimeExtensions));
  fs.copyFileSync(path.join(RECIPE, 'bootstrap.js'), path.join(src, 'bootstrap.js'));

  // Shared modules: every pinned core package (resolutions) and every extension package with its
  // dependencies; singletons marked — what JupyterLab's application build shares.
  const shared = {};
  // core-meta 4.6.4's resolutions lag the 4.6.6 packages npm installs for its ~4.6.4 ranges (ui-components
  // 4.6.6 moved to @jupyter/react-components 0.17): share what is installed, as a release build would.
  const semver = require(resolveTool('semver'));
  for (const [name, range] of Object.entries(core.resolutions)) {
    const installed = installedVersion(name);
    shared[name] = { requiredVersion: installed && !semver.satisfies(installed, range, { includePrerelease: true }) ? `^${installed}` : range };
  }
  for (const name of extensionPackages) {
    const manifest = toolPackage(name);
    shared[name] ??= { requiredVersion: manifest.version };
    for (const [dependency, requiredVersion] of Object.entries(manifest.dependencies ?? {})) shared[dependency] ??= { requiredVersion };
  }
  for (const name of singletonPackages) (shared[name] ??= {}).singleton = true;

  const appConfig = merge(baseConfig, {
    mode: 'development',
    devtool: false,
    context: TOOLS,
    entry: { main: path.join(src, 'bootstrap.js') },
    output: {
      path: staticDir,
      // The server renders index.html as a Jinja template: script URLs come out under its static URL.
      publicPath: '{{page_config.fullStaticUrl}}/',
      filename: '[name].[contenthash].js',
      chunkFilename: '[name].[contenthash].js',
      clean: false,
    },
    resolve: { modules: [path.join(TOOLS, 'node_modules'), 'node_modules'] },
    optimization: {
      splitChunks: { chunks: 'all', cacheGroups: { jlab_core: { test: /[\\/]node_modules[\\/]@(jupyterlab|lumino(?!\/datagrid))[\\/]/, name: 'jlab_core' } } },
    },
    externals: ['ws'],
    infrastructureLogging: { level: 'error' },
    stats: 'errors-warnings',
    plugins: [
      new rspack.HtmlRspackPlugin({ template: path.join(RECIPE, 'index.html'), filename: 'index.html', inject: 'body', scriptLoading: 'defer' }),
      new rspack.container.ModuleFederationPlugin({
        name: 'CORE_FEDERATION',
        library: { type: 'var', name: ['_JUPYTERLAB', 'CORE_LIBRARY_FEDERATION'] },
        shared,
      }),
    ],
  });
  for (const config of themeConfigs) config.context = TOOLS;
  await runRspack(rspack, [appConfig, ...themeConfigs]);

  // What jupyterlab_server reads from the application folder (extensionMetadata), and what `quicksort jupyter
  // status` reads to tell which JupyterLab is installed: name and version, as in an installed JupyterLab.
  const application = toolPackage('@jupyterlab/application');
  fs.writeFileSync(
    path.join(staticDir, 'package.json'),
    `${JSON.stringify({ name: '@jupyterlab/application-top', version: application.version, private: true, jupyterlab: { name: 'JupyterLab', version: application.version, extensionMetadata: {} } }, null, 2)}\n`,
  );
}

function runRspack(rspack, configs) {
  return new Promise((resolve, reject) => {
    const compiler = rspack(configs);
    compiler.run((error, stats) => {
      compiler.close(() => {
        if (error) reject(error);
        else if (stats.hasErrors()) reject(new Error(`quicksort test bed: the JupyterLab application build failed:\n${stats.toString({ all: false, errors: true, colors: false }).slice(0, 8000)}`));
        else resolve(stats);
      });
    });
  });
}

/**
 * The application module: gathers the plugins of every core extension and of the federated extensions the
 * server lists in the page config, registers them and starts JupyterLab the way the 4.6 application does
 * (plugin registry resolving the service manager; keydown handled in the bubbling phase).
 */
function applicationSource(extensions, mimeExtensions) {
  const requireLine = (name, sub) => `[${JSON.stringify(name)}, () => require(${JSON.stringify(sub ? `${name}/${sub}` : name)})]`;
  return `// Generated by jupyterlab/test-bed/build-host.js: the test-bed JupyterLab application.
import { PageConfig, JupyterPluginRegistry } from '@jupyterlab/coreutils';
import { IConnectionStatus, IServiceManager } from '@jupyterlab/services';
import './style.js';

const CORE_EXTENSIONS = [
  ${Object.entries(extensions).map(([name, sub]) => requireLine(name, sub)).join(',\n  ')}
];
const CORE_MIME_EXTENSIONS = [
  ${Object.entries(mimeExtensions).map(([name, sub]) => requireLine(name, sub)).join(',\n  ')}
];

function pluginsOf(moduleExports) {
  const value = moduleExports && moduleExports.__esModule ? moduleExports.default : moduleExports;
  return Array.isArray(value) ? value : [value];
}

async function federatedModule(scope, request) {
  const factory = await window._JUPYTERLAB[scope].get(request);
  const value = factory();
  value.__scope__ = scope;
  return value;
}

export async function main() {
  const federated = JSON.parse(PageConfig.getOption('federated_extensions') || '[]');
  const disabled = PageConfig.Extension.disabled;
  const deferredIds = PageConfig.Extension.deferred;
  const matches = (list, id) => list.some((entry) => entry === id || entry === id.split(':')[0]);
  const register = [];
  const mimeExtensions = [];
  const disabledIds = [];
  const deferred = [];
  const allPlugins = [];
  const federatedNames = new Set(federated.map((data) => data.name));

  const take = (moduleExports, scope, into) => {
    for (const plugin of pluginsOf(moduleExports)) {
      const isDisabled = matches(disabled, plugin.id);
      allPlugins.push({ id: plugin.id, description: plugin.description, requires: plugin.requires || [], optional: plugin.optional || [], provides: plugin.provides || null, autoStart: plugin.autoStart, enabled: !isDisabled, extension: scope });
      if (isDisabled) { disabledIds.push(plugin.id); continue; }
      if (matches(deferredIds, plugin.id)) deferred.push(plugin.id);
      into.push(plugin);
    }
  };
  const settle = async (promises) => (await Promise.allSettled(promises)).flatMap((result) => {
    if (result.status === 'rejected') { console.error(result.reason); return []; }
    return [result.value];
  });

  const federatedExtensions = settle(federated.filter((data) => data.extension).map((data) => federatedModule(data.name, data.extension)));
  const federatedMime = settle(federated.filter((data) => data.mimeExtension).map((data) => federatedModule(data.name, data.mimeExtension)));
  const federatedStyles = settle(federated.filter((data) => data.style && !matches(disabled, data.name)).map((data) => federatedModule(data.name, data.style)));

  for (const [name, load] of CORE_MIME_EXTENSIONS) if (!federatedNames.has(name)) take(load(), name, mimeExtensions);
  for (const moduleExports of await federatedMime) take(moduleExports, moduleExports.__scope__, mimeExtensions);
  for (const [name, load] of CORE_EXTENSIONS) if (!federatedNames.has(name)) take(load(), name, register);
  for (const moduleExports of await federatedExtensions) take(moduleExports, moduleExports.__scope__, register);
  await federatedStyles;

  const pluginRegistry = new JupyterPluginRegistry();
  pluginRegistry.registerPlugins(register);
  const connectionStatus = await pluginRegistry.resolveOptionalService(IConnectionStatus);
  const serviceManager = await pluginRegistry.resolveRequiredService(IServiceManager);
  const { JupyterLab } = require('@jupyterlab/application');
  const lab = new JupyterLab({
    pluginRegistry,
    serviceManager,
    mimeExtensions,
    connectionStatus,
    disabled: { matches: disabledIds, patterns: [...disabled] },
    deferred: { matches: deferred, patterns: [...deferredIds] },
    availablePlugins: allPlugins,
  });
  // As JupyterLab 4.6 starts: deferred plugins are not activated at start; shortcuts see keydown while it
  // bubbles, so a widget that stops a key event's propagation keeps it from the notebook.
  lab.start({ ignorePlugins: deferred, bubblingKeydown: true });
  if ((PageConfig.getOption('exposeAppInBrowser') || '').toLowerCase() === 'true') window.jupyterapp = lab;
}
`;
}

/** Test-bed settings: no news or update checks (no network), no rename dialog on first save. */
function writeSettings(lab) {
  const settings = path.join(lab, 'settings');
  fs.mkdirSync(settings, { recursive: true });
  fs.writeFileSync(
    path.join(settings, 'overrides.json'),
    `${JSON.stringify(
      {
        '@jupyterlab/docmanager-extension:plugin': { renameUntitledFileOnSave: false },
        '@jupyterlab/apputils-extension:notification': { checkForUpdates: false, fetchNews: 'false' },
      },
      null,
      2,
    )}\n`,
  );
  fs.writeFileSync(path.join(settings, 'page_config.json'), `${JSON.stringify({ exposeAppInBrowser: true }, null, 2)}\n`);
}

module.exports = { buildHost, inputsDigest };

if (require.main === module) {
  main().catch((error) => {
    console.error(error.message || error);
    process.exit(1);
  });
}
