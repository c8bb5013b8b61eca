import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelError, messageOf } from '../errors';
import type { ModelManifest, TextSpec, VisionSpec } from './manifest/manifest-types';
import { exposeOutputs } from './onnx/expose-outputs';
import { describeShape, readModelOutline, type ModelOutline, type TensorInfo } from './onnx/graph-outline';

/** A tower (vision or text model) checked against its manifest and ready to load. */
export interface PreparedTower {
  /** The file to load: the original, or the cached copy with the output exposed. */
  loadFile: string;
  sha256: string;
  outline: ModelOutline;
  /** The tensor read as the embedding. */
  output: string;
}

type Tower = 'vision' | 'text';

/** Preferred graph outputs when the manifest names none, best first. */
const PREFERRED_OUTPUTS: Record<Tower, string[]> = {
  vision: ['image_embeds', 'pooler_output', 'embeddings', 'embedding'],
  text: ['text_embeds', 'pooler_output', 'embeddings', 'embedding'],
};

/**
 * Reads a tower's ONNX file, checks its pinned hash, that the manifest's input and output tensors exist, and
 * exposes the output when it is an intermediate tensor (cached in `cacheDir`).
 */
export async function prepareTower(manifest: ModelManifest, tower: Tower, spec: VisionSpec | TextSpec, cacheDir: string): Promise<PreparedTower> {
  let bytes: Buffer;
  try {
    bytes = await readFile(spec.file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelError(
      `${manifest.source}: field "${tower}.file" names ${spec.file}, which ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${messageOf(error)})`}; ` +
        `models are never downloaded: copy the .onnx file there or fix the path (relative to the manifest)`,
      { cause: error },
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (spec.sha256 && spec.sha256 !== sha256) {
    throw new ModelError(`${spec.file} has sha256 ${sha256}, but ${manifest.source} field "${tower}.sha256" pins ${spec.sha256}: the file is damaged or another version`);
  }
  const outline = readModelOutline(bytes, spec.file);
  const inputs = tower === 'vision' ? [(spec as VisionSpec).input] : [(spec as TextSpec).inputIds];
  for (const input of inputs) {
    if (!outline.inputs.some((candidate) => candidate.name === input)) {
      throw new ModelError(
        `${manifest.source}: field "${tower}.${tower === 'vision' ? 'input' : 'inputIds'}" names the input ${JSON.stringify(input)}, ` +
          `but ${path.basename(spec.file)} takes ${listTensors(outline.inputs)}`,
      );
    }
  }
  const output = spec.output ?? chooseOutput(manifest, tower, spec.file, outline);
  const exposed = exposeOutputs({
    file: spec.file,
    bytes,
    sha256,
    outline,
    names: [output],
    cacheDir,
    origin: `${manifest.source}: field "${tower}.output"`,
  });
  return { loadFile: exposed.file, sha256, outline, output };
}

function chooseOutput(manifest: ModelManifest, tower: Tower, file: string, outline: ModelOutline): string {
  const names = outline.outputs.map((output) => output.name);
  const preferred = PREFERRED_OUTPUTS[tower].find((name) => names.includes(name));
  if (preferred) return preferred;
  if (names.length === 1) return names[0]!;
  throw new ModelError(
    `${manifest.source}: no "${tower}.output" is set and ${path.basename(file)} has several outputs (${listTensors(outline.outputs)}); name the one to use as the embedding`,
  );
}

/**
 * Checks the image input's declared shape against the manifest's size and layout ("wrong input size" is a
 * manifest error, found at load rather than on the first batch). Symbolic dimensions accept anything.
 * Returns the fixed batch size, if the model has one.
 */
export function checkVisionInput(manifest: ModelManifest, tower: PreparedTower): number | undefined {
  const vision = manifest.vision;
  const input = tower.outline.inputs.find((candidate) => candidate.name === vision.input)!;
  const shape = input.shape;
  if (!shape) return undefined;
  const file = path.basename(vision.file);
  if (shape.length !== 4) {
    throw new ModelError(`${manifest.source}: the input ${JSON.stringify(vision.input)} of ${file} has shape ${describeShape(shape)}, not an image batch of rank 4`);
  }
  const [batch, a, b, c] = shape;
  const [channels, height, width] = vision.layout === 'NCHW' ? [a, b, c] : [c, a, b];
  const fits = (declared: unknown, wanted: number) => typeof declared !== 'number' || declared === wanted;
  if (!fits(channels, 3)) {
    const other = vision.layout === 'NCHW' ? 'NHWC' : 'NCHW';
    throw new ModelError(
      `${manifest.source}: field "vision.layout" is ${vision.layout}, but the input ${JSON.stringify(vision.input)} of ${file} is ${describeShape(shape)}, ` +
        `which has no 3 channels there; is the layout ${other}?`,
    );
  }
  if (!fits(height, vision.height) || !fits(width, vision.width)) {
    throw new ModelError(
      `${manifest.source}: fields "vision.width" × "vision.height" are ${vision.width} × ${vision.height}, but the input ` +
        `${JSON.stringify(vision.input)} of ${file} is ${describeShape(shape)} (${vision.layout}): set them to ${width ?? '?'} × ${height ?? '?'}`,
    );
  }
  return typeof batch === 'number' && batch > 0 ? batch : undefined;
}

function listTensors(tensors: TensorInfo[]): string {
  return tensors.length ? tensors.map((t) => `${JSON.stringify(t.name)} ${describeShape(t.shape)}`).join(', ') : 'no inputs';
}
