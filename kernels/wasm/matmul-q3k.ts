// Q3_K weights × Q8_K activations (and Q2_K, matmul-q2k.ts): 2-bit planes, 16-element sub-blocks, 4-row panels.
import { madd } from "./common";
import { XK_BYTES, XK_ELEM, XK_SUMS, dotBytes, f16x4At, i8x4, settle, storeRows4, u8x4 } from "./kquant-common";

// Weight layouts (repack-kquant.ts): rows in panels of four (the last padded with zero rows); per panel and 256-block:
// Q3_K (456 bytes): d of the 4 rows (f16), the 16 six-bit scales unpacked to i8 (−32 applied) as [sub-block][row],
// the 32 hmask bytes of each row as 8 vectors, then per 128-element half the row's 32 qs bytes as 8 vectors.
// Q2_K (336 bytes, exactly the file's): d (f16), dmin (f16), the 16 scale bytes (scale low nibble, min high) as
// [sub-block][row], then the qs vectors as Q3_K's. Vector v holds bytes 4v..4v+3 of the four rows (matmul-q4k.ts).
// qs byte l of half n holds, at bits 2j, element 128n + 32j + l (sub-block 8n + 2j + l/16); Q3_K's hmask byte l holds
// that element's third bit at bit 4n + j (set: q = q2, clear: q = q2 − 4).
// The unsigned values (Q3_K: q2 | hbit << 2, 0..7; Q2_K: 0..3) are dotted; Q3_K's −4 becomes a start of 4·(−Σqx) per
// sub-block, Q2_K's mins a separate Σ m·(−Σqx). Per block: dx·d·Σ sc·(Σ q·qx) (+ dx·dmin·Σ m·(−Σqx)), exact in i32.

export class Q2 {}
export class Q3 {}

/** Values j (bits 2j) of the qs vector q, with Q3_K's third bit from hn (the hmask vector shifted right by 4n). */
@inline function value<T>(q: v128, hn: v128, j: i32): v128 {
  const lo = v128.and(j == 0 ? q : i16x8.shr_u(q, 2 * j), i8x16.splat(3));
  if (idof<T>() == idof<Q2>()) return lo;
  const hb = j == 0 ? i16x8.shl(hn, 2) : j == 1 ? i16x8.shl(hn, 1) : j == 2 ? hn : i16x8.shr_u(hn, 1);
  return v128.or(lo, v128.and(hb, i8x16.splat(4)));
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q2_K or Q3_K weights w; x already quantized by quantize_q8_k. */
@inline export function matmulQ23<T>(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  const q3 = idof<T>() == idof<Q3>();
  const PB: usize = q3 ? 456 : 336;
  const SC: usize = q3 ? 8 : 16; // scales
  const QOFF: usize = q3 ? 200 : 80; // qs
  const nb = <usize>(cols >> 8);
  const xRow = nb * XK_BYTES;
  const sRow = nb * XK_SUMS * 4;
  const zero = i32x4.splat(0);
  for (let r = 0; r < rows; r += 4) {
    const wpan = w + (<usize>r >> 2) * nb * PB;
    for (let t = 0; t < nTokens; t++) {
      let wp = wpan;
      const x0 = xq + <usize>t * xRow;
      const s0 = xs + <usize>t * sRow;
      const dp = xd + ((<usize>t * nb) << 2);
      let o = f32x4.splat(0);
      for (let b: usize = 0; b < nb; b++) {
        const xb = x0 + b * XK_BYTES;
        const sb = s0 + b * XK_SUMS * 4;
        let sumi = zero, mins = zero;
        if (!q3) {
          for (let j: usize = 0; j < 64; j += 4) mins = i32x4.add(mins, i32x4.mul(i32x4.shr_u(u8x4(wp + SC + j), 4), v128.load32_splat(sb + j)));
        }
        let qp = wp + QOFF;
        for (let n: usize = 0; n < 2; n++) {
          for (let g: usize = 0; g < 2; g++) {
            const k = (n << 3) + g; // sub-blocks k, k + 2, k + 4, k + 6
            let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
            let hp = wp + 72 + (g << 6);
            let xp = xb + ((n << 7) + (g << 4)) * XK_ELEM;
            const xe = xp + 16 * XK_ELEM;
            for (; xp < xe; xp += 4 * XK_ELEM) {
              const q = v128.load(qp);
              const hn = q3 ? i16x8.shr_u(v128.load(hp), <i32>(n << 2)) : zero;
              a0 = dotBytes(a0, value<T>(q, hn, 0), xp);
              a1 = dotBytes(a1, value<T>(q, hn, 1), xp + 32 * XK_ELEM);
              a2 = dotBytes(a2, value<T>(q, hn, 2), xp + 64 * XK_ELEM);
              a3 = dotBytes(a3, value<T>(q, hn, 3), xp + 96 * XK_ELEM);
              qp += 16;
              hp += 16;
            }
            // 4 steps of values ≤ 7 fit dotStep's i16 lanes (kquant-common.ts); then Q3_K's start of 4·(−Σqx).
            a0 = settle(a0);
            a1 = settle(a1);
            a2 = settle(a2);
            a3 = settle(a3);
            if (q3) {
              a0 = i32x4.add(a0, i32x4.shl(v128.load32_splat(sb + (k << 2)), 2));
              a1 = i32x4.add(a1, i32x4.shl(v128.load32_splat(sb + (k << 2), 8), 2));
              a2 = i32x4.add(a2, i32x4.shl(v128.load32_splat(sb + (k << 2), 16), 2));
              a3 = i32x4.add(a3, i32x4.shl(v128.load32_splat(sb + (k << 2), 24), 2));
            }
            const sc = wp + SC + (k << 2);
            const m4 = i32x4.splat(15);
            const s0v = q3 ? i8x4(sc) : v128.and(u8x4(sc), m4), s1v = q3 ? i8x4(sc + 8) : v128.and(u8x4(sc + 8), m4);
            const s2v = q3 ? i8x4(sc + 16) : v128.and(u8x4(sc + 16), m4), s3v = q3 ? i8x4(sc + 24) : v128.and(u8x4(sc + 24), m4);
            sumi = i32x4.add(sumi, i32x4.add(i32x4.mul(a0, s0v), i32x4.mul(a1, s1v)));
            sumi = i32x4.add(sumi, i32x4.add(i32x4.mul(a2, s2v), i32x4.mul(a3, s3v)));
          }
        }
        const dx = v128.load32_splat(dp + (b << 2));
        o = madd(f32x4.convert_i32x4_s(sumi), f32x4.mul(f16x4At(wp), dx), o);
        if (!q3) o = madd(f32x4.convert_i32x4_s(mins), f32x4.mul(f16x4At(wp + 8), dx), o);
        wp += PB;
      }
      storeRows4(out + ((<usize>t * <usize>rows + <usize>r) << 2), o, r, rows);
    }
  }
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q3_K weights w; x already quantized by quantize_q8_k into (xq, xd, xs). */
export function matmul_q3_k(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ23<Q3>(out, w, xq, xd, xs, rows, cols, nTokens);
}
