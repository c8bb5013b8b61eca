import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../errors';
import { PACKAGE_ROOT } from '../package';

/** Where widget/build.js leaves the app. */
export const DEFAULT_APP_DIR = path.join(PACKAGE_ROOT, 'dist', 'widget');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export interface Asset {
  body: Buffer;
  type: string;
}

/**
 * The app's static files, read once at start: a fixed list of names, so no request path ever reaches the
 * file system through this door.
 */
export function loadAppAssets(dir = DEFAULT_APP_DIR): Map<string, Asset> {
  if (!existsSync(path.join(dir, 'index.html')) || !existsSync(path.join(dir, 'labeling-app.js'))) {
    throw new NotFoundError(`the labeling app is not built (no index.html and labeling-app.js in ${dir}); run \`npm run build\` (or \`node widget/build.js\`) first`);
  }
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) assets.set(`/${name}`, { body: readFileSync(path.join(dir, name)), type });
  }
  assets.set('/', assets.get('/index.html')!);
  return assets;
}
