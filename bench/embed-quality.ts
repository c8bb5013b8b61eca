// Quality of the default embeddings: k-NN (k = 5) accuracy on Fashion-MNIST, 1,000 train / 1,000 test
// images (the first of each official split), against raw pixels in the same run.
//
//   apt-get install -y dataset-fashion-mnist
//   npm run build && npx esbuild bench/embed-quality.ts --bundle --platform=node --packages=external \
//     --outfile=dist/bench/embed-quality.js && node dist/bench/embed-quality.js [--train 1000] [--test 1000] [--model x.json]
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { OnnxEmbedder } from '../src/embed';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1]! : fallback;
};
const FOLDER = option('data', '/usr/share/datasets/fashion-mnist');
const TRAIN = Number(option('train', '1000'));
const TEST = Number(option('test', '1000'));
const K = Number(option('k', '5'));
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** The IDX files of (Fashion-)MNIST: big-endian header, then bytes. */
function readIdx(file: string, count: number): { data: Uint8Array; size: number } {
  const bytes = gunzipSync(readFileSync(path.join(FOLDER, file)));
  const magic = bytes.readUInt32BE(0);
  const dims = magic & 0xff;
  const shape = Array.from({ length: dims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const size = shape.slice(1).reduce((a, b) => a * b, 1);
  if (shape[0]! < count) throw new Error(`${file} holds ${shape[0]} records, fewer than ${count}`);
  return { data: bytes.subarray(4 + 4 * dims, 4 + 4 * dims + count * size), size };
}

function knnAccuracy(train: Float32Array, trainLabels: Uint8Array, test: Float32Array, testLabels: Uint8Array, dim: number, metric: 'l2' | 'cosine'): number {
  const trainCount = trainLabels.length;
  const norms = (m: Float32Array, n: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sqrt(m.subarray(i * dim, (i + 1) * dim).reduce((s, v) => s + v * v, 0)) || 1);
  const trainNorms = norms(train, trainCount);
  let correct = 0;
  for (let t = 0; t < testLabels.length; t++) {
    const query = test.subarray(t * dim, (t + 1) * dim);
    const scored: { distance: number; label: number }[] = [];
    for (let i = 0; i < trainCount; i++) {
      const row = train.subarray(i * dim, (i + 1) * dim);
      let distance = 0;
      if (metric === 'l2') {
        for (let d = 0; d < dim; d++) distance += (query[d]! - row[d]!) ** 2;
      } else {
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += query[d]! * row[d]!;
        distance = -dot / trainNorms[i]!;
      }
      scored.push({ distance, label: trainLabels[i]! });
    }
    scored.sort((a, b) => a.distance - b.distance);
    const votes = new Map<number, number>();
    for (const { label } of scored.slice(0, K)) votes.set(label, (votes.get(label) ?? 0) + 1);
    const top = Math.max(...votes.values());
    // A tie goes to the tied class with the nearest neighbour.
    const winner = scored.slice(0, K).find(({ label }) => votes.get(label) === top)!.label;
    if (winner === testLabels[t]) correct++;
  }
  return correct / testLabels.length;
}

async function embedAll(embedder: OnnxEmbedder, pixels: Uint8Array, count: number): Promise<Float32Array> {
  const inputs: { bytes: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const image = Buffer.from(pixels.subarray(i * 784, (i + 1) * 784));
    inputs.push({ bytes: await sharp(image, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toBuffer() });
  }
  const results = await embedder.embedImages(inputs);
  const out = new Float32Array(count * embedder.dim);
  results.forEach((result, i) => {
    if (!result.ok) throw new Error(`image ${i} failed: ${result.reason}`);
    out.set(result.vector, i * embedder.dim);
  });
  return out;
}

async function main(): Promise<void> {
  const trainImages = readIdx('train-images-idx3-ubyte.gz', TRAIN);
  const trainLabels = readIdx('train-labels-idx1-ubyte.gz', TRAIN).data;
  const testImages = readIdx('t10k-images-idx3-ubyte.gz', TEST);
  const testLabels = readIdx('t10k-labels-idx1-ubyte.gz', TEST).data;
  const perClass = CLASSES.map((_, c) => trainLabels.filter((l) => l === c).length);
  console.log(`# Fashion-MNIST k-NN (k=${K}): ${TRAIN} train / ${TEST} test; train images per class ${perClass.join(' ')}`);

  const toFloats = (data: Uint8Array) => Float32Array.from(data, (v) => v / 255);
  const rawL2 = knnAccuracy(toFloats(trainImages.data), trainLabels, toFloats(testImages.data), testLabels, 784, 'l2');
  const rawCosine = knnAccuracy(toFloats(trainImages.data), trainLabels, toFloats(testImages.data), testLabels, 784, 'cosine');

  const started = performance.now();
  const embedder = await OnnxEmbedder.load(option('model', '') || undefined, {
    providers: 'cpu',
    modelCacheDir: path.join(tmpdir(), 'quicksort-bench-model-cache'),
  });
  try {
    const trainVectors = await embedAll(embedder, trainImages.data, TRAIN);
    const testVectors = await embedAll(embedder, testImages.data, TEST);
    const seconds = (performance.now() - started) / 1000;
    const embedded = knnAccuracy(trainVectors, trainLabels, testVectors, testLabels, embedder.dim, 'cosine');
    // Centred on the train mean: all MobileNet features are ≥ 0 (after ReLU6), so cosines crowd near 1.
    const dim = embedder.dim;
    const mean = new Float32Array(dim);
    for (let i = 0; i < TRAIN; i++) for (let d = 0; d < dim; d++) mean[d]! += trainVectors[i * dim + d]! / TRAIN;
    const centre = (m: Float32Array) => m.map((v, i) => v - mean[i % dim]!);
    const centred = knnAccuracy(centre(trainVectors), trainLabels, centre(testVectors), testLabels, dim, 'cosine');
    console.log('\n| features | dim | k-NN accuracy |');
    console.log('| --- | ---: | ---: |');
    console.log(`| raw pixels, L2 | 784 | ${(rawL2 * 100).toFixed(1)}% |`);
    console.log(`| raw pixels, cosine | 784 | ${(rawCosine * 100).toFixed(1)}% |`);
    console.log(`| ${embedder.modelId}, cosine | ${embedder.dim} | ${(embedded * 100).toFixed(1)}% |`);
    console.log(`| ${embedder.modelId}, centred, cosine | ${embedder.dim} | ${(centred * 100).toFixed(1)}% |`);
    console.log(`\nembedding ${TRAIN + TEST} images took ${seconds.toFixed(1)} s (model load included)`);
  } finally {
    await embedder.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
