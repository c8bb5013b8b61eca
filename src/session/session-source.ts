import type { Store } from '../store';

/** How far a long task on the dataset is (an embed, an export), as every app shows it. */
export interface TaskProgress {
  task: string;
  done: number;
  total: number;
}

/**
 * What labeling sessions need of a dataset, and all they may touch: its store, where its images are, who
 * labels by default, and the progress of long work on it. A `Dataset` is one; so is anything else that
 * has a store and a folder of images.
 */
export interface SessionSource {
  /** The dataset's folder, as the apps name it. */
  readonly root: string;
  /** Who labels when a client does not say. */
  readonly user: string;
  readonly store: Store;
  /** The image file of an item. */
  pathOf(item: { uri: string }): string;
  /** Calls `listener` with the progress of long work on the dataset; returns the function that stops it. */
  watchProgress?(listener: (progress: TaskProgress) => void): () => void;
}
