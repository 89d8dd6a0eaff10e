// Q4_1, Q5_0 and Q5_1 weights × Q8_0 / Q8_1 activations: 4-row panels, integer dots per 32-block, f16 scales.
import { madd } from "./common";
import { f16x4At, storeRows4 } from "./kquant-common";

// Weight layout (repack-legacy.ts): rows in panels of four (the last padded with zero rows); per panel and 32-block:
// d of the 4 rows (f16), for Q4_1/Q5_1 m (f16), for Q5_0/Q5_1 each row's qh (u32: bit k is element k's fifth bit),
// then the 16 quant bytes of each row as Q4_0 has them (matmul-quant.ts: vector j holds bytes 4j..4j+3 of the four
// rows, low nibble element k, high nibble element k+16). No byte more than the file: 80, 88, 96 bytes = 4·20, 4·22, 4·24.
// Per block: Q5_0: d·dx·(Σ q·qx − 16·Σqx) (ggml's q−16); Q4_1/Q5_1: d·dx·Σ q·qx + m·s with Q8_1's s = f16(dx·Σqx).
// Activations as quantize_q8_0 lays them out (matmul-quant.ts), plus the s terms (quantize_q8_1) for Q4_1/Q5_1.

/** Activation bytes per block, and where its i16 quants start. */
const XB: usize = ASC_FEATURE_RELAXED_SIMD ? 96 : 64;
const X16: usize = ASC_FEATURE_RELAXED_SIMD ? 32 : 0;

export class Q41 {}
export class Q50 {}
export class Q51 {}

@inline function hasMin<T>(): bool {
  return idof<T>() != idof<Q50>();
}
@inline function hasHigh<T>(): bool {
  return idof<T>() != idof<Q41>();
}

/**
 * The fifth bits of 4 elements per row, at bit 4 of the bytes (relaxed: lane rr's 4 bytes = elements e..e+3) or of
 * the i16 lanes (SIMD128: lane rr's two i16 = elements e, e+1), from qh (lane rr = row rr's u32) shifted right by e.
 * One multiply spreads the low bits of each lane into place.
 */
@inline function high(qh: v128, e: i32): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return v128.and(i32x4.mul(v128.and(i32x4.shr_u(qh, e), i32x4.splat(15)), i32x4.splat(0x02040810)), i32x4.splat(0x10101010));
  return v128.and(i32x4.mul(v128.and(i32x4.shr_u(qh, e), i32x4.splat(3)), i32x4.splat(0x00080010)), i32x4.splat(0x00100010));
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for T's format; x quantized by quantize_q8_0 (xq, xd, xs) and, with mins, st. */
@inline function matmulLegacy<T>(out: usize, w: usize, xq: usize, xd: usize, xs: usize, xst: usize, rows: i32, cols: i32, nTokens: i32): void {
  const QOFF: usize = (hasMin<T>() ? 16 : 8) + (hasHigh<T>() ? 16 : 0); // where the quants start
  const PB: usize = QOFF + 64;
  const nb = <usize>(cols >> 5);
  const m4 = i8x16.splat(15);
  for (let r = 0; r < rows; r += 4) {
    const wpan = w + (<usize>r >> 2) * nb * PB;
    for (let t = 0; t < nTokens; t++) {
      let wp = wpan;
      const x0 = xq + <usize>t * nb * XB;
      const sb = (<usize>t * nb) << 2;
      let o = f32x4.splat(0);
      for (let b: usize = 0; b < nb; b++) {
        const so = sb + (b << 2);
        let acc = hasMin<T>() ? i32x4.splat(0) : i32x4.shl(v128.load32_splat(xs + so), 4);
        const qh = hasHigh<T>() ? v128.load(wp, hasMin<T>() ? 16 : 8) : acc;
        const xp = x0 + b * XB;
        // Relaxed: i16 lanes (two per row) from i16x8.relaxed_dot (one pmaddubsw on x86), widened into acc after at
        // most 4 steps of 5-bit values (2·31·127 per step) or 8 of 4-bit ones: exact, as matmul-quant.ts explains.
        let a16 = i32x4.splat(0);
        for (let j = 0; j < 4; j++) {
          const qp = wp + QOFF + (<usize>j << 4);
          if (ASC_FEATURE_RELAXED_SIMD) {
            const n = v128.load(qp);
            let lo = v128.and(n, m4), hi = v128.and(i16x8.shr_u(n, 4), m4);
            if (hasHigh<T>()) {
              lo = v128.or(lo, high(qh, j << 2));
              hi = v128.or(hi, high(qh, 16 + (j << 2)));
            }
            a16 = i16x8.add(a16, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp + (<usize>j << 2)), lo));
            a16 = i16x8.add(a16, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp + 16 + (<usize>j << 2)), hi));
            if (hasHigh<T>() && j == 1) {
              acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(a16));
              a16 = i32x4.splat(0);
            }
          } else {
            const u0 = v128.load8x8_u(qp), u1 = v128.load8x8_u(qp, 8);
            let l0 = v128.and(u0, m4), l1 = v128.and(u1, m4), h0 = i16x8.shr_u(u0, 4), h1 = i16x8.shr_u(u1, 4);
            if (hasHigh<T>()) {
              l0 = v128.or(l0, high(qh, j << 2));
              l1 = v128.or(l1, high(qh, (j << 2) + 2));
              h0 = v128.or(h0, high(qh, 16 + (j << 2)));
              h1 = v128.or(h1, high(qh, 18 + (j << 2)));
            }
            const xj = xp + X16 + (<usize>j << 3);
            acc = i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(l0, v128.load32_splat(xj)), i32x4.dot_i16x8_s(l1, v128.load32_splat(xj, 4))));
            acc = i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(h0, v128.load32_splat(xj, 32)), i32x4.dot_i16x8_s(h1, v128.load32_splat(xj, 36))));
          }
        }
        if (ASC_FEATURE_RELAXED_SIMD) acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(a16));
        o = madd(f32x4.convert_i32x4_s(acc), f32x4.mul(f16x4At(wp), v128.load32_splat(xd + so)), o);
        if (hasMin<T>()) o = madd(f16x4At(wp + 8), v128.load32_splat(xst + so), o);
        wp += PB;
      }
      storeRows4(out + ((<usize>t * <usize>rows + <usize>r) << 2), o, r, rows);
    }
  }
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q4_1 weights; x quantized by quantize_q8_1 into (xq, xd, xs, xst). */
export function matmul_q4_1(out: usize, w: usize, xq: usize, xd: usize, xs: usize, xst: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulLegacy<Q41>(out, w, xq, xd, xs, xst, rows, cols, nTokens);
}

/** The same for Q5_0 weights; x quantized by quantize_q8_0 (xst unused). */
export function matmul_q5_0(out: usize, w: usize, xq: usize, xd: usize, xs: usize, xst: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulLegacy<Q50>(out, w, xq, xd, xs, xst, rows, cols, nTokens);
}

/** The same for Q5_1 weights; x quantized by quantize_q8_1. */
export function matmul_q5_1(out: usize, w: usize, xq: usize, xd: usize, xs: usize, xst: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulLegacy<Q51>(out, w, xq, xd, xs, xst, rows, cols, nTokens);
}
