import { existsSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package';

/**
 * The compiled module of one of this folder's worker threads (`name` without extension): beside this file
 * in dist/, or in dist/ when this file runs as TypeScript (ts-jest cannot run TypeScript in a worker).
 * Null when neither exists (not built yet).
 */
export function compiledWorkerModule(name: string): string | null {
  const here = path.join(__dirname, `${name}.js`);
  if (existsSync(here)) return here;
  const built = path.join(PACKAGE_ROOT, 'dist', 'export', `${name}.js`);
  if (existsSync(built)) return built;
  return null;
}
