import * as ort from 'onnxruntime-node';
import { ONNX_DATA_TYPE, onnxType } from '../embed';
import { rankedList, type RankKey } from './ranked-lists';

/**
 * The worker thread that runs the full re-score on onnxruntime. onnxruntime-node computes `run` on the
 * calling thread, so it runs here, never on the thread that answers keypresses. Matrices arrive once (backed
 * by a SharedArrayBuffer they are shared, not copied) and are kept by key; each task then carries only the
 * head's weights.
 */
export interface ScoreTask {
  key: number;
  /** Sent with the first task for a key. */
  vectors?: Float32Array;
  rows: number;
  dim: number;
  classes: number;
  weights: Float32Array;
  bias: Float32Array;
  temperature: number;
  threads: number;
  /** Row states (0: candidate), shared with the learner; the ranked lists hold only candidates. */
  candidates?: Uint8Array;
  /** Ranked lists to build from the probabilities (see ranked-lists.ts). */
  rankKeys?: RankKey[];
}

export interface ScoreResult {
  /** rows × classes, in shared memory: handed to the caller without a copy. */
  probabilities: Float32Array;
  ranked: [RankKey, Int32Array][];
}

/**
 * Rows per run. onnxruntime-node refuses tensors over shared memory, so each chunk is copied out of the
 * shared matrix first: small chunks keep that copy in cache.
 */
const CHUNK_ROWS = 8192;
const matrices = new Map<number, Float32Array>();
let session: Promise<ort.InferenceSession> | undefined;

export default async function score(task: ScoreTask | { release: number }): Promise<ScoreResult | null> {
  if ('release' in task) {
    matrices.delete(task.release);
    return null;
  }
  if (task.vectors) matrices.set(task.key, task.vectors);
  const vectors = matrices.get(task.key);
  if (!vectors) throw new Error(`quicksort: scorer has no matrix ${task.key}; send its vectors with the first task`);
  session ??= ort.InferenceSession.create(scoringModel(), {
    executionProviders: ['cpu'],
    intraOpNumThreads: task.threads,
    graphOptimizationLevel: 'all',
    // Spinning threads steal the cores the labeling loop and the decoders need; measured slower here, too.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const runner = await session;
  const { rows, dim, classes } = task;
  // Temperature folded into the weights: softmax((W·x + b) / T) = softmax((W/T)·x + b/T).
  const scale = 1 / task.temperature;
  const w = new ort.Tensor('float32', task.weights.map((v) => v * scale), [classes, dim]);
  const b = new ort.Tensor('float32', task.bias.map((v) => v * scale), [classes]);
  // Shared memory: 40 MB at a million rows × 10 classes would otherwise be copied onto the labeling thread.
  const out = new Float32Array(new SharedArrayBuffer(rows * classes * 4));
  const chunk = new Float32Array(Math.min(rows, CHUNK_ROWS) * dim);
  for (let start = 0; start < rows; start += CHUNK_ROWS) {
    const end = Math.min(rows, start + CHUNK_ROWS);
    const view = chunk.subarray(0, (end - start) * dim);
    view.set(vectors.subarray(start * dim, end * dim));
    const x = new ort.Tensor('float32', view, [end - start, dim]);
    const result = await runner.run({ x, w, b });
    out.set(result.p!.data as Float32Array, start * classes);
  }
  const candidates = task.candidates;
  const eligible = candidates ? (row: number) => candidates[row] === 0 : () => true;
  const ranked = (task.rankKeys ?? []).map((key): [RankKey, Int32Array] => [key, rankedList(out, classes, key, eligible)]);
  return { probabilities: out, ranked };
}

/** The ONNX model: inputs x [N, D], w [C, D], b [C]; output p = Softmax(Gemm(x, w, b, transB=1)). */
function scoringModel(): Uint8Array {
  const FLOAT = ONNX_DATA_TYPE.FLOAT;
  const tensor = (name: string, dims: string[]) => ({
    name,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => ({ dim_param: d })) } } },
  });
  const ModelProto = onnxType('ModelProto');
  return ModelProto.encode(
    ModelProto.create({
      ir_version: 8,
      producer_name: 'quicksort',
      opset_import: [{ domain: '', version: 13 }],
      graph: {
        name: 'score',
        node: [
          { op_type: 'Gemm', input: ['x', 'w', 'b'], output: ['logits'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
          { op_type: 'Softmax', input: ['logits'], output: ['p'], attribute: [{ name: 'axis', type: 2, i: -1 }] },
        ],
        input: [tensor('x', ['n', 'd']), tensor('w', ['c', 'd']), tensor('b', ['c'])],
        output: [tensor('p', ['n', 'c'])],
      },
    }),
  ).finish();
}
