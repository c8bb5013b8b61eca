import * as ort from 'onnxruntime-node';
import { messageOf } from '../../errors';
import { decodeHalf } from '../cache/float16';
import type { Normalization, Pooling } from '../manifest/manifest-types';
import type { ProviderFallback } from '../types';
import { normalizeVectors, poolOutput } from './pooling';
import { explainProviderFailure, precheckProvider, type ExecutionProvider } from './providers';

// onnxruntime's own log goes straight to stderr; failures reach the engine as exceptions and are reported
// there, in words. QUICKSORT_ORT_LOG (verbose, info, warning, error) turns the native log back on.
ort.env.logLevel = (process.env.QUICKSORT_ORT_LOG as typeof ort.env.logLevel) ?? 'fatal';

/**
 * The worker that owns the ONNX Runtime sessions. onnxruntime-node computes `run` on the calling thread, so
 * inference lives here, never on the main thread. Tasks are self-describing (each names its session), so the
 * worker keeps no protocol state beyond a cache of open sessions.
 */

export interface SessionSpec {
  file: string;
  providers: ExecutionProvider[];
  intraOpThreads?: number;
  interOpThreads?: number;
}

export interface TensorDescription {
  name: string;
  type: string;
  shape: (number | string)[];
}

/** A feed described by plain data, so it crosses the thread boundary: float32 pixels or integer token ids. */
export type FeedData =
  | { name: string; kind: 'float32'; data: Float32Array; dims: number[] }
  | { name: string; kind: 'integer'; data: number[]; dims: number[] };

export interface ReadSpec {
  output: string;
  pooling: Pooling;
  normalize: Normalization;
  /** The feed whose values mask padding tokens for `mean-tokens`. */
  maskFeed?: string;
}

export type ModelTask =
  | { kind: 'open'; session: SessionSpec; probe: FeedData[]; read: ReadSpec }
  | { kind: 'run'; session: SessionSpec; feeds: FeedData[]; read: ReadSpec }
  | { kind: 'release'; session: SessionSpec };

export interface OpenResult {
  provider: ExecutionProvider;
  fallbacks: ProviderFallback[];
  inputs: TensorDescription[];
  outputs: TensorDescription[];
  dim: number;
}

export interface RunResult {
  vectors: Float32Array;
  dim: number;
}

/** An error that crosses the thread boundary with its kind, so the main thread rethrows the right type. */
export interface WorkerFailure {
  failed: true;
  kind: 'model' | 'argument';
  message: string;
}

interface OpenSession {
  session: ort.InferenceSession;
  provider: ExecutionProvider;
  fallbacks: ProviderFallback[];
  probeDim?: number;
}

const sessions = new Map<string, Promise<OpenSession>>();

export default async function modelTask(task: ModelTask): Promise<OpenResult | RunResult | WorkerFailure | null> {
  try {
    if (task.kind === 'release') {
      const key = JSON.stringify(task.session);
      const open = sessions.get(key);
      sessions.delete(key);
      if (open) await (await open).session.release();
      return null;
    }
    if (task.kind === 'open') return await openSession(task.session, task.probe, task.read);
    const { session } = await sessionFor(task.session, undefined, task.read);
    return await runFeeds(session, task.feeds, task.read);
  } catch (error) {
    return { failed: true, kind: error instanceof ArgumentError ? 'argument' : 'model', message: messageOf(error) };
  }
}

class ArgumentError extends Error {}

async function openSession(spec: SessionSpec, probe: FeedData[], read: ReadSpec): Promise<OpenResult> {
  const open = await sessionFor(spec, probe, read);
  return {
    provider: open.provider,
    fallbacks: open.fallbacks,
    inputs: open.session.inputMetadata.map(describe),
    outputs: open.session.outputMetadata.map(describe),
    dim: open.probeDim ?? 0,
  };
}

function sessionFor(spec: SessionSpec, probe: FeedData[] | undefined, read: ReadSpec): Promise<OpenSession> {
  const key = JSON.stringify(spec);
  let open = sessions.get(key);
  if (!open) {
    open = createWithFallback(spec, probe, read);
    sessions.set(key, open);
    open.catch(() => sessions.delete(key));
  }
  return open;
}

/**
 * Tries the providers in order; the first whose session is created and runs the probe input is used. A
 * provider that fails is recorded with the reason; if even the last (the CPU) fails, the model itself is at
 * fault and its error is thrown.
 */
async function createWithFallback(spec: SessionSpec, probe: FeedData[] | undefined, read: ReadSpec): Promise<OpenSession> {
  const fallbacks: ProviderFallback[] = [];
  for (const [index, provider] of spec.providers.entries()) {
    const last = index === spec.providers.length - 1;
    const impossible = last ? undefined : precheckProvider(provider);
    if (impossible) {
      fallbacks.push({ provider, reason: impossible });
      continue;
    }
    let session: ort.InferenceSession | undefined;
    try {
      session = await ort.InferenceSession.create(spec.file, {
        executionProviders: [provider],
        ...(spec.intraOpThreads ? { intraOpNumThreads: spec.intraOpThreads } : {}),
        ...(spec.interOpThreads ? { interOpNumThreads: spec.interOpThreads } : {}),
        graphOptimizationLevel: 'all',
        // Idle intra-op threads sleep instead of spinning: the preprocessing workers share these cores.
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
      let probeDim: number | undefined;
      if (probe) probeDim = (await runFeeds(session, probe, read)).dim;
      return { session, provider, fallbacks, probeDim };
    } catch (error) {
      if (session) await session.release().catch(() => undefined);
      if (last || error instanceof ArgumentError) throw error;
      fallbacks.push({ provider, reason: explainProviderFailure(provider, error) });
    }
  }
  throw new Error('no execution provider was given');
}

async function runFeeds(session: ort.InferenceSession, feeds: FeedData[], read: ReadSpec): Promise<RunResult> {
  const inputs: Record<string, ort.Tensor> = {};
  for (const feed of feeds) inputs[feed.name] = toTensor(session, feed);
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await session.run(inputs, [read.output]);
  } catch (error) {
    // Say what was fed, as the model saw it: most run failures are a size or type the model does not take.
    const fed = feeds.map((feed) => `${feed.name} ${feed.kind === 'float32' ? 'float32' : inputType(session, feed.name)} [${feed.dims.join(', ')}]`);
    const wanted = session.inputMetadata.map((meta) => (meta.isTensor ? `${meta.name} ${meta.type} [${meta.shape.join(', ')}]` : meta.name));
    throw new Error(`the model failed on inputs ${fed.join(', ')} (it declares ${wanted.join(', ')}): ${messageOf(error)}`);
  }
  const output = results[read.output]!;
  const data = floatData(output, read.output);
  const mask = read.maskFeed ? (feeds.find((feed) => feed.name === read.maskFeed)?.data as ArrayLike<number> | undefined) : undefined;
  const pooled = poolOutput(data, output.dims as number[], read.pooling, mask);
  normalizeVectors(pooled.vectors, pooled.dim, read.normalize);
  for (const tensor of Object.values(results)) tensor.dispose?.();
  return pooled;
}

function toTensor(session: ort.InferenceSession, feed: FeedData): ort.Tensor {
  if (feed.kind === 'float32') return new ort.Tensor('float32', feed.data, feed.dims);
  const type = inputType(session, feed.name);
  if (type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(feed.data, (v) => BigInt(v)), feed.dims);
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(feed.data), feed.dims);
  throw new ArgumentError(`the model input ${feed.name} takes ${type}; token ids can be fed as int64 or int32 only`);
}

function inputType(session: ort.InferenceSession, name: string): string {
  const meta = session.inputMetadata.find((m) => m.name === name);
  return meta?.isTensor ? meta.type : 'int64';
}

function floatData(tensor: ort.Tensor, name: string): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') {
    const data = tensor.data as unknown;
    // onnxruntime gives float16 as raw bits (Uint16Array) where the platform has no Float16Array.
    return data instanceof Uint16Array ? decodeHalf(data) : Float32Array.from(data as ArrayLike<number>);
  }
  if (tensor.type === 'float64') return Float32Array.from(tensor.data as Float64Array);
  throw new ArgumentError(
    `the output ${name} is ${tensor.type}, not floating point; read a float tensor (for a quantized model, the output of a DequantizeLinear node)`,
  );
}

function describe(meta: ort.InferenceSession.ValueMetadata): TensorDescription {
  return meta.isTensor ? { name: meta.name, type: meta.type, shape: [...meta.shape] } : { name: meta.name, type: 'non-tensor', shape: [] };
}
