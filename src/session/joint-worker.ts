import { parentPort, workerData } from 'node:worker_threads';
import { messageOf } from '../errors';
import { LabelStore } from '../store';
import { prepareTrainedSpace } from '../text';

/** What {@link prepareJointSpace} hands the worker: the dataset's folder and its store file. */
export interface JointWorkerData {
  root: string;
  storeFile: string;
}

export type FromJointWorker = { type: 'done' } | { type: 'failed'; message: string };

/*
 * Opens the dataset's text search once, on a read-only connection of its own: the items' projection into the
 * new joint space (seconds at 100k items) is computed here and cached beside the model (joint.bin, or
 * adapted.bin for adapters on a two-tower model), so the session's own open, on its thread, reads it back
 * instead of computing it between two keypresses.
 */
if (parentPort && (workerData as { jointSpace?: JointWorkerData } | undefined)?.jointSpace) {
  const { root, storeFile } = (workerData as { jointSpace: JointWorkerData }).jointSpace;
  let answer: FromJointWorker;
  try {
    const store = LabelStore.open(storeFile, { readonly: true });
    try {
      prepareTrainedSpace(root, store);
    } finally {
      store.close();
    }
    answer = { type: 'done' };
  } catch (error) {
    answer = { type: 'failed', message: messageOf(error) };
  }
  parentPort.postMessage(answer);
}
