// Q4_K / Q5_K weight values as the dot steps take them (layout: matmul-q4k.ts), shared by decode and prefill tiles.
import { q5v } from "./decode-q45";
import { f16x4At } from "./kquant-common";
import { f16x4ToF32 } from "./common";
import { widenF16 } from "./legacy-ops";

/** Marker types: Q4 → Q4_K, Q5 → Q5_K (resolved at compile time). */
export class Q4 {}
export class Q5 {}

/** The low (h false) or high nibbles of n. */
@inline export function nib(n: v128, h: bool): v128 {
  const m4 = i8x16.splat(15);
  return h ? v128.and(i16x8.shr_u(n, 4), m4) : v128.and(n, m4);
}

/** Runs of dotStep per sub-block between settles (kquant-common.ts): 8 steps of 4-bit values, 4 of Q5_K's 5-bit. */
@inline export function phases<T>(): i32 {
  return idof<T>() == idof<Q5>() ? 2 : 1;
}

/**
 * Prepared values of half h of the weight vector at qp (Q5_K: top bits from the run's E vector, e0 and on SIMD128 e1
 * for its halves, shifted to the step): the relaxed build's whole vector, or SIMD128's first (k = 0) or second half.
 */
@inline export function prep<T>(qp: usize, e0: v128, e1: v128, h: bool, k: i32): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return value<T>(v128.load(qp), e0, h);
  return value<T>(k ? v128.load8x8_u(qp, 8) : v128.load8x8_u(qp), k ? e1 : e0, h);
}

/** The low (h false) or high sub-block's values of weight bytes n: Q4_K's nibbles, or q5v with the run's top bits e. */
@inline export function value<T>(n: v128, e: v128, h: bool): v128 {
  return idof<T>() == idof<Q5>() ? q5v(n, e, h) : nib(n, h);
}

/** The E vector of the Q5_K run at qp: whole (relaxed) or its first (k = 0) or second half widened (SIMD128). */
@inline export function runTop(qp: usize, k: i32): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return v128.load(qp, 64);
  return k ? v128.load8x8_u(qp, 72) : v128.load8x8_u(qp, 64);
}

/**
 * Bytes a panel-block's header takes beyond Q4_K's 16 (d, dmin as f16): Q5_K keeps them as f32 (converted at load,
 * +16 bytes, the panel then 736 bytes, 4.5 % over the file's 704), so its decode reads them with one load each instead
 * of two f16 conversions per block. The scales, mins and quants follow 16 bytes later.
 */
@inline export function hdr<T>(): usize {
  return idof<T>() == idof<Q5>() ? 16 : 0;
}

/** The four rows' d of panel-block wp as f32 lanes. */
@inline export function dAt<T>(wp: usize): v128 {
  return idof<T>() == idof<Q5>() ? v128.load(wp) : f16x4At(wp);
}

/** The four rows' dmin of panel-block wp as f32 lanes. */
@inline export function dminAt<T>(wp: usize): v128 {
  return idof<T>() == idof<Q5>() ? v128.load(wp, 16) : f16x4At(wp + 8);
}

/**
 * Q4_K decode's d (hi false) or dmin of the panel-block header h (its 16 bytes: four f16 d, four f16 dmin) as f32,
 * f16x4ToF32's bits: in four operations (legacy-ops.ts widenF16) unless special (f16Special(h): an Inf/NaN among the
 * eight), where the full conversion runs. Two full conversions cost decode about two dozen vector operations a block.
 */
@inline export function q4Scale(h: v128, hi: bool, special: bool): v128 {
  if (special) return f16x4ToF32(hi ? i32x4.extend_high_i16x8_u(h) : i32x4.extend_low_i16x8_u(h));
  return widenF16(h, hi);
}

/** Whether any of the eight f16 in h is Inf/NaN (exponent all ones). */
@inline export function f16Special(h: v128): bool {
  const e = i16x8.splat(0x7c00);
  return v128.any_true(i16x8.eq(v128.and(h, e), e));
}
