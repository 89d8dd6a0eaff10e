// Q4_K weights × Q8_K activations: 4-row panels, integer dots per 32-element sub-block, 6-bit scales and mins in ints.
import { madd } from "./common";
import { XK_BYTES, XK_ELEM, XK_SUMS, dotStep, f16x4At, storeRows4, u8x4 } from "./kquant-common";

// Weight layout (repack-kquant.ts packQ4K): rows in panels of four (the last padded with zero rows); per panel and
// 256-block PB = 592 bytes: d of the 4 rows (f16), dmin (f16), the 8 six-bit scales unpacked to u8 as [sub-block][row],
// the 8 mins likewise, then the quants: per 64-element chunk c, the row's 32 bytes (low nibbles: sub-block 2c, high:
// 2c+1) as 8 vectors, vector v holding bytes 4v..4v+3 of the four rows (relaxed: each row's 4 together; SIMD128: each
// row's bytes 4v, 4v+1 in the first half, 4v+2, 4v+3 in the second).
// Per block: Σ_r w·x = dx·(d·Σ_j sc_j·Σ q·qx − dmin·Σ_j m_j·Σ qx), with every Σ exact in i32 (|Σ| < 2^25) and the
// four rows in the four lanes; the activation sums come negated from quantize_q8_k, so both terms are added.
const PB: usize = 592;

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q4_K weights w; x already quantized by quantize_q8_k into (xq, xd, xs). */
export function matmul_q4_k(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  const nb = <usize>(cols >> 8);
  const xRow = nb * XK_BYTES;
  const sRow = nb * XK_SUMS * 4;
  const zero = i32x4.splat(0);
  const m4 = i8x16.splat(15);
  for (let r = 0; r < rows; r += 4) {
    const wpan = w + (<usize>r >> 2) * nb * PB;
    for (let t = 0; t < nTokens; t++) {
      let wp = wpan;
      let xp = xq + <usize>t * xRow;
      let sp = xs + <usize>t * sRow;
      const dp = xd + ((<usize>t * nb) << 2);
      let o = f32x4.splat(0);
      for (let b: usize = 0; b < nb; b++) {
        let mins = zero;
        for (let j: usize = 0; j < 32; j += 4) mins = i32x4.add(mins, i32x4.mul(u8x4(wp + 48 + j), v128.load32_splat(sp + 64 + j)));
        let sumi = zero;
        let qp = wp + 80;
        for (let c: usize = 0; c < 8; c += 2) {
          let lo = zero, hi = zero;
          const xe = xp + 32 * XK_ELEM;
          for (let xv = xp; xv < xe; xv += 4 * XK_ELEM) {
            if (ASC_FEATURE_RELAXED_SIMD) {
              const n = v128.load(qp);
              lo = dotStep(lo, v128.and(n, m4), zero, xv);
              hi = dotStep(hi, v128.and(i16x8.shr_u(n, 4), m4), zero, xv + 32);
            } else {
              const u0 = v128.load8x8_u(qp), u1 = v128.load8x8_u(qp, 8);
              lo = dotStep(lo, v128.and(u0, m4), v128.and(u1, m4), xv);
              hi = dotStep(hi, i16x8.shr_u(u0, 4), i16x8.shr_u(u1, 4), xv + 64);
            }
            qp += 16;
          }
          const sc = wp + 16 + (c << 2);
          sumi = i32x4.add(sumi, i32x4.add(i32x4.mul(lo, u8x4(sc)), i32x4.mul(hi, u8x4(sc + 4))));
          xp += 64 * XK_ELEM;
        }
        const dx = v128.load32_splat(dp + (b << 2));
        o = madd(f32x4.convert_i32x4_s(sumi), f32x4.mul(f16x4At(wp), dx), o);
        o = madd(f32x4.convert_i32x4_s(mins), f32x4.mul(f16x4At(wp + 8), dx), o);
        wp += PB;
        sp += XK_SUMS * 4;
      }
      storeRows4(out + ((<usize>t * <usize>rows + <usize>r) << 2), o, r, rows);
    }
  }
}
