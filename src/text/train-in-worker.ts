import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError, ModelError } from '../errors';
import { PACKAGE_ROOT } from '../package';
import { decodeAdapters } from './adapter-file';
import type { AdapterPairs, AdapterTrainingOptions } from './adapter-train';
import type { Adapters } from './adapters';
import { decodeTextModel } from './model-file';
import type { TextModel } from './text-model';
import type { TrainingOptions, TrainingPairs, TrainingProgress, TrainingReport } from './train';
import type { FromTrainWorker, TrainWorkerData } from './train-worker';

/**
 * Trains a text model in a worker thread, so the caller's thread (a labeling session's keypresses) never
 * waits on it; `onProgress` hears each epoch's loss, `options.signal` stops it (the promise then rejects
 * with the signal's reason and nothing is kept). Same result as {@link trainTextModelHere}, to the bit.
 *
 * @example
 * const controller = new AbortController();
 * const { model, report } = await trainTextModel(pairs, { epochs: 30, signal: controller.signal }, (p) => bar.update(p.epoch, { loss: p.loss }));
 */
export function trainTextModel(
  pairs: TrainingPairs,
  options: TrainingOptions = {},
  onProgress?: (progress: TrainingProgress) => void,
): Promise<{ model: TextModel; report: TrainingReport }> {
  const { signal, ...rest } = options;
  const textTraining: TrainWorkerData['textTraining'] = { pairs: { ...pairs, images: ownRows(pairs.images), imageOfCaption: Array.from(pairs.imageOfCaption) }, options: rest };
  return inWorker({ textTraining }, signal, onProgress, (bytes) => decodeTextModel(bytes, 'the trained model', options.wordVectorsFolder)).then(({ value, report }) => ({ model: value, report }));
}

/**
 * Trains adapters on a two-tower model's vectors in a worker thread (see {@link trainAdaptersHere}), as
 * {@link trainTextModel} trains the text model: progress per epoch, stopped by `options.signal`.
 */
export function trainAdapters(
  pairs: AdapterPairs,
  options: AdapterTrainingOptions = {},
  onProgress?: (progress: TrainingProgress) => void,
): Promise<{ adapters: Adapters; report: TrainingReport }> {
  const { signal, ...rest } = options;
  const adapterTraining: TrainWorkerData['adapterTraining'] = {
    pairs: { ...pairs, images: ownRows(pairs.images), texts: ownRows(pairs.texts), imageOfCaption: Array.from(pairs.imageOfCaption) },
    options: rest,
  };
  return inWorker({ adapterTraining }, signal, onProgress, (bytes) => decodeAdapters(bytes, 'the trained adapters')).then(({ value, report }) => ({ adapters: value, report }));
}

/** A view of a larger matrix would be cloned with its whole buffer: send only its own rows. */
function ownRows(matrix: Float32Array): Float32Array {
  return matrix.byteLength === matrix.buffer.byteLength ? matrix : matrix.slice();
}

function inWorker<T>(
  workerData: TrainWorkerData,
  signal: AbortSignal | undefined,
  onProgress: ((progress: TrainingProgress) => void) | undefined,
  decode: (bytes: Uint8Array) => T,
): Promise<{ value: T; report: TrainingReport }> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const worker = new Worker(workerModule(), { workerData });
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', abort);
      void worker.terminate();
      outcome();
    };
    const abort = () => finish(() => reject(signal!.reason));
    signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (message: FromTrainWorker) => {
      if (settled) return;
      if (message.type === 'progress') onProgress?.(message.progress);
      else if (message.type === 'done') {
        finish(() => {
          try {
            resolve({ value: decode(message.model), report: message.report });
          } catch (error) {
            reject(error);
          }
        });
      } else finish(() => reject(message.code === 'INVALID_ARGUMENT' ? new InvalidArgumentError(message.message) : new ModelError(`text training failed: ${message.message}`)));
    });
    worker.on('error', (error) => finish(() => reject(new ModelError(`the text training worker failed: ${error.message}`, { cause: error }))));
    worker.on('exit', (code) => finish(() => reject(new ModelError(`the text training worker stopped (exit code ${code}) before it sent a model`))));
  });
}

/** Workers run compiled JavaScript: beside this file in dist/, or in dist/ when this runs as TypeScript. */
function workerModule(): string {
  const here = path.join(__dirname, 'train-worker.js');
  if (existsSync(here)) return here;
  const built = path.join(PACKAGE_ROOT, 'dist', 'text', 'train-worker.js');
  if (existsSync(built)) return built;
  throw new ModelError(`the text training worker was not found at ${here} or ${built}; run \`npm run build\` first`);
}
