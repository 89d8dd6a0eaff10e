// Shared helpers for the WASM-SIMD kernels: horizontal sums, f16 conversion (scalar and 4-lane) and ggml rounding.

/** Sum of the four f32 lanes, paired as (0+1)+(2+3). */
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** acc + a*b: a fused (or not, the engine decides) multiply-add on relaxed builds, mul then add otherwise. */
@inline export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/**
 * Four f16 values (zero-extended into u32 lanes) to f32. Moving exponent+mantissa up 13 bits and multiplying by 2^112
 * rebases the exponent and turns f16 subnormals into exact f32 normals; Inf/NaN (exponent 31) are patched separately.
 */
@inline export function f16x4ToF32(h: v128): v128 {
  const em = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  let f = f32x4.mul(em, f32x4.splat(reinterpret<f32>(0x77800000)));
  const special = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  f = v128.bitselect(v128.or(em, i32x4.splat(0x7f800000)), f, special);
  return v128.or(f, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** One f16 (bits in the low 16) to f32. */
@inline export function f16ToF32(h: u32): f32 {
  return f32x4.extract_lane(f16x4ToF32(i32x4.splat(h)), 0);
}

/** Rounds x to the nearest f16-representable value (ties to even, overflow to ±Inf), returned as f32. */
export function f16Round(x: f32): f32 {
  const u = reinterpret<u32>(x);
  const sign = u & 0x80000000;
  const a = u & 0x7fffffff;
  if (a >= 0x7f800000) return x; // Inf / NaN unchanged
  if (a >= 0x477ff000) return reinterpret<f32>(sign | 0x7f800000); // ≥ 65520 rounds past the largest f16
  if (a < 0x38800000) {
    // f16 subnormal range: multiples of 2^-24; scaling by a power of two is exact, f32.nearest ties to even.
    const q = nearest<f32>(reinterpret<f32>(a) * 16777216.0);
    return reinterpret<f32>(sign | reinterpret<u32>(q * reinterpret<f32>(0x33800000)));
  }
  // Normal range: keep 10 mantissa bits, round to nearest even by adding just under half an ulp plus the lsb.
  const r = (a + 0xfff + ((a >> 13) & 1)) & 0xffffe000;
  return reinterpret<f32>(sign | r);
}

/** C's roundf (half away from zero) on four lanes: trunc, then step away when the dropped fraction is ≥ 0.5. */
@inline export function roundAway4(x: v128): v128 {
  const t = f32x4.trunc(x);
  const frac = f32x4.abs(f32x4.sub(x, t)); // exact: x - trunc(x) never rounds
  const step = v128.and(f32x4.ge(frac, f32x4.splat(0.5)), v128.or(v128.and(x, i32x4.splat(0x80000000)), f32x4.splat(1.0)));
  return f32x4.add(t, step);
}
