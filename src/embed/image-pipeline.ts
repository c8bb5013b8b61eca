import type { PreprocessResult } from './preprocess/preprocess-worker';
import type { ImageEmbedding, ImageSource } from './types';

export interface PipelineStages {
  floatsPerImage: number;
  /** Images per model call. */
  batchSize: number;
  /** Images per preprocessing task. */
  chunkSize: number;
  /** Preprocessing tasks running or queued at once: the bound on memory. */
  chunksInFlight: number;
  preprocess(sources: ImageSource[]): Promise<PreprocessResult>;
  /** Runs the model on `count` preprocessed images; returns count × dim floats. */
  infer(data: Float32Array, count: number): Promise<{ vectors: Float32Array; dim: number }>;
}

export interface PipelineResult<T> {
  input: T;
  result: ImageEmbedding;
}

interface Slot<T> {
  input: T;
  /** Index in the batch tensor, or the reason the image failed. */
  index: number | string;
}

/**
 * Streams images through preprocessing (worker pool) and the model (model worker) with bounded memory:
 * reading the input waits while `chunksInFlight` chunks are being preprocessed, and at most one batch is in
 * the model while the next is assembled. Results reach `onBatch` in input order, one call per model batch;
 * an image that fails to decode is delivered as `{ ok: false, reason }` and the batch goes on.
 *
 * @example
 * await runImagePipeline(files, (file) => ({ file }), stages, (results) => save(results));
 */
export async function runImagePipeline<T>(
  inputs: Iterable<T> | AsyncIterable<T>,
  sourceOf: (input: T) => ImageSource,
  stages: PipelineStages,
  onBatch: (results: PipelineResult<T>[]) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const chunks: { inputs: T[]; result: Promise<PreprocessResult> }[] = [];
  let slots: Slot<T>[] = [];
  let tensor = new Float32Array(stages.batchSize * stages.floatsPerImage);
  let filled = 0;
  let modelRun: Promise<void> = Promise.resolve();

  const flush = async () => {
    const batchSlots = slots;
    const batchTensor = tensor;
    const count = filled;
    slots = [];
    tensor = new Float32Array(stages.batchSize * stages.floatsPerImage);
    filled = 0;
    // One batch in the model at a time; this one was assembled while the previous ran.
    await modelRun;
    const run = async () => {
      const inferred = count > 0 ? await stages.infer(batchTensor.subarray(0, count * stages.floatsPerImage), count) : undefined;
      const results = batchSlots.map(({ input, index }): PipelineResult<T> => {
        if (typeof index === 'string') return { input, result: { ok: false, reason: index } };
        const { vectors, dim } = inferred!;
        return { input, result: { ok: true, vector: vectors.slice(index * dim, (index + 1) * dim) } };
      });
      await onBatch(results);
    };
    modelRun = run();
    // Marked handled now; the rejection still reaches the caller at the next `await modelRun`.
    modelRun.catch(() => undefined);
  };

  const take = async () => {
    const chunk = chunks.shift()!;
    const { data, failures } = await chunk.result;
    for (const [i, input] of chunk.inputs.entries()) {
      const failure = failures[i];
      if (failure !== null && failure !== undefined) {
        slots.push({ input, index: failure });
      } else {
        tensor.set(data.subarray(i * stages.floatsPerImage, (i + 1) * stages.floatsPerImage), filled * stages.floatsPerImage);
        slots.push({ input, index: filled++ });
      }
      if (filled === stages.batchSize) await flush();
    }
  };

  const submit = async (pending: T[]) => {
    const result = stages.preprocess(pending.map(sourceOf));
    result.catch(() => undefined);
    chunks.push({ inputs: pending, result });
    if (chunks.length >= stages.chunksInFlight) await take();
  };

  try {
    let pending: T[] = [];
    for await (const input of inputs) {
      signal?.throwIfAborted();
      pending.push(input);
      if (pending.length >= stages.chunkSize) {
        await submit(pending);
        pending = [];
      }
    }
    if (pending.length) await submit(pending);
    while (chunks.length) {
      signal?.throwIfAborted();
      await take();
    }
    if (slots.length) await flush();
    await modelRun;
  } finally {
    // Let work already handed to the workers settle before the caller tears the pools down.
    await Promise.allSettled([...chunks.map((chunk) => chunk.result), modelRun]);
  }
}
