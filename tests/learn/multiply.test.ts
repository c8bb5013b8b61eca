import { multiplyTransposed } from '../../src/learn/multiply';
import { mulberry32 } from '../../src/random';

describe('multiplyTransposed', () => {
  // Shapes around the 4 × 4 tiles: whole tiles, edges of 1–3 rows on either side, a single row or column.
  it.each([[8, 8, 5], [7, 9, 13], [5, 6, 1], [1, 3, 4], [3, 1, 7], [4, 4, 37]])('A (%i × k) · Bᵀ (%i × k), k = %i, is the plain triple loop', (m, n, k) => {
    const random = mulberry32(m * 100 + n * 10 + k);
    const a = Float32Array.from({ length: m * k }, () => random() - 0.5);
    const b = Float32Array.from({ length: n * k }, () => random() - 0.5);
    const out = multiplyTransposed(a, m, b, n, k, new Float32Array(m * n).fill(NaN));
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < n; l++) {
        let sum = 0;
        for (let t = 0; t < k; t++) sum += a[i * k + t]! * b[l * k + t]!;
        expect(out[i * n + l]).toBeCloseTo(sum, 6);
      }
    }
  });
});
