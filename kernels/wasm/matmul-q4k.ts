// Q4_K weights × Q8_K activations: 4-row panels, integer dots per 32-element sub-block, 6-bit scales and mins in ints.
import { madd } from "./common";
import { XK_BYTES, XK_ELEM, XK_SUMS, dotStep, f16x4At, storeRows4, u8x4 } from "./kquant-common";

// Weight layout (repack-kquant.ts packQ4K): rows in panels of four (the last padded with zero rows); per panel and
// 256-block 592 bytes: d of the 4 rows (f16), dmin (f16), the 8 six-bit scales unpacked to u8 as [sub-block][row], the
// 8 mins likewise, then the quants: per 64-element chunk c, the row's 32 bytes (low nibbles: sub-block 2c, high:
// 2c+1) as 8 vectors, vector v holding bytes 4v..4v+3 of the four rows (relaxed: each row's 4 together; SIMD128: each
// row's bytes 4v, 4v+1 in the first half, 4v+2, 4v+3 in the second). Q5_K (matmul-q5k.ts) adds, before the quants,
// its 32 bytes of fifth bits per row as 8 vectors in the same order: bit 2c of byte l for element l of sub-block 2c,
// bit 2c+1 for sub-block 2c+1.
// Per block: Σ_r w·x = dx·(d·Σ_j sc_j·Σ q·qx − dmin·Σ_j m_j·Σ qx), with every Σ exact in i32 (|Σ| < 2^26) and the
// four rows in the four lanes; the activation sums come negated from quantize_q8_k, so both terms are added.

/** Marker types: Q4 → Q4_K, Q5 → Q5_K (resolved at compile time). */
export class Q4 {}
export class Q5 {}

/** The low (h false) or high nibbles of n, with Q5_K's fifth bit from the qh vector hc (pre-shifted right by 2c). */
@inline function values<T>(n: v128, hc: v128, h: bool): v128 {
  const m4 = i8x16.splat(15);
  const q = h ? v128.and(i16x8.shr_u(n, 4), m4) : v128.and(n, m4);
  if (idof<T>() == idof<Q4>()) return q;
  return v128.or(q, v128.and(i16x8.shl(hc, h ? 3 : 4), i8x16.splat(0x10)));
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q4_K or Q5_K weights w; x already quantized by quantize_q8_k. */
@inline export function matmulQ45<T>(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  const q5 = idof<T>() == idof<Q5>();
  const PB: usize = q5 ? 720 : 592; // panel-block bytes
  const QOFF: usize = q5 ? 208 : 80; // where the quants start
  const nb = <usize>(cols >> 8);
  const xRow = nb * XK_BYTES;
  const sRow = nb * XK_SUMS * 4;
  const zero = i32x4.splat(0);
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
        let qp = wp + QOFF;
        for (let c: usize = 0; c < 4; c++) {
          let lo = zero, hi = zero;
          let hp = wp + 80;
          const xe = xp + 32 * XK_ELEM;
          for (let xv = xp; xv < xe; xv += 4 * XK_ELEM) {
            const hc = q5 ? i16x8.shr_u(v128.load(hp), <i32>(c << 1)) : zero;
            if (ASC_FEATURE_RELAXED_SIMD) {
              const n = v128.load(qp);
              lo = dotStep(lo, values<T>(n, hc, false), zero, xv);
              hi = dotStep(hi, values<T>(n, hc, true), zero, xv + 32);
            } else {
              // Bytes to i16 lanes first (x86 has no byte shifts); the nibble and bit masks work on either.
              const n0 = v128.load8x8_u(qp), n1 = v128.load8x8_u(qp, 8);
              const h0 = q5 ? i16x8.extend_low_i8x16_u(hc) : zero, h1 = q5 ? i16x8.extend_high_i8x16_u(hc) : zero;
              lo = dotStep(lo, values<T>(n0, h0, false), values<T>(n1, h1, false), xv);
              hi = dotStep(hi, values<T>(n0, h0, true), values<T>(n1, h1, true), xv + 64);
            }
            qp += 16;
            hp += 16;
          }
          const sc = wp + 16 + (c << 3);
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

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q4_K weights w; x already quantized by quantize_q8_k into (xq, xd, xs). */
export function matmul_q4_k(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ45<Q4>(out, w, xq, xd, xs, rows, cols, nTokens);
}
