import { parentPort, workerData } from 'node:worker_threads';
import { QuickSortError } from '../errors';
import { encodeAdapters } from './adapter-file';
import { trainAdaptersHere, type AdapterPairs, type AdapterTrainingOptions } from './adapter-train';
import { encodeTextModel } from './model-file';
import { trainTextModelHere, type TrainingOptions, type TrainingPairs, type TrainingProgress, type TrainingReport } from './train';

/**
 * The worker thread that trains a text model (started by train-in-worker.ts): the pairs and options arrive
 * as workerData, progress goes back after each epoch, and the model goes back as its file's bytes
 * (transferred, not copied). Stopping is the parent's `terminate()`: a training step is never half applied
 * to anything the parent holds.
 */
export interface TrainWorkerData {
  textTraining?: { pairs: TrainingPairs; options: Omit<TrainingOptions, 'signal'> };
  /** Adapters on a two-tower model instead (see adapter-train.ts); the model goes back as the adapters file's bytes. */
  adapterTraining?: { pairs: AdapterPairs; options: Omit<AdapterTrainingOptions, 'signal'> };
}

export type FromTrainWorker =
  | { type: 'progress'; progress: TrainingProgress }
  | { type: 'done'; model: Uint8Array; report: TrainingReport }
  | { type: 'error'; message: string; code?: string };

function run(data: TrainWorkerData): void {
  const post = (message: FromTrainWorker, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(message, transfer);
  const onProgress = (progress: TrainingProgress) => post({ type: 'progress', progress });
  try {
    let bytes: Uint8Array;
    let report: TrainingReport;
    if (data.adapterTraining) {
      const trained = trainAdaptersHere(data.adapterTraining.pairs, data.adapterTraining.options, onProgress);
      bytes = encodeAdapters(trained.adapters);
      report = trained.report;
    } else {
      const trained = trainTextModelHere(data.textTraining!.pairs, data.textTraining!.options, onProgress);
      bytes = encodeTextModel(trained.model);
      report = trained.report;
    }
    post({ type: 'done', model: bytes, report }, [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    post({ type: 'error', message: (error as Error)?.message ?? String(error), code: error instanceof QuickSortError ? error.code : undefined });
  }
}

const data = workerData as TrainWorkerData | undefined;
if (parentPort && (data?.textTraining || data?.adapterTraining)) run(data);
