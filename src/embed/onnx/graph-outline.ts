import { ModelError, messageOf } from '../../errors';
import { ONNX_EXTERNAL_DATA, onnxType } from './onnx-schema';

/** A dimension as a graph declares it: a fixed size, a symbolic name (`batch_size`), or unknown. */
export type Dimension = number | string | null;

/** A named tensor of a graph with what the graph declares about it (either may be unknown). */
export interface TensorInfo {
  name: string;
  /** TensorProto.DataType (1 float, 7 int64, …), or undefined where the graph does not say. */
  elementType: number | undefined;
  shape: Dimension[] | undefined;
}

/** What QuickSort needs to know of a model without loading its weights. */
export interface ModelOutline {
  /** Graph inputs that are fed at run time (initializers listed as inputs, as old exporters do, are left out). */
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Every tensor name produced in the graph (node outputs), in graph order. */
  intermediates: string[];
  /** Declared types of intermediate tensors (value_info), where the exporter wrote them. */
  declared: Map<string, TensorInfo>;
  /** Some weights live in side files, named relative to the model's folder. */
  hasExternalData: boolean;
}

interface RawValueInfo {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number; dim_param?: string }[] } } };
}

interface RawOutline {
  graph?: {
    node?: { output?: string[] }[];
    initializer?: { name?: string; data_location?: number }[];
    input?: RawValueInfo[];
    output?: RawValueInfo[];
    value_info?: RawValueInfo[];
  };
}

/**
 * Reads the graph's inputs, outputs and tensor names from the bytes of an ONNX model. Tensor payloads are
 * skipped, not decoded.
 *
 * @example
 * const outline = readModelOutline(readFileSync('model.onnx'), 'model.onnx');
 * outline.intermediates.includes('627'); // true for MobileNetV2-12
 */
export function readModelOutline(bytes: Uint8Array, file: string): ModelOutline {
  let raw: RawOutline;
  try {
    const type = onnxType('ModelOutline');
    raw = type.toObject(type.decode(bytes), { longs: Number, defaults: false }) as RawOutline;
  } catch (error) {
    throw new ModelError(`${file} is not a readable ONNX model (${messageOf(error)}); check that the file is complete and is an .onnx export`, {
      cause: error,
    });
  }
  const graph = raw.graph;
  if (!graph) throw new ModelError(`${file} holds no graph; is it an ONNX model?`);
  const initializers = new Set((graph.initializer ?? []).map((tensor) => tensor.name ?? ''));
  const declared = new Map<string, TensorInfo>();
  for (const info of graph.value_info ?? []) if (info.name) declared.set(info.name, toTensorInfo(info));
  return {
    inputs: (graph.input ?? []).filter((input) => !initializers.has(input.name ?? '')).map(toTensorInfo),
    outputs: (graph.output ?? []).map(toTensorInfo),
    intermediates: (graph.node ?? []).flatMap((node) => node.output ?? []).filter((name) => name !== ''),
    declared,
    hasExternalData: (graph.initializer ?? []).some((tensor) => tensor.data_location === ONNX_EXTERNAL_DATA),
  };
}

function toTensorInfo(info: RawValueInfo): TensorInfo {
  const tensor = info.type?.tensor_type;
  return {
    name: info.name ?? '',
    elementType: tensor?.elem_type,
    shape: tensor?.shape?.dim?.map((dim) => dim.dim_value ?? dim.dim_param ?? null),
  };
}

/** A shape for messages: `[batch_size, 3, 224, 224]`. */
export function describeShape(shape: readonly Dimension[] | undefined): string {
  return shape ? `[${shape.map((dim) => dim ?? '?').join(', ')}]` : '[unknown shape]';
}
