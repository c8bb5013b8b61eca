import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EmbeddingMatrix } from '../embed';
import { NotFoundError } from '../errors';

/** Options of {@link Dataset.widget}; see the kernel's `LabelingWidgetOptions` (quicksort/kernel). */
export interface WidgetOptions {
  /**
   * `jupyterlab` (default): the QuickSort JupyterLab extension renders it (`quicksort jupyter install`).
   * `anywidget`: the app's module source is sent for anywidget's front end (`pip install anywidget`).
   */
  frontEnd?: 'jupyterlab' | 'anywidget';
  /** Who labels; the dataset's user by default. */
  user?: string;
  /** Items kept ready ahead of the current one. */
  prefetch?: number;
  /** Items per grid page. */
  pageSize?: number;
  /** Next images the app decodes ahead (0 turns it off). */
  imagePrefetch?: number;
  /** Embeddings for the learner; by default those cached by `ds.embed()`, if any. `false`: none. */
  embeddings?: EmbeddingMatrix | false;
  ranker?: string;
}

/** What a cell gets back: a widget that shows the app as the cell's last expression or through display(). */
export interface LabelingWidgetHandle {
  /** The widget model id. */
  readonly id: string;
  readonly closed: boolean;
  /** Closes the widget in the kernel and in every front end. */
  close(): void;
}

interface KernelWidgets {
  labelingWidget(dataset: unknown, options: WidgetOptions): LabelingWidgetHandle;
}

/**
 * The kernel's widget module, loaded from the build at run time: the engine never imports the kernel
 * (DESIGN.md), and in a notebook the kernel process has it loaded already, so this is the same instance.
 */
export function kernelWidgets(): KernelWidgets {
  const file = path.join(packageRoot(), 'dist', 'kernel', 'widgets', 'index.js');
  if (!existsSync(file)) throw new NotFoundError(`ds.widget() needs the QuickSort kernel, which is not built (${file} is missing); run \`npm run build\``);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as KernelWidgets;
}

function packageRoot(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'quicksort') return dir;
    } catch {
      // no package.json here; keep looking
    }
  }
  throw new NotFoundError(`cannot find the quicksort package above ${__dirname}`);
}
