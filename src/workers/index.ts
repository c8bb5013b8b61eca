import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { PACKAGE_ROOT } from '../package';

/**
 * A pool of worker threads running one compiled module of `src/` (named relative to `src/`, without
 * extension). Heavy work (decode, hash, resize, embed) runs there so the labeling loop never waits on it.
 *
 * @example
 * const pool = createPool('images/probe-worker');
 * const results = await pool.run(batch);
 */
export function createPool(moduleName: string, options: { threads?: number } = {}): Piscina {
  const threads = Math.max(1, options.threads ?? availableParallelism());
  return new Piscina({
    filename: compiledPath(moduleName),
    minThreads: threads,
    maxThreads: threads,
    // Keep the queue short: the producer awaits free slots, so memory stays bounded on huge folders.
    maxQueue: threads * 2,
    idleTimeout: 1000,
  });
}

/** Workers run compiled JavaScript; under ts-jest this file is TypeScript in src/, so look in dist/. */
function compiledPath(moduleName: string): string {
  const here = path.join(__dirname, '..', `${moduleName}.js`);
  if (existsSync(here)) return here;
  const built = path.join(PACKAGE_ROOT, 'dist', `${moduleName}.js`);
  if (existsSync(built)) return built;
  throw new Error(`the worker module ${moduleName}.js was not found at ${here} or ${built}; run \`npm run build\` first`);
}
