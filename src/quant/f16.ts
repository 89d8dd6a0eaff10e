// IEEE half (f16) and bfloat16 conversions: f16/bf16 -> f32 by lookup tables, f32 -> f16/bf16 with round-to-nearest-even.

// One shared 4-byte scratch to move bits between float32 and uint32 without a DataView.
const scratchF32 = new Float32Array(1);
const scratchI32 = new Int32Array(scratchF32.buffer); // Int32 (not Uint32) keeps V8 on small-integer paths

/** Builds the f16 -> f32 table as raw float32 bit patterns (exact: every half is a float32). */
function buildF16Table(): Float32Array {
  const bits = new Uint32Array(65536);
  const table = new Float32Array(bits.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) {
      // Inf / NaN: keep the payload in the top mantissa bits (as F16C's vcvtph2ps does).
      bits[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else if (exp !== 0) {
      bits[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
    } else {
      // Zero or subnormal: mant * 2^-24, exactly representable in float32.
      const v = mant * 2 ** -24;
      table[h] = sign ? -v : v;
    }
  }
  return table;
}

/** f16 bit pattern -> float32 value, for all 65536 halves. Shared: index it directly in hot loops, never write it. */
export const F16_TO_F32: Float32Array = buildF16Table();

let bf16Cache: Float32Array | undefined;

/** bf16 bit pattern -> float32 value, for all 65536 patterns (built on first use; 256 KiB). Never write it. */
export function bf16Table(): Float32Array {
  if (!bf16Cache) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = (h << 16) >>> 0;
    bf16Cache = new Float32Array(bits.buffer);
  }
  return bf16Cache;
}

/** Value of an f16 bit pattern (0..65535). */
export function f16ToF32(h: number): number {
  return F16_TO_F32[h & 0xffff]!;
}

/** Value of a bfloat16 bit pattern (the top 16 bits of a float32). */
export function bf16ToF32(h: number): number {
  scratchI32[0] = (h & 0xffff) << 16;
  return scratchF32[0]!;
}

/** Converts float32 bits to f16 bits, rounding to nearest, ties to even (IEEE; what F16C's vcvtps2ph does). */
export function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) {
    // Inf stays Inf; NaN becomes a quiet NaN keeping the top payload bits.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  if (exp >= 113) {
    // Normal range for the half (unbiased exponent >= -14). Overflow and rounding carries run into Inf naturally.
    if (exp > 142) return sign | 0x7c00;
    let h = ((exp - 112) << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
  }
  // Subnormal half (or zero). Below 2^-25 everything rounds to zero; exactly 2^-25 ties to even (zero).
  if (exp < 102) return sign;
  const m = mant | 0x800000;
  const shift = 126 - exp; // 14..24
  let h = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1) !== 0)) h++;
  return sign | h;
}

/**
 * f32 -> f16 bits as ggml's GGML_FP32_TO_FP16: round to nearest even. The argument is first rounded to float32
 * (a JS double is treated as the float32 ggml would hold).
 */
export function f32ToF16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToF16(scratchI32[0]!);
}

/** f32 -> bf16 bits as ggml's GGML_FP32_TO_BF16: round to nearest even; NaN forced quiet. */
export function f32ToBf16(x: number): number {
  scratchF32[0] = x;
  const u = scratchI32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}
