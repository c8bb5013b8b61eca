import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { createPool } from '../../workers';
import { Limiter } from '../runtime/limiter';
import type { ImageSource } from '../types';
import type { PreprocessResult, PreprocessTask } from './preprocess-worker';
import { planOutputSize, type PreprocessStep } from './steps';

/**
 * Runs a preprocessing plan on chunks of images in a pool of worker threads (sharp, one libvips thread
 * each). At most three chunks per thread are in flight: callers beyond that wait, so memory stays bounded.
 *
 * @example
 * const pre = new Preprocessor(planPreprocess(manifest.vision), { threads: 2 });
 * const { data, failures } = await pre.run([{ file: 'a.jpg' }, { file: 'b.png' }]);
 * await pre.close();
 */
export class Preprocessor {
  readonly threads: number;
  readonly floatsPerImage: number;
  private pool: Piscina | undefined;
  private readonly limiter: Limiter;

  constructor(
    readonly steps: PreprocessStep[],
    options: { threads?: number } = {},
  ) {
    this.threads = Math.max(1, options.threads ?? availableParallelism());
    this.floatsPerImage = planOutputSize(steps).floats;
    // piscina refuses tasks past threads + maxQueue (2 × threads): stay within it.
    this.limiter = new Limiter(this.threads * 3);
  }

  run(sources: ImageSource[]): Promise<PreprocessResult> {
    this.pool ??= createPool('embed/preprocess/preprocess-worker', { threads: this.threads });
    const pool = this.pool;
    const task: PreprocessTask = { steps: this.steps, sources, floatsPerImage: this.floatsPerImage };
    return this.limiter.run(() => pool.run(task) as Promise<PreprocessResult>);
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
    this.pool = undefined;
  }
}
