/**
 * out = A·Bᵀ for row-major A (m × k) and B (n × k): out[i·n + l] = Σ_t A[i·k + t] · B[l·k + t].
 *
 * Tiles of 4 rows of A by 4 rows of B: each pass over t loads 8 values for 16 multiply-adds held in
 * registers, which is what lets V8's scalar code reach ~1.5 GMAC/s here against ~0.45 for one dot
 * product at a time (bench/simulate.js). The edges (m or n not a multiple of 4) are plain dot products.
 * Rows may end early: with `lengthsA`/`lengthsB`, the values of a row from its length on are zero and are
 * not read (the simulator's pool coordinates are triangular, see span-basis.ts).
 *
 * @example
 * multiplyTransposed(batch, 32, weights, classes, dim, scores); // scores[e·classes + c] = x_e · w_c
 */
export function multiplyTransposed<Out extends Float32Array | Float64Array>(
  a: Float32Array,
  m: number,
  b: Float32Array,
  n: number,
  k: number,
  out: Out,
  lengthsA?: Int32Array,
  lengthsB?: Int32Array,
): Out {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  const lengthA = (i: number, count: number) => (lengthsA ? longest(lengthsA, i, count) : k);
  const lengthB = (l: number, count: number) => (lengthsB ? longest(lengthsB, l, count) : k);
  for (let i = 0; i < m4; i += 4) {
    const a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    const kA = lengthA(i, 4);
    for (let l = 0; l < n4; l += 4) {
      const b0 = l * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
      const kt = Math.min(kA, lengthB(l, 4));
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let t = 0; t < kt; t++) {
        const x0 = a[a0 + t]!, x1 = a[a1 + t]!, x2 = a[a2 + t]!, x3 = a[a3 + t]!;
        const y0 = b[b0 + t]!, y1 = b[b1 + t]!, y2 = b[b2 + t]!, y3 = b[b3 + t]!;
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      const o0 = i * n + l, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
      out[o0] = s00; out[o0 + 1] = s01; out[o0 + 2] = s02; out[o0 + 3] = s03;
      out[o1] = s10; out[o1 + 1] = s11; out[o1 + 2] = s12; out[o1 + 3] = s13;
      out[o2] = s20; out[o2 + 1] = s21; out[o2 + 2] = s22; out[o2 + 3] = s23;
      out[o3] = s30; out[o3 + 1] = s31; out[o3 + 2] = s32; out[o3 + 3] = s33;
    }
  }
  for (let i = 0; i < m; i++) {
    for (let l = i < m4 ? n4 : 0; l < n; l++) {
      let sum = 0;
      const kt = Math.min(lengthA(i, 1), lengthB(l, 1));
      for (let t = 0, ai = i * k, bl = l * k; t < kt; t++) sum += a[ai + t]! * b[bl + t]!;
      out[i * n + l] = sum;
    }
  }
  return out;
}

function longest(lengths: Int32Array, from: number, count: number): number {
  let most = 0;
  for (let i = from; i < from + count; i++) most = Math.max(most, lengths[i]!);
  return most;
}
