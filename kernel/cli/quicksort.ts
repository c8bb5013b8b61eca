/**
 * The `quicksort` command (bin/quicksort.js runs this): the engine's CLI with the kernel's `jupyter`
 * commands added. The one place that composes the two, since the engine never imports the kernel.
 */
import { runCommandLine } from '../engine';
import { registerJupyterCommand } from './jupyter-command';

export function main(argv: string[]): Promise<void> {
  return runCommandLine(argv, [registerJupyterCommand]);
}
