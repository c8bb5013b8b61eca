import { PACKAGE_ROOT, packageVersion } from '../engine';

/** The name cells import the engine by, and the package this kernel belongs to. */
export const PACKAGE_NAME = 'quicksort';

/**
 * The folder of the `quicksort` package this kernel runs from, and its version: the engine's, as the kernel
 * is built into its dist/ (so it holds in the repository and in an installed package).
 */
export function packageInfo(): { root: string; version: string } {
  return { root: PACKAGE_ROOT, version: packageVersion() };
}
