// Activation rounding before quantized and F16 matmuls, exactly as ggml (and the ref backend's "ggml" mode) does it.
import { absMax32, f16Round, roundToInt } from "./common";

/**
 * Quantizes n floats (n a multiple of 32; consecutive token rows quantize identically as one run) to Q8_0 blocks
 * as ggml's x86 quantize_row_q8_0: d = amax/127 rounded to f16, q = round-half-even(x · (127/amax)) (the SIMD code
 * multiplies by 127/amax, not 1/d, and rounds with _mm256_round_ps(_MM_ROUND_NEAREST); f32x4.nearest is the same). Writes each block's q as 32 i16 lanes (64 bytes: the
 * dot_i16x8 kernels want them widened, so widen once here instead of once per weight row), on the relaxed build after
 * the same as 32 i8 (96 bytes in all: relaxed_dot takes i8), d[b] as f32 and s[b] = -Σq as i32 (the Q4_0 kernels,
 * which dot the unsigned nibbles, start each block's integer sum from 8 times it).
 */
export function quantize_q8_0(x: usize, q: usize, d: usize, s: usize, n: i32): void {
  const nb = n >> 5;
  for (let b = 0; b < nb; b++) {
    const xp = x + (<usize>b << 7);
    const m = absMax32(xp);
    const dd: f32 = m / 127.0;
    const id: f32 = m != 0 ? <f32>127.0 / m : 0;
    const vid = f32x4.splat(id);
    // With 2^-100 ≤ amax < +Inf, id is finite and every |x·id| ≤ 127·(1 + 2^-22), so roundToInt gives nearest's
    // integers. NaN, ±Inf, zero and tiny amax (x·id could overflow, or be NaN) keep the nearest/trunc_sat path, so
    // every block's quants and sum stay what they were.
    const fast = m >= <f32>7.888609052210118e-31 && m <= <f32>3.4028234663852886e38;
    let sum = i32x4.splat(0);
    for (let i = 0; i < 8; i += 2) {
      const va = f32x4.mul(v128.load(xp + (<usize>i << 4)), vid);
      const vc = f32x4.mul(v128.load(xp + (<usize>(i + 1) << 4)), vid);
      let a: v128;
      let c: v128;
      if (fast) {
        a = roundToInt(va);
        c = roundToInt(vc);
      } else {
        a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(va));
        c = i32x4.trunc_sat_f32x4_s(f32x4.nearest(vc));
      }
      sum = i32x4.add(sum, i32x4.add(a, c));
      const h = i16x8.narrow_i32x4_s(a, c);
      if (ASC_FEATURE_RELAXED_SIMD) {
        // Pairs of 8 lanes land at byte offsets 0, 8, 16, 24 of the block's i8 quants; the i16 ones follow those.
        const qb = q + <usize>b * 96;
        v128.store_lane<i64>(qb + (<usize>i << 2), i8x16.narrow_i16x8_s(h, h), 0);
        v128.store(qb + 32 + (<usize>i << 3), h);
      } else {
        v128.store(q + (<usize>b << 6) + (<usize>i << 3), h);
      }
    }
    const dh = f16Round(dd);
    store<f32>(d + (<usize>b << 2), dh);
    sum = i32x4.add(sum, i32x4.shuffle(sum, sum, 2, 3, 2, 3));
    store<i32>(s + (<usize>b << 2), -(i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1)));
  }
}

/** Rounds n floats from x to f16 precision into y (ggml feeds F16 weights f16 activations). */
export function round_f16(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(y + (<usize>i << 2), f16Round(load<f32>(x + (<usize>i << 2))));
}
