import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, ModelError } from '../errors';
import { runImagePipeline, type PipelineResult, type PipelineStages } from './image-pipeline';
import { resolveModel } from './manifest/from-export';
import type { ModelManifest, Padding, TextSpec } from './manifest/manifest-types';
import { defaultModelCacheDir, DEFAULT_MODEL } from './paths';
import { checkVisionInput, prepareTower, type PreparedTower } from './prepare-tower';
import { Preprocessor } from './preprocess/preprocessor';
import { planPreprocess, type FailOn } from './preprocess/steps';
import { ModelRunner } from './runtime/model-runner';
import type { FeedData, ReadSpec, SessionSpec } from './runtime/model-worker';
import { describeFallback, gpuDevicePresent, parseProviders, type ExecutionProvider } from './runtime/providers';
import { sayOnce, stderrNotice, type NoticeSink } from './notices';
import { TextTokenizer } from './tokenizer';
import type { Embedder, ImageEmbedding, ImageSource, ProviderFallback } from './types';

export interface EmbedderOptions {
  /** Execution providers in the order to try: a list or `"cuda,webgpu,cpu"`. Default `$QUICKSORT_PROVIDERS`, else cuda, webgpu, cpu (whose fallbacks are said only on a machine with a GPU device). */
  providers?: string | readonly string[];
  /** Preprocessing worker threads (decode and resize). Default: one per core. */
  threads?: number;
  /** ONNX Runtime intra-op threads. Default: onnxruntime's choice (one per physical core). */
  modelThreads?: number;
  /** Images per model call. Default 16. */
  batchSize?: number;
  /** Where models with exposed intermediate outputs are cached; see {@link defaultModelCacheDir}. */
  modelCacheDir?: string;
  /** Where provider fallbacks are said (once per message). Default: stderr. */
  onNotice?: NoticeSink;
  /** How strictly images are decoded (sharp's `failOn`). Default `error`: damaged data fails the image. */
  failOn?: FailOn;
  /** Images with more pixels are refused from their header. */
  maxPixels?: number;
}

const DEFAULT_BATCH = 16;
const TEXT_BATCH = 64;

interface TextTower {
  spec: TextSpec;
  tokenizer: TextTokenizer;
  session: SessionSpec;
  read: ReadSpec;
  attentionMask: string | null;
  padding: Padding;
  /** Other integer inputs the text model declares, filled by rule (token type ids 0, positions 0…T-1). */
  extraInputs: { name: string; fill: 'zeros' | 'positions' }[];
}

/**
 * An {@link Embedder} built from a model manifest and run by ONNX Runtime: images are preprocessed by sharp
 * in a worker pool and batched into the vision model, which runs in its own worker thread with the first
 * execution provider that works.
 *
 * @example
 * const embedder = await OnnxEmbedder.load();                         // bundled MobileNetV2, 1280-d
 * const clip = await OnnxEmbedder.load('~/models/clip-vit-base-patch32', { providers: 'cuda,cpu' });
 * const [text] = await clip.embedTexts(['a photo of a cat']);
 */
export class OnnxEmbedder implements Embedder {
  readonly hasText: boolean;
  private closed = false;

  private constructor(
    readonly manifest: ModelManifest,
    readonly modelId: string,
    readonly dim: number,
    readonly provider: ExecutionProvider,
    readonly fallbacks: readonly ProviderFallback[],
    readonly batchSize: number,
    readonly preprocessor: Preprocessor,
    private readonly runner: ModelRunner,
    private readonly vision: { session: SessionSpec; read: ReadSpec; input: string; fixedBatch: number | undefined },
    private readonly text: TextTower | undefined,
  ) {
    this.hasText = text !== undefined;
  }

  /** Loads a model from a manifest file, an export folder or a parsed manifest; the bundled default without one. */
  static async load(model: string | ModelManifest = DEFAULT_MODEL, options: EmbedderOptions = {}): Promise<OnnxEmbedder> {
    const manifest = typeof model === 'string' ? resolveModel(model) : model;
    const chosen = options.providers ?? process.env.QUICKSORT_PROVIDERS;
    const providers = parseProviders(chosen);
    // Nobody asked for a GPU and the machine has none: running on the CPU is expected, not worth a warning
    // (the fallbacks are still recorded on the embedder). A chosen list, or a GPU present, is always explained.
    const explainFallbacks = chosen !== undefined || gpuDevicePresent();
    const batchSize = positiveInteger(options.batchSize ?? DEFAULT_BATCH, 'batchSize');
    const threads = positiveInteger(options.threads ?? availableParallelism(), 'threads');
    const modelThreads = options.modelThreads === undefined ? undefined : positiveInteger(options.modelThreads, 'modelThreads');
    const cacheDir = options.modelCacheDir ?? defaultModelCacheDir();
    const notice = options.onNotice ?? stderrNotice;

    const visionTower = await prepareTower(manifest, 'vision', manifest.vision, cacheDir);
    const fixedBatch = checkVisionInput(manifest, visionTower);
    const textTower = manifest.text ? await prepareTower(manifest, 'text', manifest.text, cacheDir) : undefined;

    const session = (tower: PreparedTower): SessionSpec => ({
      file: tower.loadFile,
      providers,
      ...(modelThreads ? { intraOpThreads: modelThreads } : {}),
    });
    const { vision: spec } = manifest;
    const visionRead: ReadSpec = { output: visionTower.output, pooling: spec.pooling, normalize: manifest.normalize };
    const visionSession = session(visionTower);
    const runner = new ModelRunner();
    try {
      const probeDims = imageDims(manifest, 1);
      const opened = await runner.open(
        visionSession,
        [{ name: spec.input, kind: 'float32', data: new Float32Array(probeDims.reduce((a, b) => a * b, 1)), dims: probeDims }],
        visionRead,
        `cannot run the vision model of ${manifest.source} (${path.basename(spec.file)})`,
      );
      if (explainFallbacks) for (const fallback of opened.fallbacks) sayOnce(notice, describeFallback(fallback, opened.provider));
      const text = textTower ? await openText(manifest, manifest.text!, textTower, session(textTower), runner, opened.dim) : undefined;
      const preprocessor = new Preprocessor(planPreprocess(spec, { failOn: options.failOn, maxPixels: options.maxPixels }), { threads });
      return new OnnxEmbedder(
        manifest,
        modelIdOf(manifest, visionTower, textTower, visionRead.output),
        opened.dim,
        opened.provider,
        opened.fallbacks,
        fixedBatch ? Math.min(batchSize, fixedBatch) : batchSize,
        preprocessor,
        runner,
        { session: visionSession, read: visionRead, input: spec.input, fixedBatch },
        text,
      );
    } catch (error) {
      await runner.close();
      throw error;
    }
  }

  async embedImages(images: readonly ImageSource[], options: { signal?: AbortSignal } = {}): Promise<ImageEmbedding[]> {
    const results: ImageEmbedding[] = [];
    await this.embedStream(images, (image) => image, (batch) => void results.push(...batch.map((entry) => entry.result)), options);
    return results;
  }

  /**
   * Embeds a stream of inputs of any length with bounded memory; `onBatch` receives each model batch's
   * results in input order (awaited: a slow consumer slows the reading).
   */
  embedStream<T>(
    inputs: Iterable<T> | AsyncIterable<T>,
    sourceOf: (input: T) => ImageSource,
    onBatch: (results: PipelineResult<T>[]) => void | Promise<void>,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    this.checkOpen();
    const threads = this.preprocessor.threads;
    const stages: PipelineStages = {
      floatsPerImage: this.preprocessor.floatsPerImage,
      batchSize: this.batchSize,
      chunkSize: Math.max(1, Math.min(16, Math.ceil(this.batchSize / threads))),
      chunksInFlight: threads * 2,
      preprocess: (sources) => this.preprocessor.run(sources),
      infer: (data, count) => this.embedTensor(data, count),
    };
    return runImagePipeline(inputs, sourceOf, stages, onBatch, options.signal);
  }

  /**
   * Runs the vision model on preprocessed images (`count` × the model's input size, in its layout): the
   * bare model, without decoding. Returns count × dim floats.
   */
  async embedTensor(data: Float32Array, count: number): Promise<{ vectors: Float32Array; dim: number }> {
    this.checkOpen();
    const fixed = this.vision.fixedBatch;
    // A model with a fixed batch size gets exactly that many images: the last batch is padded, then cut.
    const padded = fixed && count < fixed ? padTo(data, count, fixed) : data;
    const dims = imageDims(this.manifest, fixed && count < fixed ? fixed : count);
    const result = await this.runner.run(
      this.vision.session,
      [{ name: this.vision.input, kind: 'float32', data: padded, dims }],
      this.vision.read,
      `the vision model of ${this.manifest.source} failed`,
    );
    return { vectors: result.vectors.subarray(0, count * result.dim), dim: result.dim };
  }

  async embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    this.checkOpen();
    const text = this.text;
    if (!text) {
      throw new ModelError(`${this.manifest.name} has no text tower (${this.manifest.source} has no "text" section); use a two-tower model such as a CLIP or SigLIP export`);
    }
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += TEXT_BATCH) {
      const batch = texts.slice(start, start + TEXT_BATCH);
      const { vectors, dim } = await this.runner.run(text.session, textFeeds(text, batch), text.read, `the text model of ${this.manifest.source} failed`);
      for (let i = 0; i < batch.length; i++) out.push(vectors.slice(i * dim, (i + 1) * dim));
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.preprocessor.close(), this.runner.close()]);
  }

  private checkOpen(): void {
    if (this.closed) throw new ModelError(`the embedder for ${this.manifest.name} is closed; load it again`);
  }
}

async function openText(
  manifest: ModelManifest,
  spec: TextSpec,
  tower: PreparedTower,
  session: SessionSpec,
  runner: ModelRunner,
  visionDim: number,
): Promise<TextTower> {
  const inputs = tower.outline.inputs.map((input) => input.name);
  let attentionMask: string | null;
  if (spec.attentionMask === undefined) attentionMask = inputs.includes('attention_mask') ? 'attention_mask' : null;
  else if (spec.attentionMask !== null && !inputs.includes(spec.attentionMask)) {
    throw new ModelError(`${manifest.source}: field "text.attentionMask" names ${JSON.stringify(spec.attentionMask)}, but ${path.basename(spec.file)} takes ${inputs.join(', ')}`);
  } else attentionMask = spec.attentionMask;
  const extraInputs: TextTower['extraInputs'] = [];
  for (const name of inputs) {
    if (name === spec.inputIds || name === attentionMask) continue;
    if (name === 'token_type_ids') extraInputs.push({ name, fill: 'zeros' });
    else if (name === 'position_ids') extraInputs.push({ name, fill: 'positions' });
    else if (name === 'attention_mask') continue;
    else throw new ModelError(`${path.basename(spec.file)} takes an input ${JSON.stringify(name)} the engine cannot fill; it feeds ${spec.inputIds}, an attention mask, token_type_ids and position_ids`);
  }
  const tokenizer = TextTokenizer.load(spec.tokenizer, spec.tokenizerConfig);
  const text: TextTower = {
    spec,
    tokenizer,
    session,
    read: {
      output: tower.output,
      pooling: spec.pooling,
      normalize: manifest.normalize,
      ...(spec.pooling === 'mean-tokens' && attentionMask ? { maskFeed: attentionMask } : {}),
    },
    attentionMask,
    // Without a mask the model sees the padding, so pad as it was trained: to the full length.
    padding: spec.padding ?? (attentionMask ? 'longest' : 'max_length'),
    extraInputs,
  };
  const opened = await runner.open(session, textFeeds(text, ['a photo']), text.read, `cannot run the text model of ${manifest.source} (${path.basename(spec.file)})`);
  if (opened.dim !== visionDim) {
    throw new ModelError(
      `${manifest.source}: the text tower gives ${opened.dim}-d vectors and the vision tower ${visionDim}-d; ` +
        `a two-tower model must embed both into one space (check "text.output" and "vision.output")`,
    );
  }
  return text;
}

function textFeeds(text: TextTower, texts: readonly string[]): FeedData[] {
  const batch = text.tokenizer.encodeBatch(texts, text.spec.maxLength, text.padding);
  const dims = [batch.count, batch.length];
  const feeds: FeedData[] = [{ name: text.spec.inputIds, kind: 'integer', data: batch.ids, dims }];
  if (text.attentionMask) feeds.push({ name: text.attentionMask, kind: 'integer', data: batch.mask, dims });
  for (const extra of text.extraInputs) {
    const data = extra.fill === 'zeros' ? new Array<number>(batch.ids.length).fill(0) : batch.ids.map((_, i) => i % batch.length);
    feeds.push({ name: extra.name, kind: 'integer', data, dims });
  }
  return feeds;
}

function imageDims(manifest: ModelManifest, count: number): number[] {
  const { width, height, layout } = manifest.vision;
  return layout === 'NCHW' ? [count, 3, height, width] : [count, height, width, 3];
}

function padTo(data: Float32Array, count: number, size: number): Float32Array {
  const perImage = data.length / count;
  const out = new Float32Array(size * perImage);
  out.set(data);
  return out;
}

/**
 * `name@hash`, where the hash covers the model files, the tensors read, the preprocessing and the
 * normalisation: whatever would change a vector. File locations are left out, so moving a model keeps it.
 */
function modelIdOf(manifest: ModelManifest, vision: PreparedTower, text: PreparedTower | undefined, visionOutput: string): string {
  // Paths and pins are left out (the hashes of the files stand for them).
  const { file: _file, sha256: _pin, ...visionSpec } = manifest.vision;
  const material: Record<string, unknown> = {
    vision: { ...visionSpec, output: visionOutput, sha256: vision.sha256 },
    normalize: manifest.normalize,
  };
  if (manifest.text && text) {
    const { file: _textFile, sha256: _textPin, tokenizer, tokenizerConfig: _config, ...textSpec } = manifest.text;
    material.text = {
      ...textSpec,
      output: text.output,
      sha256: text.sha256,
      tokenizer: createHash('sha256').update(readFileSync(tokenizer)).digest('hex'),
    };
  }
  const hash = createHash('sha256').update(JSON.stringify(material)).digest('hex').slice(0, 12);
  return `${manifest.name}@${hash}`;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1; got ${value}`);
  return value;
}
