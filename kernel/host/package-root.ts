import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ProtocolError } from '../engine';

/** The name cells import the engine by, and the package this kernel belongs to. */
export const PACKAGE_NAME = 'quicksort';

let cached: { root: string; version: string } | undefined;

/**
 * The folder of the `quicksort` package this kernel runs from (found upwards from this file, so it holds in
 * the repository, in dist/kernel and in an installed package), and its version.
 */
export function packageInfo(): { root: string; version: string } {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const json = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
        if (json.name === PACKAGE_NAME) return (cached = { root: dir, version: json.version ?? '0.0.0' });
      } catch {
        // A malformed package.json on the way up is not ours; keep looking.
      }
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new ProtocolError(`quicksort kernel: cannot find the quicksort package.json above ${__dirname}; reinstall quicksort`);
}
