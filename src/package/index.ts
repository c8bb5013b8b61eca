import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The folder of the quicksort package (the repository, in a clone), where its bundled files are: this file
 * is two folders below it both as TypeScript (src/package/) and once built (dist/package/).
 *
 * @example
 * path.join(PACKAGE_ROOT, 'dist', 'widget'); // the built labeling app
 */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

let version: string | undefined;

/** The package's version, as its package.json says. */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
