import { SpanBasis } from '../../src/learn/span-basis';
import { mulberry32 } from '../../src/random';

describe('SpanBasis', () => {
  const random = mulberry32(5);
  const matrix = (rows: number, dim: number) => ({ ids: Array.from({ length: rows }, (_, i) => i + 1), dim, vectors: Float32Array.from({ length: rows * dim }, () => random() - 0.5) });
  const dot = (a: Float32Array, i: number, b: Float32Array, l: number, k: number) => {
    let sum = 0;
    for (let t = 0; t < k; t++) sum += a[i * k + t]! * b[l * k + t]!;
    return sum;
  };

  it('keeps the dot products of the rows, and of other vectors with them, in fewer dimensions', () => {
    const rows = matrix(12, 40);
    // A row that is a combination of others adds no dimension.
    for (let j = 0; j < 40; j++) rows.vectors[11 * 40 + j] = rows.vectors[j]! - 2 * rows.vectors[40 + j]!;
    const basis = SpanBasis.of(rows)!;
    expect(basis.coordinates.dim).toBe(11);
    const { vectors: coordinates, dim } = basis.coordinates;
    for (let i = 0; i < 12; i++) for (let l = 0; l < 12; l++) expect(dot(coordinates, i, coordinates, l, dim)).toBeCloseTo(dot(rows.vectors, i, rows.vectors, l, 40), 5);
    const others = matrix(3, 40);
    const projected = basis.project(others);
    for (let i = 0; i < 3; i++) for (let l = 0; l < 12; l++) expect(dot(projected.vectors, i, coordinates, l, dim)).toBeCloseTo(dot(others.vectors, i, rows.vectors, l, 40), 5);
  });

  it('is not made when the rows are as many as the dimensions', () => {
    expect(SpanBasis.of(matrix(8, 8))).toBeUndefined();
  });
});
