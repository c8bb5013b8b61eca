import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../package';
import type { FromJointWorker, JointWorkerData } from './joint-worker';

/**
 * Projects the dataset's items into a freshly trained text model's joint space in a worker thread (which
 * leaves the projection cached beside the model), so that opening the search afterwards on the session's
 * thread only reads it. Resolves either way: when the worker cannot run or fails, or `signal` stops it, the
 * open that follows computes the projection itself (and says what is wrong, if anything is).
 */
export function prepareJointSpace(data: JointWorkerData, signal?: AbortSignal): Promise<void> {
  const module = workerModule();
  if (!module || signal?.aborted || data.storeFile === ':memory:') return Promise.resolve();
  const worker = new Worker(module, { workerData: { jointSpace: data } });
  return new Promise((resolve) => {
    const finish = () => {
      signal?.removeEventListener('abort', finish);
      void worker.terminate();
      resolve();
    };
    signal?.addEventListener('abort', finish, { once: true });
    worker.once('message', (_message: FromJointWorker) => finish());
    worker.once('error', finish);
    worker.once('exit', finish);
  });
}

/** Workers run compiled JavaScript: beside this file in dist/, or in dist/ when this runs as TypeScript. */
function workerModule(): string | undefined {
  const here = path.join(__dirname, 'joint-worker.js');
  if (existsSync(here)) return here;
  const built = path.join(PACKAGE_ROOT, 'dist', 'session', 'joint-worker.js');
  return existsSync(built) ? built : undefined;
}
