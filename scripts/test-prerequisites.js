#!/usr/bin/env node
'use strict';

/**
 * What `npm test` needs beyond the root package's npm dependencies, brought in before the tests run (the
 * `pretest` script; .ci/run relies on it): the Debian packages below, installed with apt-get when this process
 * may (root, apt-get present), and the JupyterLab test-bed toolchain (`npm ci --prefix jupyterlab`). When
 * something is missing and cannot be installed from here, it stops at once with the one command to run.
 * Quick when everything is present: one dpkg-query, no apt-get update. Plain Node, no dependencies: it runs
 * before anything is built.
 *
 * @example
 * node scripts/test-prerequisites.js       # exit 0: all present (or installed); 1: the command to run is printed
 */

const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

/**
 * The one list of Debian packages the tests use: Chromium for the browser tests (tests/e2e, tests/jupyterlab);
 * Jupyter's client tools for the kernel tests (tests/kernel); jupyter-server and jupyterlab-server serve the
 * JupyterLab 4.6 test bed (tests/jupyterlab).
 */
const APT_PACKAGES = ['chromium', 'jupyter-nbconvert', 'jupyter-core', 'jupyter-client', 'python3-jupyter-server', 'python3-jupyterlab-server'];

const REPO = path.join(__dirname, '..');
const JUPYTERLAB_TOOLS = path.join(REPO, 'jupyterlab');
/** The package tests/jupyterlab/test-bed.ts looks for: present once `npm ci --prefix jupyterlab` ran. */
const JUPYTERLAB_MARKER = path.join(JUPYTERLAB_TOOLS, 'node_modules', '@jupyter', 'builder');

/** The packages of `packages` that dpkg does not list as installed (all of them where there is no dpkg). */
function missingPackages(packages) {
  // One call for the whole list; a package dpkg never heard of is reported on stderr and left out of stdout.
  const query = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\\n', ...packages], { encoding: 'utf8' });
  if (query.error) return [...packages];
  const installed = new Set(
    query.stdout
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([, status]) => status === 'installed')
      .map(([name]) => name),
  );
  return packages.filter((name) => !installed.has(name));
}

/** The command a person runs to install `packages` (with sudo unless they are root). */
function installCommand(packages, root = isRoot()) {
  const sudo = root ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function hasAptGet() {
  return !spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).error;
}

/**
 * Checks and, where it may, installs. Returns the problems left: empty when the tests can run. `canInstall`
 * says whether apt-get may be run from here (root with apt-get, unless told otherwise).
 */
function ensurePrerequisites({ packages = APT_PACKAGES, canInstall = isRoot() && hasAptGet(), log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  let missing = missingPackages(packages);
  if (missing.length > 0 && canInstall) {
    log(`test prerequisites: installing the Debian packages ${missing.join(', ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    if (update.status === 0) spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
    missing = missingPackages(missing);
  }
  if (missing.length > 0) {
    // At once: the rest (a 30 s npm ci) can wait for the next run.
    return [`the tests need the Debian packages ${missing.join(', ')}, which are not installed${canInstall ? ' (apt-get failed, see above)' : ''}. Run:\n  ${installCommand(missing)}`];
  }
  if (!existsSync(JUPYTERLAB_MARKER)) {
    log('test prerequisites: installing the JupyterLab test-bed toolchain (npm ci --prefix jupyterlab)');
    // The npm that runs this script (npm test), else the one on PATH.
    const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
    const install = spawnSync(npm[0], [...npm.slice(1), 'ci', '--prefix', JUPYTERLAB_TOOLS], { stdio: 'inherit', cwd: REPO });
    if (install.status !== 0 || !existsSync(JUPYTERLAB_MARKER)) return ['installing the JupyterLab test-bed toolchain failed (see above). Run:\n  npm ci --prefix jupyterlab'];
  }
  return [];
}

if (require.main === module) {
  const problems = ensurePrerequisites();
  for (const problem of problems) process.stderr.write(`test prerequisites: ${problem}\n`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}

module.exports = { APT_PACKAGES, missingPackages, installCommand, ensurePrerequisites };
