// Reads Debian's dataset-fashion-mnist (IDX files, gzip) into { images: Uint8Array[], labels: number[] }.
const { readFileSync, existsSync } = require('node:fs');
const { gunzipSync } = require('node:zlib');
const path = require('node:path');

const ROOT = '/usr/share/datasets/fashion-mnist';
const CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];

function loadFashionMnist(split = 'train', limit = Infinity) {
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = path.join(ROOT, `${prefix}-images-idx3-ubyte.gz`);
  if (!existsSync(imagesFile)) throw new Error(`${imagesFile} not found: apt-get install dataset-fashion-mnist`);
  const images = gunzipSync(readFileSync(imagesFile));
  const labels = gunzipSync(readFileSync(path.join(ROOT, `${prefix}-labels-idx1-ubyte.gz`)));
  const count = Math.min(images.readUInt32BE(4), limit);
  const rows = images.readUInt32BE(8);
  const cols = images.readUInt32BE(12);
  const out = { width: cols, height: rows, images: [], labels: [], classes: CLASSES };
  for (let i = 0; i < count; i++) {
    out.images.push(images.subarray(16 + i * rows * cols, 16 + (i + 1) * rows * cols));
    out.labels.push(labels[8 + i]);
  }
  return out;
}

/** Raw pixels as features, centred: a row-major Float32Array of count × 784. */
function pixelFeatures(images) {
  const dim = images[0].length;
  const vectors = new Float32Array(images.length * dim);
  images.forEach((image, i) => {
    for (let j = 0; j < dim; j++) vectors[i * dim + j] = image[j] / 255 - 0.5;
  });
  return { dim, vectors };
}

module.exports = { loadFashionMnist, pixelFeatures, CLASSES };
