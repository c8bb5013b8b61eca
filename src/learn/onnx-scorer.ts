import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { createPool } from '../workers';
import type { EmbeddingMatrix } from './embedding-matrix';
import type { RankKey } from './ranked-lists';
import type { ScoreResult, ScoreTask } from './scorer-worker';
import type { HeadWeights } from './softmax-head';

/**
 * The full re-score on onnxruntime, in a worker thread: Softmax(X·Wᵀ + b) as one Gemm + Softmax graph, so
 * the 13 GFLOP of scoring 1M 1280-d items against 10 classes runs in MLAS's SIMD kernels, and the thread
 * that answers keypresses never waits on it. The head's weights are inputs, not initializers: one session
 * serves every update.
 *
 * @example
 * const scorer = await OnnxScorer.create();
 * const probabilities = await scorer.score(head.exportWeights(), matrix);
 */
export class OnnxScorer {
  private readonly keys = new WeakMap<Float32Array, number>();
  private nextKey = 1;

  private constructor(
    private readonly pool: Piscina,
    private readonly threads: number,
  ) {}

  static async create(options: { threads?: number } = {}): Promise<OnnxScorer> {
    return new OnnxScorer(createPool('learn/scorer-worker', { threads: 1 }), options.threads ?? availableParallelism());
  }

  /** Calibrated probabilities of every row (rows × classes), like {@link scoreAll}. */
  async score(head: HeadWeights, matrix: EmbeddingMatrix): Promise<Float32Array> {
    return (await this.run(head, matrix, undefined, [])).probabilities;
  }

  /**
   * The probabilities, and the ranked lists for `keys` built in the worker from them (see ranked-lists.ts):
   * among the rows whose byte in `candidates` is 0 when the worker reads it. `candidates` should live in a
   * SharedArrayBuffer (the learner's row states do), so it is shared, not copied.
   */
  async scoreRanked(
    head: HeadWeights,
    matrix: EmbeddingMatrix,
    options: { candidates: Uint8Array; keys: RankKey[] },
  ): Promise<{ probabilities: Float32Array; ranked: Map<RankKey, Int32Array> }> {
    const result = await this.run(head, matrix, options.candidates, options.keys);
    return { probabilities: result.probabilities, ranked: new Map(result.ranked) };
  }

  private async run(head: HeadWeights, matrix: EmbeddingMatrix, candidates: Uint8Array | undefined, keys: RankKey[]): Promise<ScoreResult> {
    let key = this.keys.get(matrix.vectors);
    const first = key === undefined;
    if (key === undefined) {
      key = this.nextKey++;
      this.keys.set(matrix.vectors, key);
    }
    const task: ScoreTask = {
      key,
      vectors: first ? matrix.vectors : undefined,
      rows: matrix.ids.length,
      dim: matrix.dim,
      classes: head.classes.length,
      weights: head.weights.slice(),
      bias: head.bias.slice(),
      temperature: head.temperature,
      threads: this.threads,
      candidates,
      rankKeys: keys,
    };
    return (await this.pool.run(task)) as ScoreResult;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
