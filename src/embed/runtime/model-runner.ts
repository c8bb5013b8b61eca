import type { Piscina } from 'piscina';
import { ModelError } from '../../errors';
import { createPool } from '../../workers';
import { Limiter } from './limiter';
import type { FeedData, ModelTask, OpenResult, ReadSpec, RunResult, SessionSpec, WorkerFailure } from './model-worker';

/**
 * The main thread's handle on the model worker: one worker thread holds the ONNX Runtime sessions (one per
 * tower) and runs one task at a time, so a GPU is shared by one session and the main thread never computes.
 */
export class ModelRunner {
  private readonly pool: Piscina;
  private readonly limiter = new Limiter(1);

  constructor() {
    this.pool = createPool('embed/runtime/model-worker', { threads: 1 });
  }

  open(session: SessionSpec, probe: FeedData[], read: ReadSpec, context: string): Promise<OpenResult> {
    return this.task({ kind: 'open', session, probe, read }, context) as Promise<OpenResult>;
  }

  run(session: SessionSpec, feeds: FeedData[], read: ReadSpec, context: string): Promise<RunResult> {
    return this.task({ kind: 'run', session, feeds, read }, context) as Promise<RunResult>;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private async task(task: ModelTask, context: string): Promise<OpenResult | RunResult> {
    const result = (await this.limiter.run(() => this.pool.run(task))) as OpenResult | RunResult | WorkerFailure;
    if ('failed' in result) throw new ModelError(`${context}: ${result.message}`);
    return result;
  }
}
