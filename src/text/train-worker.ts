import { parentPort, workerData } from 'node:worker_threads';
import { QuickSortError } from '../errors';
import { encodeTextModel } from './model-file';
import { trainTextModelHere, type TrainingOptions, type TrainingPairs, type TrainingProgress, type TrainingReport } from './train';

/**
 * The worker thread that trains a text model (started by train-in-worker.ts): the pairs and options arrive
 * as workerData, progress goes back after each epoch, and the model goes back as its file's bytes
 * (transferred, not copied). Stopping is the parent's `terminate()`: a training step is never half applied
 * to anything the parent holds.
 */
export interface TrainWorkerData {
  textTraining: { pairs: TrainingPairs; options: Omit<TrainingOptions, 'signal'> };
}

export type FromTrainWorker =
  | { type: 'progress'; progress: TrainingProgress }
  | { type: 'done'; model: Uint8Array; report: TrainingReport }
  | { type: 'error'; message: string; code?: string };

function run({ pairs, options }: TrainWorkerData['textTraining']): void {
  const post = (message: FromTrainWorker, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(message, transfer);
  try {
    const { model, report } = trainTextModelHere(pairs, options, (progress) => post({ type: 'progress', progress }));
    const bytes = encodeTextModel(model);
    post({ type: 'done', model: bytes, report }, [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    post({ type: 'error', message: (error as Error)?.message ?? String(error), code: error instanceof QuickSortError ? error.code : undefined });
  }
}

const data = workerData as Partial<TrainWorkerData> | undefined;
if (parentPort && data?.textTraining) run(data.textTraining);
