import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { JointIndex } from '../../src/text';
import { mulberry32 } from '../../src/random';
import { tempDir } from '../helpers/fixtures';

/*
 * Searching 100k items needs their projection into the joint space, which costs seconds; it is cached in a file
 * beside the text model and must be used only when it was made from the same model, image model and items.
 */

function unitRows(rows: number, dim: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const vectors = Float32Array.from({ length: rows * dim }, () => random() - 0.5);
  for (let r = 0; r < rows; r++) {
    const row = vectors.subarray(r * dim, (r + 1) * dim);
    const norm = Math.hypot(...row);
    for (let j = 0; j < dim; j++) row[j]! /= norm;
  }
  return vectors;
}

describe('the joint index', () => {
  const dim = 16;
  const ids = Array.from({ length: 300 }, (_, i) => 10 + i * 3);
  const index = new JointIndex(ids, dim, unitRows(ids.length, dim, 1));
  const key = { modelMtimeMs: 1234.5, modelBytes: 999, imageModel: 'mobilenet@abc' };
  const query = unitRows(1, dim, 2);

  it('finds the same nearest rows over all rows (SIMD) as a JavaScript scan, and only the rows asked for', () => {
    const all = index.search(query, 10);
    const scores = ids.map((_, row) => ({ row, score: index.vectors.subarray(row * dim, (row + 1) * dim).reduce((sum, v, j) => sum + v * query[j]!, 0) }));
    scores.sort((a, b) => b.score - a.score);
    expect(all.map((hit) => hit.row)).toEqual(scores.slice(0, 10).map((s) => s.row));
    for (let i = 0; i < 10; i++) expect(all[i]!.score).toBeCloseTo(scores[i]!.score, 5);
    const among = Int32Array.from([5, 17, 200, 299]);
    expect(index.search(query, 10, among).map((hit) => hit.row).sort((a, b) => a - b)).toEqual([5, 17, 200, 299]);
  });

  it('is read back from its file only for the same model, image model and items', () => {
    const temp = tempDir('quicksort-joint-');
    try {
      const file = path.join(temp.dir, 'joint.bin');
      expect(JointIndex.read(file, key, ids)).toBeUndefined(); // no file yet
      index.write(file, key);
      const back = JointIndex.read(file, key, ids)!;
      expect(back.vectors.byteOffset).toBe(0);
      expect([...back.vectors]).toEqual([...index.vectors]);
      expect(back.search(query, 5)).toEqual(index.search(query, 5));
      expect(JointIndex.read(file, { ...key, modelMtimeMs: 1 }, ids)).toBeUndefined(); // a newer model
      expect(JointIndex.read(file, { ...key, imageModel: 'other@def' }, ids)).toBeUndefined();
      expect(JointIndex.read(file, key, [...ids.slice(0, -1), 5000])).toBeUndefined(); // other items
      const bytes = readFileSync(file);
      writeFileSync(file, bytes.subarray(0, bytes.length - 7)); // truncated
      expect(JointIndex.read(file, key, ids)).toBeUndefined();
    } finally {
      temp.cleanup();
    }
  });
});
