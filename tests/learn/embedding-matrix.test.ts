import { centeringAndNormalizing, checkShape } from '../../src/learn';
import { mulberry32 } from '../../src/random';

/*
 * The learner's rows are the embeddings centred on their mean and scaled to unit length. A session on a large
 * dataset does that in steps between requests, so the steps must give exactly the rows of the one-go pass.
 */

describe('centring and normalising the rows', () => {
  const random = mulberry32(3);
  const rows = 700;
  const dim = 512; // more values than one step holds: the pass is cut into several steps
  const matrix = { ids: Array.from({ length: rows }, (_, i) => i + 1), dim, vectors: Float32Array.from({ length: rows * dim }, () => random() + 3) };

  it('gives unit rows centred on the mean, in several steps', () => {
    const steps = centeringAndNormalizing(matrix);
    let yields = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) yields++;
    expect(yields).toBeGreaterThan(2);
    const unit = step.value;
    expect(unit.ids).toBe(matrix.ids);
    const mean = new Float64Array(dim);
    for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j]! += matrix.vectors[r * dim + j]! / rows;
    for (const r of [0, 1, 350, rows - 1]) {
      const centred = Array.from({ length: dim }, (_, j) => matrix.vectors[r * dim + j]! - mean[j]!);
      const norm = Math.hypot(...centred);
      for (let j = 0; j < dim; j++) expect(unit.vectors[r * dim + j]).toBeCloseTo(centred[j]! / norm, 5);
    }
  });

  it('refuses a matrix whose values are not one row per id', () => {
    expect(() => checkShape({ ids: [1, 2], dim: 3, vectors: new Float32Array(5) })).toThrow(/5 values, expected ids \(2\) × dim \(3\)/);
  });
});
