/**
 * The model manifest: a JSON file that turns an ONNX export into an embedder (the plugin system). Paths in
 * the JSON are relative to the manifest; after parsing they are absolute and every default is filled.
 *
 * @example
 * {
 *   "format": "quicksort-model/1",
 *   "name": "mobilenetv2-12-int8",
 *   "vision": { "file": "mobilenetv2-12-int8.onnx", "input": "input", "width": 224, "height": 224,
 *               "resize": "shortest-side-crop", "shortestSide": 256, "mean": [0.485, 0.456, 0.406],
 *               "std": [0.229, 0.224, 0.225], "output": "627", "pooling": "mean-spatial" }
 * }
 */
export const MANIFEST_FORMAT = 'quicksort-model/1';

/**
 * How an image becomes the model's input size. `shortest-side-crop`: scale so the shortest side is
 * `shortestSide`, then cut the centre (ImageNet and CLIP). `letterbox`: fit inside, pad with `background`.
 * `stretch`: scale each axis to the size, ignoring the aspect ratio (SigLIP).
 */
export type ResizeMode = 'shortest-side-crop' | 'letterbox' | 'stretch';
export const RESIZE_MODES: readonly ResizeMode[] = ['shortest-side-crop', 'letterbox', 'stretch'];

/** sharp's resampling kernels (`linear` is bilinear, `cubic` bicubic). */
export type Interpolation = 'nearest' | 'linear' | 'cubic' | 'lanczos3';
export const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'linear', 'cubic', 'lanczos3'];

export type Layout = 'NCHW' | 'NHWC';
export const LAYOUTS: readonly Layout[] = ['NCHW', 'NHWC'];

export type ChannelOrder = 'RGB' | 'BGR';
export const CHANNEL_ORDERS: readonly ChannelOrder[] = ['RGB', 'BGR'];

/**
 * How the output tensor becomes one vector per input. `none`: the output is [N, D] (or [N, D, 1, 1]) and is
 * taken as it is. `mean-spatial`: a feature map [N, C, H, W] averaged over H and W. `mean-tokens`: a
 * sequence [N, T, D] averaged over the tokens the attention mask keeps. `first-token`: [N, T, D] → token 0
 * (a CLS token).
 */
export type Pooling = 'none' | 'mean-spatial' | 'mean-tokens' | 'first-token';
export const POOLINGS: readonly Pooling[] = ['none', 'mean-spatial', 'mean-tokens', 'first-token'];

/** `l2`: vectors are scaled to unit length, so a dot product is the cosine similarity. */
export type Normalization = 'l2' | 'none';
export const NORMALIZATIONS: readonly Normalization[] = ['l2', 'none'];

/** `longest`: pad each batch of texts to its longest; `max_length`: always to `maxLength` (models without a mask). */
export type Padding = 'longest' | 'max_length';
export const PADDINGS: readonly Padding[] = ['longest', 'max_length'];

export interface VisionSpec {
  /** Absolute path of the ONNX file. */
  file: string;
  /** sha256 the file must have, when the manifest pins it. */
  sha256?: string;
  /** The input tensor the pixels are fed to. */
  input: string;
  layout: Layout;
  width: number;
  height: number;
  resize: ResizeMode;
  /** For `shortest-side-crop`: the shortest side before the centre crop (256 for a 224 ImageNet crop). */
  shortestSide: number;
  interpolation: Interpolation;
  /** Multiplies the 0–255 pixel values before mean and std (1/255 for most models). */
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
  channelOrder: ChannelOrder;
  /** Fills transparent pixels and letterbox bars, 0–255 RGB. */
  background: [number, number, number];
  /** The tensor read as the embedding: a graph output, or any intermediate tensor (it is exposed); undefined: chosen at load. */
  output: string | undefined;
  pooling: Pooling;
}

export interface TextSpec {
  file: string;
  sha256?: string;
  /** tokenizer.json, read locally. */
  tokenizer: string;
  /** tokenizer_config.json, when present. */
  tokenizerConfig: string | undefined;
  inputIds: string;
  /** The attention-mask input; undefined: fed when the model has an input named `attention_mask`; null: never. */
  attentionMask: string | null | undefined;
  maxLength: number;
  /** undefined: `max_length` for models without an attention mask, `longest` otherwise. */
  padding: Padding | undefined;
  output: string | undefined;
  pooling: Pooling;
}

export interface ModelManifest {
  /** The manifest file, or the export folder it was derived from. */
  source: string;
  name: string;
  description?: string;
  license?: string;
  vision: VisionSpec;
  text: TextSpec | undefined;
  normalize: Normalization;
}
