/**
 * IEEE 754 half precision, for vectors on disk at half the size (Node 20 has no Float16Array). Encoding rounds
 * to nearest, ties to even; overflow goes to ±Infinity, tiny values to subnormals or ±0. Decoding goes
 * through a 65,536-entry table, built on first use.
 */
const float32 = new Float32Array(1);
const bits32 = new Uint32Array(float32.buffer);

/** The half-precision bits of `value`. */
export function toHalf(value: number): number {
  float32[0] = value;
  const x = bits32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Infinity or NaN
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: Infinity
  if (e <= 0) {
    if (e < -10) return sign; // too small even for a subnormal: ±0
    mantissa |= 0x800000; // the implicit leading 1
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // Rounding may carry into the exponent, which is still the right answer (up to Infinity).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

let table: Float32Array | undefined;

function halfTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    table[h] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa
            ? NaN
            : sign * Infinity
          : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return table;
}

/** Float32 values → half-precision bits. */
export function encodeHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalf(values[i]!);
  return out;
}

/** Half-precision bits → float32, into `out` from `offset` (a new array by default). */
export function decodeHalf(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length), offset = 0): Float32Array {
  const lookup = halfTable();
  for (let i = 0; i < bits.length; i++) out[offset + i] = lookup[bits[i]!]!;
  return out;
}
