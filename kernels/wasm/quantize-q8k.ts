// Q8_K activations for the K-quant matmuls, as ggml's quantize_row_q8_K_ref: one f32 scale per 256-block, i8 quants.
import { XK_BYTES, XK_SUMS } from "./kquant-common";

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
    let amax: f32 = 0;
    let mx: f32 = 0;
    for (let i = 0; i < 256; i++) {
      const v = load<f32>(xp + (<usize>i << 2));
      const a = abs<f32>(v);
      if (a > amax) {
        amax = a;
        mx = v;
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
    for (let g = 0; g < 16; g++) {
      // 16 elements: four vectors of i32 quants, their sum, stored narrowed.
      const gp = xp + (<usize>g << 6);
      const a = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(gp), vs))), top);
      const c = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(gp, 16), vs))), top);
      const e = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(gp, 32), vs))), top);
      const f = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(gp, 48), vs))), top);
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
