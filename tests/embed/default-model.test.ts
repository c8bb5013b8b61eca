import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { InvalidArgumentError, ModelError } from '../../src/errors';
import { DEFAULT_MODEL, OnnxEmbedder, type EmbedderOptions } from '../../src/embed';
import { gpuDevicePresent } from '../../src/embed/runtime/providers';
import { cosine, sampleFiles, tempFolder } from './fixtures/images';

const temp = tempFolder();
const notices: string[] = [];
const sink = (message: string) => notices.push(message);
const options: EmbedderOptions = { modelCacheDir: path.join(temp.dir, 'model-cache'), onNotice: sink };
let embedder: OnnxEmbedder;

beforeAll(async () => {
  // cuda is never available on the test machines (no provider library): it must fall back, saying why.
  embedder = await OnnxEmbedder.load(DEFAULT_MODEL, { ...options, providers: ['cuda', 'cpu'] });
});

afterAll(async () => {
  await embedder?.close();
  temp.cleanup();
});

function vectorOf(result: { ok: boolean } & ({ ok: true; vector: Float32Array } | { ok: false; reason: string })): Float32Array {
  if (!result.ok) throw new Error(`expected a vector, got a failure: ${result.reason}`);
  return result.vector;
}

describe('the default model (MobileNetV2 int8, pooled layer)', () => {
  it('loads offline from the repository with a stable id and 1280 dimensions', () => {
    expect(embedder.dim).toBe(1280);
    expect(embedder.modelId).toMatch(/^mobilenetv2-12-int8@[0-9a-f]{12}$/);
    expect(embedder.hasText).toBe(false);
  });

  it('falls back from an unavailable provider to the CPU and says why, once', async () => {
    expect(embedder.provider).toBe('cpu');
    expect(embedder.fallbacks).toEqual([{ provider: 'cuda', reason: expect.stringMatching(/CUDA provider libraries .* not installed/) }]);
    const again = await OnnxEmbedder.load(DEFAULT_MODEL, { ...options, providers: 'cuda,cpu' });
    await again.close();
    expect(notices).toEqual([expect.stringMatching(/^execution provider cuda is not available, running on cpu: the CUDA provider libraries/)]);
    // The second load found the exposed model in the cache and did not write it again.
    expect(again.modelId).toBe(embedder.modelId);
  });

  it('runs on the CPU without a word when nobody asked for a GPU and the machine has none', async () => {
    const said: string[] = [];
    const saved = process.env.QUICKSORT_PROVIDERS;
    delete process.env.QUICKSORT_PROVIDERS;
    try {
      const quiet = await OnnxEmbedder.load(DEFAULT_MODEL, { ...options, onNotice: (message) => said.push(message) });
      await quiet.close();
      expect(quiet.provider).toBe('cpu');
      expect(quiet.fallbacks.map((f) => f.provider)).toEqual(['cuda', 'webgpu']); // still recorded
      // With a GPU device present, a fallback from the default order is worth explaining.
      expect(said).toHaveLength(gpuDevicePresent() ? 2 : 0);
    } finally {
      if (saved !== undefined) process.env.QUICKSORT_PROVIDERS = saved;
    }
  });

  it('embeds every sample image into a finite unit vector of 1280', async () => {
    const files = sampleFiles();
    const results = await embedder.embedImages(files.map((file) => ({ file })));
    expect(results).toHaveLength(files.length);
    for (const result of results) {
      const vector = vectorOf(result);
      expect(vector).toHaveLength(1280);
      expect(vector.every(Number.isFinite)).toBe(true);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 4);
    }
  });

  it('gives the same vector for the same image, read from a file or from bytes, in any batch', async () => {
    const file = sampleFiles()[3]!;
    const [fromFile, other, fromBytes] = await embedder.embedImages([{ file }, { file: sampleFiles()[5]! }, { bytes: readFileSync(file) }]);
    const [alone] = await embedder.embedImages([{ file }]);
    expect(Array.from(vectorOf(fromBytes!))).toEqual(Array.from(vectorOf(fromFile!)));
    expect(Array.from(vectorOf(alone!))).toEqual(Array.from(vectorOf(fromFile!)).map((v) => expect.closeTo(v, 5)));
    expect(cosine(vectorOf(fromFile!), vectorOf(other!))).toBeLessThan(0.99);
  });

  it('puts an image nearer its horizontal flip than any other sample image', async () => {
    const files = sampleFiles().slice(0, 12);
    const inputs = [];
    for (const file of files) inputs.push({ file }, { bytes: await sharp(file).flop().jpeg({ quality: 90 }).toBuffer() });
    const vectors = (await embedder.embedImages(inputs)).map(vectorOf);
    for (let i = 0; i < files.length; i++) {
      const flipped = cosine(vectors[2 * i]!, vectors[2 * i + 1]!);
      const others = files.map((_, j) => (j === i ? -1 : cosine(vectors[2 * i]!, vectors[2 * j]!)));
      expect(flipped).toBeGreaterThan(Math.max(...others));
    }
  });

  it('marks a corrupt image failed and embeds the rest of its batch', async () => {
    const [a, b] = sampleFiles();
    const corrupt = path.join(temp.dir, 'corrupt.jpg');
    const bytes = readFileSync(a!);
    writeFileSync(corrupt, Buffer.concat([bytes.subarray(0, 600), Buffer.alloc(4000, 0x5a)]));
    const results = await embedder.embedImages([{ file: a! }, { file: corrupt }, { bytes: Buffer.from('not an image') }, { file: path.join(temp.dir, 'missing.jpg') }, { file: b! }]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false, false, true]);
    expect(results[1]).toEqual({ ok: false, reason: expect.stringContaining(`cannot decode ${corrupt}`) });
    expect(results[3]).toEqual({ ok: false, reason: expect.stringMatching(/cannot read .*missing\.jpg: ENOENT/) });
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stopped by the test'));
    await expect(embedder.embedImages(sampleFiles().map((file) => ({ file })), { signal: controller.signal })).rejects.toThrow('stopped by the test');
  });

  it('embeds pre-made tensors directly (the bare model)', async () => {
    const floats = 3 * 224 * 224;
    const { vectors, dim } = await embedder.embedTensor(new Float32Array(2 * floats), 2);
    expect(dim).toBe(1280);
    expect(vectors).toHaveLength(2 * 1280);
  });
});

describe('bad model configuration', () => {
  const manifest = JSON.parse(readFileSync(DEFAULT_MODEL, 'utf8')) as { vision: Record<string, unknown>; [key: string]: unknown };

  function writeManifest(name: string, vision: Record<string, unknown>): string {
    copyFileSync(path.join(path.dirname(DEFAULT_MODEL), 'mobilenetv2-12-int8.onnx'), path.join(temp.dir, 'mobilenetv2-12-int8.onnx'));
    const file = path.join(temp.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ ...manifest, vision: { ...manifest.vision, ...vision } }));
    return file;
  }

  async function loadError(file: string, extra: EmbedderOptions = {}): Promise<Error> {
    const error = await OnnxEmbedder.load(file, { ...options, providers: 'cpu', ...extra }).then(
      async (loaded) => {
        await loaded.close();
        throw new Error('expected the load to fail');
      },
      (e: unknown) => e as Error,
    );
    return error;
  }

  it('names the manifest field when the model file is missing', async () => {
    const error = await loadError(writeManifest('missing-file', { file: 'nowhere/model.onnx', sha256: undefined }));
    expect(error).toBeInstanceOf(ModelError);
    expect(error.message).toMatch(/missing-file\.json: field "vision\.file" names .*nowhere\/model\.onnx, which does not exist/);
  });

  it('lists the graph outputs and candidates when the manifest names a tensor that does not exist', async () => {
    const error = await loadError(writeManifest('no-tensor', { output: '62' }));
    expect(error).toBeInstanceOf(ModelError);
    expect(error.message).toMatch(/field "vision\.output" names the tensor "62", which is not in the graph/);
    expect(error.message).toMatch(/Graph outputs: output \[batch_size, 1000\]/);
    expect(error.message).toMatch(/"627"/);
  });

  it('refuses a size the model does not take, saying the size it does', async () => {
    const error = await loadError(writeManifest('wrong-size', { width: 300, height: 300, shortestSide: 300 }));
    expect(error).toBeInstanceOf(ModelError);
    expect(error.message).toMatch(/"vision\.width" × "vision\.height" are 300 × 300, .*\[batch_size, 3, 224, 224\] \(NCHW\): set them to 224 × 224/);
  });

  it('refuses an input name the model does not have', async () => {
    const error = await loadError(writeManifest('wrong-input', { input: 'images' }));
    expect(error.message).toMatch(/field "vision\.input" names the input "images", but mobilenetv2-12-int8\.onnx takes "input" \[batch_size, 3, 224, 224\]/);
  });

  it('refuses a pinned hash that does not match', async () => {
    const error = await loadError(writeManifest('wrong-hash', { sha256: '0'.repeat(64) }));
    expect(error.message).toMatch(/pins 0{64}: the file is damaged or another version/);
  });

  it('refuses an unknown execution provider, listing the known ones', async () => {
    const error = await loadError(DEFAULT_MODEL, { providers: ['cuda', 'tpu'] });
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toMatch(/unknown execution provider "tpu"; known: cuda, tensorrt, webgpu, dml, coreml, cpu/);
  });

  it('keeps the exposed model in the cache folder, written once', async () => {
    const cached = path.join(temp.dir, 'model-cache');
    const files = readdirSync(cached).filter((name) => name.endsWith('.onnx'));
    expect(files).toEqual([expect.stringMatching(/^mobilenetv2-12-int8\.[0-9a-f]{16}\.onnx$/)]);
    const before = statSync(path.join(cached, files[0]!)).mtimeMs;
    const again = await OnnxEmbedder.load(DEFAULT_MODEL, { ...options, providers: 'cpu' });
    await again.close();
    expect(statSync(path.join(cached, files[0]!)).mtimeMs).toBe(before);
  });
});
