import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelError, messageOf } from '../../errors';
import { describeShape, type ModelOutline } from './graph-outline';
import { onnxType } from './onnx-schema';

export interface ExposeRequest {
  /** The model file, for messages and for models whose weights sit in side files beside it. */
  file: string;
  bytes: Uint8Array;
  /** sha256 of `bytes`, hex: the cache key. */
  sha256: string;
  outline: ModelOutline;
  /** Tensors that must be graph outputs. */
  names: string[];
  /** Where patched models are kept (see {@link defaultModelCacheDir}). */
  cacheDir: string;
  /** Where the names came from, for messages: `models/x.json field "vision.output"`. */
  origin: string;
}

export interface ExposeResult {
  /** The model to load: the original file when nothing had to be added, otherwise the cached patched copy. */
  file: string;
  added: string[];
  /** The patched copy was written by this call (false: found in the cache, or nothing to add). */
  written: boolean;
}

/**
 * Makes intermediate tensors of a model graph outputs, so that a layer before the classifier (the pooled
 * features of a CNN) can be read as the embedding. The patched model is cached on disk by (model hash,
 * names), so the work is done once per model.
 *
 * The patch is appended, not re-encoded: a protobuf parser merges a repeated occurrence of an embedded
 * message field into the first and appends repeated fields (protobuf encoding spec, "Last One Wins" /
 * merging of embedded messages), so `model ‖ ModelProto{graph{output: [new]}}` is the model with one more
 * graph output. No byte of the original is touched, so fields this schema does not know survive. The output
 * carries its declared type when the graph has one; otherwise only its name, and ONNX Runtime infers it.
 *
 * @example
 * const { file } = exposeOutputs({ file, bytes, sha256, outline, names: ['627'], cacheDir, origin: 'manifest' });
 */
export function exposeOutputs(request: ExposeRequest): ExposeResult {
  const { outline } = request;
  const outputs = new Set(outline.outputs.map((output) => output.name));
  const produced = new Set([...outline.intermediates, ...outline.inputs.map((input) => input.name)]);
  const added: string[] = [];
  for (const name of request.names) {
    if (outputs.has(name) || added.includes(name)) continue;
    if (!produced.has(name)) throw new ModelError(unknownTensorMessage(request, name));
    added.push(name);
  }
  if (added.length === 0) return { file: request.file, added, written: false };

  const key = createHash('sha256').update(request.sha256).update('\0').update(added.join('\0')).digest('hex').slice(0, 16);
  const base = path.basename(request.file).replace(/\.onnx$/i, '');
  // Weights in side files are found relative to the model file, so such a model's copy must sit beside it.
  const folder = outline.hasExternalData ? path.dirname(request.file) : request.cacheDir;
  const target = path.join(folder, outline.hasExternalData ? `${base}.quicksort-${key}.onnx` : `${base}.${key}.onnx`);
  const patch = onnxType('ModelPatch')
    .encode({ graph: { output: added.map((name) => valueInfoFor(outline, name)) } })
    .finish();
  const size = request.bytes.byteLength + patch.byteLength;
  if (existsSync(target) && statSync(target).size === size) return { file: target, added, written: false };

  try {
    mkdirSync(folder, { recursive: true });
    // Write then rename, so a crash or a second process never leaves a half-written model to be loaded.
    const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(temporary, request.bytes);
      writeFileSync(temporary, patch, { flag: 'a' });
      renameSync(temporary, target);
    } finally {
      rmSync(temporary, { force: true });
    }
  } catch (error) {
    throw new ModelError(
      `cannot write the model with added outputs to ${target} (${messageOf(error)}); ` +
        (outline.hasExternalData
          ? 'this model keeps its weights in side files, so the copy must be written beside it: make its folder writable'
          : 'set the model cache folder with the modelCacheDir option or $QUICKSORT_MODEL_CACHE'),
      { cause: error },
    );
  }
  return { file: target, added, written: true };
}

function valueInfoFor(outline: ModelOutline, name: string): Record<string, unknown> {
  const declared = outline.declared.get(name);
  if (declared?.elementType === undefined) return { name };
  const shape = declared.shape?.map((dim) => (typeof dim === 'number' ? { dim_value: dim } : typeof dim === 'string' ? { dim_param: dim } : {}));
  return { name, type: { tensor_type: { elem_type: declared.elementType, ...(shape ? { shape: { dim: shape } } : {}) } } };
}

function unknownTensorMessage(request: ExposeRequest, name: string): string {
  const { outline } = request;
  const outputs = outline.outputs.map((output) => `${output.name} ${describeShape(output.shape)}`).join(', ');
  const near = closestNames(name, outline.intermediates, 5);
  const last = outline.intermediates.slice(-8);
  return (
    `${request.origin} names the tensor ${JSON.stringify(name)}, which is not in the graph of ${request.file}. ` +
    `Graph outputs: ${outputs || 'none'}. ` +
    (near.length ? `Closest tensor names: ${near.map((n) => JSON.stringify(n)).join(', ')}. ` : '') +
    `The last tensors computed (nearest the outputs, where pooled features usually are): ${last.map((n) => JSON.stringify(n)).join(', ')}; ` +
    `${outline.intermediates.length} tensors in all.`
  );
}

function closestNames(name: string, names: string[], count: number): string[] {
  const lower = name.toLowerCase();
  return names
    .map((candidate) => ({ candidate, distance: editDistance(lower, candidate.toLowerCase()) }))
    .filter(({ distance, candidate }) => distance <= Math.max(2, Math.floor(Math.max(name.length, candidate.length) / 3)))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, count)
    .map(({ candidate }) => candidate);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
