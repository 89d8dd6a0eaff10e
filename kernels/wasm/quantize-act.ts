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
    const qb = ASC_FEATURE_RELAXED_SIMD ? q + <usize>b * 96 : q + (<usize>b << 6);
    store<i32>(s + (<usize>b << 2), -quantBlock(x + (<usize>b << 7), qb, ASC_FEATURE_RELAXED_SIMD ? qb + 32 : qb, ASC_FEATURE_RELAXED_SIMD, true, d + (<usize>b << 2)));
  }
}

/**
 * One 32-block at xp quantized (quantize_q8_0's rounding): its quants as i8 at q8 (when i8) and as i16 at q16 (when
 * i16), d at dp; returns Σq.
 */
@inline function quantBlock(xp: usize, q8: usize, q16: usize, i8: bool, i16: bool, dp: usize): i32 {
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
    // Pairs of 8 lanes land at byte offsets 0, 8, 16, 24 of the block's i8 quants (relaxed_dot takes i8); the i16
    // ones (dot_i16x8 takes them widened: widen once here instead of once per weight row) at 0, 16, 32, 48.
    if (i8) v128.store_lane<i64>(q8 + (<usize>i << 2), i8x16.narrow_i16x8_s(h, h), 0);
    if (i16) v128.store(q16 + (<usize>i << 3), h);
  }
  store<f32>(dp, f16Round(dd));
  sum = i32x4.add(sum, i32x4.shuffle(sum, sum, 2, 3, 2, 3));
  return i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1);
}

/**
 * Bytes per block of a 4-token tile in quantize_q8_0_tiles's layout: the four tokens' 32 i8 quants (token u at 32u),
 * their d (f32, at 128 + 4u), −8Σq (i32, at 144 + 4u: the fused tiles' start) and −4Σq (i16, at 160 + 2u: the i16
 * tiles' lane start), padded to a multiple of 16.
 */
export const TILE_BLOCK: usize = 176;

/**
 * quantize_q8_0 of nTokens rows of `cols` floats (the same quants, d and sums), laid out for the relaxed build's Q4_0
 * prefill tiles (prefill-q4t.ts): tokens 4T..4T+3 of every full tile T interleaved per block at q + (T·nb + b)·
 * TILE_BLOCK, so a tile walks one pointer and every token's quants, d and start are a load at an immediate offset.
 * The tokens past the last full tile keep quantize_q8_0's row layout at their usual places (token t's quants at
 * q + t·nb·96, d and −Σq at d + 4t·nb and s + 4t·nb); the tiles take less room than those rows would. SIMD128: the
 * row layout throughout (its tiles read that).
 */
export function quantize_q8_0_tiles(x: usize, q: usize, d: usize, s: usize, cols: i32, nTokens: i32): void {
  const nb = cols >> 5;
  const nt4 = ASC_FEATURE_RELAXED_SIMD ? nTokens & ~3 : 0;
  let tb = q;
  for (let t = 0; t < nt4; t += 4) {
    for (let b = 0; b < nb; b++) {
      for (let u = 0; u < 4; u++) {
        const xp = x + ((<usize>(t + u) * <usize>nb + <usize>b) << 7);
        const sq = quantBlock(xp, tb + (<usize>u << 5), 0, true, false, tb + 128 + (<usize>u << 2));
        store<i32>(tb + 144 + (<usize>u << 2), -(sq << 3));
        store<i16>(tb + 160 + (<usize>u << 1), <i16>-(sq << 2));
      }
      tb += TILE_BLOCK;
    }
  }
  if (nt4 < nTokens) {
    const skip = <usize>nt4 * <usize>nb;
    quantize_q8_0(x + (skip << 7), q + skip * (ASC_FEATURE_RELAXED_SIMD ? 96 : 64), d + (skip << 2), s + (skip << 2), (nTokens - nt4) * cols);
  }
}

/** Rounds n floats from x to f16 precision into y (ggml feeds F16 weights f16 activations). */
export function round_f16(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(y + (<usize>i << 2), f16Round(load<f32>(x + (<usize>i << 2))));
}
