// Q8_0 / Q4_0 weights × Q8_0-quantized activations: integer block dots, scaled by both block scales (as ggml).
import { hsum, madd } from "./common";

// Weight layout (repacked at load): all quants of the matrix first (Q8_0: 32 i8 per block; Q4_0: 16 bytes per block,
// low nibbles = elements 0..15, high nibbles = 16..31), then one f32 scale per block.
// Activation layout (quantize_q8_0): per block 32 i16 lanes (SIMD128) or 32 i8 (relaxed), then f32 d and f32 d·Σq.
const XB: usize = ASC_FEATURE_RELAXED_SIMD ? 32 : 64;

/** Marker types for the weight format: Q8 → Q8_0, Q4 → Q4_0 (resolved at compile time). */
class Q8 {}
class Q4 {}

/**
 * The k-th of four vectors a weight block is prepared into, shared by every token of a tile. SIMD128: the block
 * widened to i16 lanes. Relaxed: the 7-bit operand of relaxed_dot (|w| for Q8_0, the raw nibbles for Q4_0, whose
 * offset of 8 is applied later through Σq) plus, for Q8_0, the sign masks that move w's sign onto the activations.
 * Called with constant k on the same address, the repeated loads fold away.
 */
@inline function prep<T>(wp: usize, k: i32): v128 {
  let w0: v128, w1: v128;
  if (idof<T>() == idof<Q8>()) {
    w0 = v128.load(wp);
    w1 = v128.load(wp, 16);
    if (ASC_FEATURE_RELAXED_SIMD) {
      if (k == 0) return i8x16.abs(w0);
      if (k == 1) return i8x16.abs(w1);
      if (k == 2) return i8x16.lt_s(w0, i8x16.splat(0));
      return i8x16.lt_s(w1, i8x16.splat(0));
    }
  } else {
    const n = v128.load(wp);
    const lo = v128.and(n, i8x16.splat(0x0f));
    const hi = i8x16.shr_u(n, 4);
    if (ASC_FEATURE_RELAXED_SIMD) return k == 0 ? lo : hi;
    w0 = i8x16.sub(lo, i8x16.splat(8));
    w1 = i8x16.sub(hi, i8x16.splat(8));
  }
  if (k == 0) return i16x8.extend_low_i8x16_s(w0);
  if (k == 1) return i16x8.extend_high_i8x16_s(w0);
  if (k == 2) return i16x8.extend_low_i8x16_s(w1);
  return i16x8.extend_high_i8x16_s(w1);
}

/** Integer dot of one prepared weight block with one activation block: four i32 partial sums. */
@inline function dot<T>(p0: v128, p1: v128, p2: v128, p3: v128, xp: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    let x0 = v128.load(xp);
    let x1 = v128.load(xp, 16);
    if (idof<T>() == idof<Q8>()) {
      x0 = v128.bitselect(i8x16.neg(x0), x0, p2);
      x1 = v128.bitselect(i8x16.neg(x1), x1, p3);
    }
    return i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, p1, i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, p0, i32x4.splat(0)));
  }
  const a = i32x4.add(i32x4.dot_i16x8_s(p0, v128.load(xp)), i32x4.dot_i16x8_s(p1, v128.load(xp, 16)));
  const b = i32x4.add(i32x4.dot_i16x8_s(p2, v128.load(xp, 32)), i32x4.dot_i16x8_s(p3, v128.load(xp, 48)));
  return i32x4.add(a, b);
}

/** Whether Σq corrections are needed (relaxed Q4_0 dots the unsigned nibbles: Σ x(n-8) = Σ x·n − 8 Σ x). */
@inline function needsSum<T>(): bool {
  return ASC_FEATURE_RELAXED_SIMD && idof<T>() == idof<Q4>();
}

@inline function matmulQ<T>(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  const nb = cols >> 5;
  const WB: usize = idof<T>() == idof<Q8>() ? 32 : 16;
  const xRow = <usize>nb * XB; // activation bytes per token
  const sRow = <usize>nb << 2; // scale bytes per token (and per weight row)
  for (let r = 0; r < rows; r++) {
    const wrow = wq + <usize>r * <usize>nb * WB;
    const drow = wd + <usize>r * sRow;
    let t = 0;
    // Tiles of four tokens: each weight block is loaded and prepared once for all four (prefill).
    for (; t + 4 <= nTokens; t += 4) {
      const x0 = xq + <usize>t * xRow;
      const d0 = xd + <usize>t * sRow;
      const s0 = xs + <usize>t * sRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let c0: f32 = 0, c1: f32 = 0, c2: f32 = 0, c3: f32 = 0;
      for (let b = 0; b < nb; b++) {
        const wp = wrow + <usize>b * WB;
        const p0 = prep<T>(wp, 0), p1 = prep<T>(wp, 1), p2 = prep<T>(wp, 2), p3 = prep<T>(wp, 3);
        const dw = load<f32>(drow + (<usize>b << 2));
        const xo = <usize>b * XB;
        const so = <usize>b << 2;
        a0 = madd(f32x4.convert_i32x4_s(dot<T>(p0, p1, p2, p3, x0 + xo)), f32x4.splat(dw * load<f32>(d0 + so)), a0);
        a1 = madd(f32x4.convert_i32x4_s(dot<T>(p0, p1, p2, p3, x0 + xRow + xo)), f32x4.splat(dw * load<f32>(d0 + sRow + so)), a1);
        a2 = madd(f32x4.convert_i32x4_s(dot<T>(p0, p1, p2, p3, x0 + 2 * xRow + xo)), f32x4.splat(dw * load<f32>(d0 + 2 * sRow + so)), a2);
        a3 = madd(f32x4.convert_i32x4_s(dot<T>(p0, p1, p2, p3, x0 + 3 * xRow + xo)), f32x4.splat(dw * load<f32>(d0 + 3 * sRow + so)), a3);
        if (needsSum<T>()) {
          c0 += dw * load<f32>(s0 + so);
          c1 += dw * load<f32>(s0 + sRow + so);
          c2 += dw * load<f32>(s0 + 2 * sRow + so);
          c3 += dw * load<f32>(s0 + 3 * sRow + so);
        }
      }
      const o = out + ((<usize>t * <usize>rows + <usize>r) << 2);
      const os = <usize>rows << 2;
      store<f32>(o, hsum(a0) - 8 * c0);
      store<f32>(o + os, hsum(a1) - 8 * c1);
      store<f32>(o + 2 * os, hsum(a2) - 8 * c2);
      store<f32>(o + 3 * os, hsum(a3) - 8 * c3);
    }
    // Remaining tokens (all of decode) one at a time.
    for (; t < nTokens; t++) {
      const x0 = xq + <usize>t * xRow;
      const d0 = xd + <usize>t * sRow;
      const s0 = xs + <usize>t * sRow;
      let a0 = f32x4.splat(0);
      let c0: f32 = 0;
      for (let b = 0; b < nb; b++) {
        const wp = wrow + <usize>b * WB;
        const dw = load<f32>(drow + (<usize>b << 2));
        const so = <usize>b << 2;
        const d = dot<T>(prep<T>(wp, 0), prep<T>(wp, 1), prep<T>(wp, 2), prep<T>(wp, 3), x0 + <usize>b * XB);
        a0 = madd(f32x4.convert_i32x4_s(d), f32x4.splat(dw * load<f32>(d0 + so)), a0);
        if (needsSum<T>()) c0 += dw * load<f32>(s0 + so);
      }
      store<f32>(out + ((<usize>t * <usize>rows + <usize>r) << 2), hsum(a0) - 8 * c0);
    }
  }
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q8_0 weights; x already quantized by quantize_q8_0 into (xq, xd, xs). */
export function matmul_q8_0(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ<Q8>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
}

/** The same for Q4_0 weights. */
export function matmul_q4_0(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ<Q4>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
}
