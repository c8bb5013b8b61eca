import type { EmbeddingMatrix } from '../embed';
import type { RankerName } from '../learn';

/** Options of {@link Dataset.widget}; the kernel's `LabelingWidgetOptions` (quicksort/kernel) adds to them. */
export interface WidgetOptions {
  /**
   * `jupyterlab` (default): the QuickSort JupyterLab extension renders it (`quicksort jupyter install`).
   * `anywidget`: the app's module source is sent for anywidget's front end (`pip install anywidget`).
   */
  frontEnd?: 'jupyterlab' | 'anywidget';
  /** Who labels: recorded on every event; the dataset's user by default. */
  user?: string;
  /** Items kept ready ahead of the current one (default 8). */
  prefetch?: number;
  /** Items per grid page (default 40). */
  pageSize?: number;
  /** Next images the app decodes ahead (default 4; 0 turns it off). */
  imagePrefetch?: number;
  /** Embeddings for the learner; by default those cached by `ds.embed()`, if any. `false`: no learner. */
  embeddings?: EmbeddingMatrix | false;
  ranker?: RankerName;
}

/** What a cell gets back: a widget that shows the app as the cell's last expression or through display(). */
export interface LabelingWidgetHandle {
  /** The widget model id. */
  readonly id: string;
  readonly closed: boolean;
  /** Closes the widget in the kernel and in every front end. */
  close(): void;
}
