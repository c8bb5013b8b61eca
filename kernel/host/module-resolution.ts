import Module from 'node:module';
import path from 'node:path';
import { PACKAGE_NAME } from './package-root';

/**
 * Makes `import … from "quicksort"` (and `"quicksort/kernel"`) work in every notebook, wherever it lives, and
 * always mean the package this kernel runs from — so the engine in cells and the kernel are one copy, and
 * the types tslab checks cells against are the ones that run.
 *
 * Two resolvers need it: Node's, at run time, and the TypeScript 5.0 inside tslab, which type-checks cells
 * with Node10 module resolution from the notebook's folder. For the latter the package is mirrored at
 * `<notebook folder>/node_modules/quicksort` (tslab itself fakes `node_modules/tslab` the same way), showing
 * declarations only, so no TypeScript source of the package is ever compiled as part of a cell.
 */
export function installPackageResolution(packageRoot: string, notebookFolder: string, typescriptSystem: TypeScriptSystem): void {
  installNodeResolution(packageRoot);
  installTypeScriptMirror(packageRoot, path.join(notebookFolder, 'node_modules', PACKAGE_NAME), typescriptSystem);
  limitAutomaticTypes(typescriptSystem);
}

/**
 * TypeScript includes every package of every `node_modules/@types` above the notebook as global types
 * (tslab sets no `types` option). In a project with @types for jest, react and more that costs seconds per
 * kernel start and puts test globals in cells. Cells get Node's globals only; any other @types package is
 * still used when a cell imports its module, since module resolution finds it directly.
 */
function limitAutomaticTypes(system: TypeScriptSystem): void {
  const getDirectories = system.getDirectories.bind(system);
  system.getDirectories = (dir: string) => {
    const entries = getDirectories(dir);
    const isTypeRoot = path.basename(dir) === '@types' && path.basename(path.dirname(dir)) === 'node_modules';
    return isTypeRoot ? entries.filter((entry) => entry === 'node') : entries;
  };
}

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

let nodeHookInstalled = false;

function installNodeResolution(packageRoot: string): void {
  if (nodeHookInstalled) return;
  nodeHookInstalled = true;
  // Module._resolveFilename is the one place every require (cells, tslab's wrapped require) goes through.
  const moduleInternals = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = moduleInternals._resolveFilename;
  moduleInternals._resolveFilename = function (request, parent, isMain, options) {
    if (request === PACKAGE_NAME || request.startsWith(`${PACKAGE_NAME}/`)) {
      request = path.join(packageRoot, request.slice(PACKAGE_NAME.length));
    }
    return original.call(this, request, parent, isMain, options);
  };
}

/** The part of TypeScript's `ts.sys` that module resolution and the watch host read files through. */
export interface TypeScriptSystem {
  fileExists(path: string): boolean;
  readFile(path: string, encoding?: string): string | undefined;
  directoryExists(path: string): boolean;
  getDirectories(path: string): string[];
  readDirectory(path: string, ...rest: unknown[]): string[];
  realpath?(path: string): string;
  getModifiedTime?(path: string): Date | undefined;
  watchFile?(path: string, ...rest: unknown[]): unknown;
  watchDirectory?(path: string, ...rest: unknown[]): unknown;
}

const PATH_METHODS = ['fileExists', 'readFile', 'directoryExists', 'getDirectories', 'readDirectory', 'realpath', 'getModifiedTime', 'watchFile', 'watchDirectory'] as const;

function installTypeScriptMirror(packageRoot: string, mirror: string, system: TypeScriptSystem): void {
  const forward = (file: string): string | undefined => {
    const relative = path.relative(mirror, file);
    if (relative === '' ) return packageRoot;
    if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
    return path.join(packageRoot, relative);
  };
  const target = system as unknown as Record<string, unknown>;
  for (const name of PATH_METHODS) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = function (this: unknown, file: unknown, ...rest: unknown[]) {
      const forwarded = typeof file === 'string' ? forward(file) : undefined;
      if (forwarded === undefined) return original.call(this, file, ...rest);
      // Declarations only: a .ts source of the package must never become part of a cell's program.
      if (name === 'fileExists' && /\.(c|m)?tsx?$/.test(forwarded) && !/\.d\.(c|m)?ts$/.test(forwarded)) return false;
      if (name === 'directoryExists' && path.relative(mirror, file as string) === '') return true;
      return original.call(this, forwarded, ...rest);
    };
  }
  // tslab fakes `<notebook folder>/node_modules` only for itself; make sure the mirror's parent is seen too.
  const directoryExists = target.directoryExists as (file: string) => boolean;
  target.directoryExists = function (this: unknown, file: string) {
    if (file === path.dirname(mirror)) return true;
    return directoryExists.call(this, file);
  };
}
