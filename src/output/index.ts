/**
 * Where outputs are written, safely: nothing a user points an output at (export, COCO export, crops, maps,
 * simulation curves) may overwrite the dataset's store, its state, its images or the COCO file it came from
 * — compared by real path and inode, never as text — and a file or folder appears only when complete.
 *
 * @example
 * import { AtomicOutput, ProtectedPaths } from './output';
 * await (await ProtectedPaths.of(ds)).check(flags.out);
 * const output = await AtomicOutput.prepare(flags.out, 'file', { force: flags.force });
 */
export { AtomicOutput, describeFsError } from './atomic-output';
export { ProtectedPaths, assertSafeOutput, type GuardedDataset, type OutputCheckOptions } from './protected-paths';
export { realPathOf } from './real-path';
