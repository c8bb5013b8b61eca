/**
 * The engine, as kernel code imports it. kernel/ compiles into dist/kernel/, beside the engine in dist/, so
 * `../errors` from this file is dist/errors once built; kernel/tsconfig.json's rootDirs lets TypeScript
 * resolve it to the engine's shipped declarations at compile time. Import the engine through this file only:
 * the kernel and cells then share one copy of it (one `QuickSortError` class for `instanceof`).
 */
export { InvalidArgumentError, ProtocolError } from '../errors';
// The labeling widget (widgets/labeling-widget.ts) runs a session of the engine on a dataset.
export { NotFoundError } from '../errors';
export { LabelingSession, SessionHost, type ClientMessage, type ServerMessage } from '../session';
export { cachedEmbeddings, type EmbeddingMatrix } from '../embed';
// ds.widget() makes the kernel's labeling widget, which the kernel host provides to Dataset at start-up.
export { Dataset, type WidgetOptions } from '../dataset';
// The notebook's progress bars read the engine's reports as the labeling app does.
export { readProgress, type ProgressReport } from '../dataset';
export type { RankerName } from '../learn';
// The `quicksort` command line adds the kernel's `jupyter` commands to the engine's (cli/quicksort.ts).
export { main as runCommandLine, type CommandRegistrar } from '../cli/main';
export { emit } from '../cli/output';
// The kernel is built into the engine's package: its folder and version are the engine's.
export { PACKAGE_ROOT, packageVersion } from '../package';
