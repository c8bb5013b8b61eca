import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as errors from '../../src/errors';
import { VectorIndexError } from '../../src/vectors';
import { REPO } from '../helpers/fixtures';

/**
 * Every exit code the CLI can end with is in README's table: those of the typed errors (src/errors, and the
 * vector index's) and the literal ones the commands set themselves (src/cli).
 */

function readmeCodes(): Set<number> {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  return new Set([...readme.matchAll(/^\| (\d+) \| \S/gm)].map((match) => Number(match[1])));
}

function errorCodes(): Set<number> {
  const classes = Object.values(errors as Record<string, unknown>).filter(
    (value): value is new (message: string) => errors.QuickSortError => typeof value === 'function' && value.prototype instanceof errors.QuickSortError,
  );
  return new Set([...classes.map((Class) => new Class('message').exitCode), new VectorIndexError('usearch', 'message').exitCode]);
}

/** `process.exitCode = … ? 8 : 0` and `process.exit(130)` in the CLI's sources. */
function literalCodes(): Set<number> {
  const cli = path.join(REPO, 'src', 'cli');
  const codes = new Set<number>();
  for (const file of readdirSync(cli).filter((name) => name.endsWith('.ts'))) {
    const source = readFileSync(path.join(cli, file), 'utf8');
    for (const [statement] of source.matchAll(/process\.exit(?:Code\s*=[^;\n]*|\(\d+\))/g)) {
      for (const [number] of statement.matchAll(/\b\d+\b/g)) codes.add(Number(number));
    }
  }
  return codes;
}

describe('exit codes', () => {
  it('README lists every code of the typed errors', () => {
    const listed = readmeCodes();
    const codes = errorCodes();
    expect(codes.size).toBeGreaterThanOrEqual(10);
    expect([...codes].filter((code) => !listed.has(code))).toEqual([]);
  });

  it('README lists every code the commands set themselves', () => {
    const listed = readmeCodes();
    const codes = literalCodes();
    expect([...codes].sort((a, b) => a - b)).toEqual(expect.arrayContaining([0, 1, 2, 6, 8, 130]));
    expect([...codes].filter((code) => !listed.has(code))).toEqual([]);
  });
});
