import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from '../helpers/fixtures';

/**
 * scripts/test-prerequisites.js (`npm test`'s pretest) against this machine's real dpkg: what it finds missing,
 * and the one command it hands a person who cannot install from here. A package name no Debian has stands in
 * for a missing tool (nothing is uninstalled).
 */

const SCRIPT = path.join(REPO, 'scripts', 'test-prerequisites.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const prerequisites = require(SCRIPT) as {
  APT_PACKAGES: string[];
  missingPackages(packages: string[]): string[];
  installCommand(packages: string[], root?: boolean): string;
  ensurePrerequisites(options: { packages?: string[]; canInstall?: boolean; log?: (line: string) => void }): string[];
};

const NO_SUCH_PACKAGE = 'quicksort-no-such-package';

describe('the test prerequisites', () => {
  it('finds exactly the packages dpkg does not have installed', () => {
    expect(prerequisites.missingPackages(['dpkg', NO_SUCH_PACKAGE])).toEqual([NO_SUCH_PACKAGE]);
  });

  it('fails at once with the apt-get command when a package is missing and cannot be installed from here', () => {
    const logged: string[] = [];
    const problems = prerequisites.ensurePrerequisites({ packages: ['dpkg', NO_SUCH_PACKAGE], canInstall: false, log: (line) => logged.push(line) });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`Debian packages ${NO_SUCH_PACKAGE}, which are not installed`);
    expect(problems[0]).toContain(`apt-get install -y --no-install-recommends ${NO_SUCH_PACKAGE}`);
    expect(problems[0]).not.toMatch(/ dpkg\b/);
    // Nothing was started: no apt-get, no npm ci.
    expect(logged).toEqual([]);
  });

  it('prints the command with sudo for a person who is not root', () => {
    expect(prerequisites.installCommand(['chromium'], false)).toBe('sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium');
    expect(prerequisites.installCommand(['chromium'], true)).toBe('apt-get update && apt-get install -y --no-install-recommends chromium');
  });

  it('passes, quietly, on a machine that has everything (this one: npm test ran it first)', () => {
    const run = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(prerequisites.missingPackages(prerequisites.APT_PACKAGES)).toEqual([]);
  });
});
