import type { MessagePort } from 'node:worker_threads';
import { layout2d, type LayoutOptions } from './layout';

/**
 * The worker thread that lays out a map: PCA and UMAP take seconds to a minute on tens of thousands of
 * points, so they run here and the notebook, server or CLI progress bar stays responsive. The vectors arrive
 * in shared memory (not copied); progress goes back over `port`.
 */
export interface LayoutTask {
  vectors: Float32Array;
  rows: number;
  dim: number;
  options: LayoutOptions;
  port?: MessagePort;
}

export default function layoutTask(task: LayoutTask): Float32Array {
  try {
    return layout2d(task.vectors, task.rows, task.dim, task.options, task.port ? (progress) => task.port!.postMessage(progress) : undefined);
  } finally {
    // The result travels on the pool's own channel, which may overtake this port: `end` tells the caller
    // every progress message has arrived (a port delivers in order).
    task.port?.postMessage({ end: true });
    task.port?.close();
  }
}
