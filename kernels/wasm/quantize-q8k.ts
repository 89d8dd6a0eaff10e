// Q8_K activations for the K-quant matmuls, as ggml's quantize_row_q8_K_ref: one f32 scale per 256-block, i8 quants.
import { XK_BYTES, XK_SUMS } from "./kquant-common";
import { roundToInt } from "./common";

/**
 * Quantizes n floats (n a multiple of 256; consecutive token rows quantize identically as one run) as ggml does: per
 * 256-block, max = the element of largest magnitude (first on ties, sign kept), iscale = -127/max,
 * q = min(127, nearest-even(iscale·x)), d = 1/iscale (an all-zero block gets d = 0, q = 0). Writes the quants at
 * q + b·XK_BYTES (i8 on the relaxed build, widened to i16 on SIMD128: dot_i16x8 wants them so; widen once here, not
 * once per weight row), d[b] as f32, and at s + b·XK_SUMS·4 the negated sums the kernels start from: 16 i32 of -Σq per
 * 16 elements (Q6_K's -32 offset, Q3_K, Q2_K), then 8 of -Σq per 32, then those 8 as i16 (Q4_K/Q5_K mins).
 */
export function quantize_q8_k(x: usize, q: usize, d: usize, s: usize, n: i32): void {
  const nb = n >> 8;
  for (let b = 0; b < nb; b++) {
    const xp = x + (<usize>b << 10);
    // max |x| ignoring NaN: sign-cleared bits order like the floats, so one unsigned max per vector (NaN lanes
    // zeroed first, as the scalar rule `|x| > amax` never takes a NaN); then the first element of that magnitude.
    const absMask = i32x4.splat(0x7fffffff);
    let vmax = i32x4.splat(0);
    let numbers = i32x4.splat(-1); // lanes that saw no NaN
    for (let i = 0; i < 64; i++) {
      const v = v128.load(xp + (<usize>i << 4));
      const isNum = f32x4.eq(v, v);
      numbers = v128.and(numbers, isNum);
      vmax = i32x4.max_u(vmax, v128.and(v128.and(v, absMask), isNum));
    }
    vmax = i32x4.max_u(vmax, i32x4.shuffle(vmax, vmax, 2, 3, 2, 3));
    vmax = i32x4.max_u(vmax, i32x4.shuffle(vmax, vmax, 1, 1, 1, 1));
    const amaxBits = i32x4.extract_lane(vmax, 0);
    const amax = reinterpret<f32>(amaxBits);
    let mx: f32 = 0;
    if (amaxBits != 0) {
      const want = i32x4.splat(amaxBits);
      for (let i = 0; i < 64; i++) {
        const v = v128.load(xp + (<usize>i << 4));
        const hit = i32x4.bitmask(i32x4.eq(v128.and(v, absMask), want));
        if (hit != 0) {
          mx = load<f32>(xp + (<usize>i << 4) + (<usize>ctz<i32>(hit) << 2));
          break;
        }
      }
    }
    const qb = q + <usize>b * XK_BYTES;
    const sb = s + <usize>b * XK_SUMS * 4;
    if (amax == 0) {
      memory.fill(qb, 0, XK_BYTES);
      memory.fill(sb, 0, XK_SUMS * 4);
      store<f32>(d + (<usize>b << 2), 0);
      continue;
    }
    const iscale: f32 = <f32>-127.0 / mx;
    const vs = f32x4.splat(iscale);
    const top = i32x4.splat(127);
    // 2^-100 ≤ amax < Inf and no NaN: iscale is finite and every |iscale·x| ≤ 127·(1 + 2^-22), so roundToInt gives
    // nearest's integers; an infinite or tiny amax, or a NaN (trunc_sat makes it 0), keeps nearest + trunc_sat.
    const fast = amax >= <f32>7.888609052210118e-31 && amax <= <f32>3.4028234663852886e38 && i32x4.all_true(numbers);
    for (let g = 0; g < 16; g++) {
      // 16 elements: four vectors of i32 quants, their sum, stored narrowed.
      const gp = xp + (<usize>g << 6);
      let a: v128, c: v128, e: v128, f: v128;
      if (fast) {
        a = i32x4.min_s(roundToInt(f32x4.mul(v128.load(gp), vs)), top);
        c = i32x4.min_s(roundToInt(f32x4.mul(v128.load(gp, 16), vs)), top);
        e = i32x4.min_s(roundToInt(f32x4.mul(v128.load(gp, 32), vs)), top);
        f = i32x4.min_s(roundToInt(f32x4.mul(v128.load(gp, 48), vs)), top);
      } else {
        a = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(gp), vs))), top);
        c = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(gp, 16), vs))), top);
        e = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(gp, 32), vs))), top);
        f = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(gp, 48), vs))), top);
      }
      const t = i32x4.add(i32x4.add(a, c), i32x4.add(e, f));
      const sum = i32x4.extract_lane(t, 0) + i32x4.extract_lane(t, 1) + i32x4.extract_lane(t, 2) + i32x4.extract_lane(t, 3);
      store<i32>(sb + (<usize>g << 2), -sum);
      const h0 = i16x8.narrow_i32x4_s(a, c);
      const h1 = i16x8.narrow_i32x4_s(e, f);
      if (ASC_FEATURE_RELAXED_SIMD) {
        v128.store(qb + (<usize>g << 4), i8x16.narrow_i16x8_s(h0, h1));
      } else {
        v128.store(qb + (<usize>g << 5), h0);
        v128.store(qb + (<usize>g << 5), h1, 16);
      }
    }
    for (let j = 0; j < 8; j++) {
      const s32 = load<i32>(sb + (<usize>j << 3)) + load<i32>(sb + (<usize>j << 3), 4);
      store<i32>(sb + 64 + (<usize>j << 2), s32);
      store<i16>(sb + 96 + (<usize>j << 1), <i16>s32); // |Σ| ≤ 32·127: the i16 pairs Q4_K/Q5_K's mins dot_i16x8 takes
    }
    store<f32>(d + (<usize>b << 2), <f32>1.0 / iscale);
  }
}
