#!/usr/bin/env node
// Embeds Fashion-MNIST images with the engine's default model (MobileNetV2, 1280-d pooled features) and
// caches them as raw float32 for bench/simulate.js --features embeddings.
//
//   npm run build && node bench/fashion-embeddings.js --count 2000 --split train
const { mkdirSync, writeFileSync, existsSync } = require('node:fs');
const path = require('node:path');
const sharp = require('sharp');
const { loadEmbedder } = require('../dist/embed');
const { loadFashionMnist } = require('./fashion-mnist');

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const count = Number(option('count', '2000'));
const split = option('split', 'train');
const out = path.join(__dirname, 'out', `fashion-${split}-${count}.f32`);

(async () => {
  if (existsSync(out)) return console.log(`${out} exists`);
  mkdirSync(path.dirname(out), { recursive: true });
  const data = loadFashionMnist(split, count);
  const embedder = await loadEmbedder();
  const started = performance.now();
  const vectors = [];
  for (let start = 0; start < count; start += 256) {
    const images = await Promise.all(
      data.images.slice(start, start + 256).map(async (pixels) => ({
        bytes: await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer(),
      })),
    );
    for (const result of await embedder.embedImages(images)) {
      if (!result.ok) throw new Error(result.reason);
      vectors.push(result.vector);
    }
    process.stderr.write(`\r${vectors.length}/${count}`);
  }
  await embedder.close();
  const matrix = new Float32Array(count * vectors[0].length);
  vectors.forEach((v, i) => matrix.set(v, i * v.length));
  writeFileSync(out, Buffer.from(matrix.buffer));
  console.log(`\n${out}: ${count} × ${vectors[0].length} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
})();
