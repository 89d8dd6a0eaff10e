// Q6_K weights × Q8_K activations: 4-row panels, 6-bit values rebuilt from nibble and 2-bit planes, i8 scales per 16.
import { SINK, madd } from "./common";
import { XK_BYTES, XK_ELEM, XK_SUMS, dotStep, i8x4, settleOnes, storeRows4, storeTokens4 } from "./kquant-common";
import { PB, dotAdd, half, pair, q6, q6at } from "./q6k-values";
import { dot_add_fused } from "./matmul-quant";
import { decodePair } from "./decode-q6k";
import { X16_BLOCKS, decodeI16, decodeQ6KI16 } from "./decode-q6k-i16";

// Weight layout and value rebuilding: q6k-values.ts.
/** Tokens per prefill tile. */
const TILE: i32 = ASC_FEATURE_RELAXED_SIMD ? 4 : 2;

/**
 * The four tokens' (t..t+3) i32 dot sums of value plane k over the 16 elements of one sub-block group: step s's
 * weight vector (the group at q0 + 48s) rebuilt (and widened) once for
 * the four, settled every two steps (kquant-common.ts), each token's sums offset by 32·(−Σqx) and scaled by the
 * sub-block's scales sc, then added to the four tokens' block sums at U (static memory: an inline function returns
 * one value, and the four stay in L1, forwarded from the previous plane's stores).
 */
@inline function plane4(k: i32, q0: usize, xk: usize, xRow: usize, sk: usize, sRow: usize, sc: v128, f: bool): void {
  const zero = i32x4.splat(0);
  let c0 = zero, c1 = zero, c2 = zero, c3 = zero;
  if (ASC_FEATURE_RELAXED_SIMD && f) {
    // Fused i32 dot-adds: all four steps straight into the i32 sums.
    for (let s: usize = 0; s < 4; s++) {
      const e = q6at(q0 + s * 48, k);
      const xs = xk + (s << 2);
      c0 = dotAdd(c0, e, xs);
      c1 = dotAdd(c1, e, xs + xRow);
      c2 = dotAdd(c2, e, xs + 2 * xRow);
      c3 = dotAdd(c3, e, xs + 3 * xRow);
    }
  } else {
    for (let s: usize = 0; s < 4; s += 2) {
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
      for (let s2: usize = s; s2 < s + 2; s2++) {
        const qs = q0 + s2 * 48;
        const e = q6at(qs, k);
        const p0 = half(e, 0), p1 = half(e, 1);
        const xs = xk + (s2 << 2) * XK_ELEM;
        a0 = dotStep(a0, p0, p1, xs);
        a1 = dotStep(a1, p0, p1, xs + xRow);
        a2 = dotStep(a2, p0, p1, xs + 2 * xRow);
        a3 = dotStep(a3, p0, p1, xs + 3 * xRow);
      }
      c0 = i32x4.add(c0, settleOnes(a0));
      c1 = i32x4.add(c1, settleOnes(a1));
      c2 = i32x4.add(c2, settleOnes(a2));
      c3 = i32x4.add(c3, settleOnes(a3));
    }
  }
  v128.store(U, i32x4.add(v128.load(U), i32x4.mul(i32x4.add(c0, i32x4.shl(v128.load32_splat(sk), 5)), sc)));
  v128.store(U, i32x4.add(v128.load(U, 16), i32x4.mul(i32x4.add(c1, i32x4.shl(v128.load32_splat(sk + sRow), 5)), sc)), 16);
  v128.store(U, i32x4.add(v128.load(U, 32), i32x4.mul(i32x4.add(c2, i32x4.shl(v128.load32_splat(sk + 2 * sRow), 5)), sc)), 32);
  v128.store(U, i32x4.add(v128.load(U, 48), i32x4.mul(i32x4.add(c3, i32x4.shl(v128.load32_splat(sk + 3 * sRow), 5)), sc)), 48);
}

/** Four tokens' i32 block sums (one v128 each) for plane4. */
const U: usize = memory.data(64, 16);

/**
 * Four tokens (t..t+3, prefill) of one panel: each plane of each weight vector is rebuilt (and on SIMD128 widened)
 * once for all four tokens; the planes take turns, so 4 accumulators (not 16) are live.
 */
@inline function tile4(o: usize, wpan: usize, x0: usize, s0: usize, dp: usize, xRow: usize, sRow: usize, nb: usize, r: i32, rows: i32, f: bool): void {
  const zero = i32x4.splat(0);
  let o0 = f32x4.splat(0), o1 = o0, o2 = o0, o3 = o0;
  let wp = wpan;
  for (let b: usize = 0; b < nb; b++) {
    v128.store(U, zero);
    v128.store(U, zero, 16);
    v128.store(U, zero, 32);
    v128.store(U, zero, 48);
    const xb = x0 + b * XK_BYTES;
    const sb = s0 + b * XK_SUMS * 4;
    for (let h: usize = 0; h < 2; h++) {
      // g = 0: bytes l = 0..15 (steps 0..3) feed sub-blocks 8h + 0, 2, 4, 6; g = 1: l = 16..31 feed 8h + 1, 3, 5, 7.
      for (let g: usize = 0; g < 2; g++) {
        const j = (h << 3) + g;
        const q0 = wp + 80 + h * 384 + g * 192;
        const xg = xb + ((h << 7) + (g << 4)) * XK_ELEM;
        const sj = sb + (j << 2), scp = wp + 16 + (j << 2);
        plane4(0, q0, xg, xRow, sj, sRow, i8x4(scp), f);
        plane4(1, q0, xg + 32 * XK_ELEM, xRow, sj + 8, sRow, i8x4(scp + 8), f);
        plane4(2, q0, xg + 64 * XK_ELEM, xRow, sj + 16, sRow, i8x4(scp + 16), f);
        plane4(3, q0, xg + 96 * XK_ELEM, xRow, sj + 24, sRow, i8x4(scp + 24), f);
      }
    }
    const dw = v128.load(wp);
    const bo = b << 2;
    o0 = madd(f32x4.convert_i32x4_s(v128.load(U)), f32x4.mul(dw, v128.load32_splat(dp + bo)), o0);
    o1 = madd(f32x4.convert_i32x4_s(v128.load(U, 16)), f32x4.mul(dw, v128.load32_splat(dp + (nb << 2) + bo)), o1);
    o2 = madd(f32x4.convert_i32x4_s(v128.load(U, 32)), f32x4.mul(dw, v128.load32_splat(dp + (nb << 3) + bo)), o2);
    o3 = madd(f32x4.convert_i32x4_s(v128.load(U, 48)), f32x4.mul(dw, v128.load32_splat(dp + 3 * (nb << 2) + bo)), o3);
    wp += PB;
  }
  storeTokens4(o, o0, o1, o2, o3, r, rows);
}
/**
 * Two tokens (t, t+1: prefill on SIMD128) of one panel: each weight vector is loaded and its four value planes rebuilt
 * and widened once for both. Eight accumulators; SIMD128's widened halves leave too few registers for tile4.
 */
@inline function tile2(o: usize, wpan: usize, x0: usize, s0: usize, dp: usize, xRow: usize, sRow: usize, nb: usize, r: i32, rows: i32): void {
  const zero = i32x4.splat(0);
  let o0 = f32x4.splat(0), o1 = o0;
  let wp = wpan;
  for (let b: usize = 0; b < nb; b++) {
    let u0 = zero, u1 = zero;
    let qp = wp + 80;
    const xb = x0 + b * XK_BYTES;
    const sb = s0 + b * XK_SUMS * 4;
    for (let h: usize = 0; h < 2; h++) {
      for (let g: usize = 0; g < 2; g++) {
        const j = (h << 3) + g;
        const sj = sb + (j << 2);
        let a00 = i32x4.shl(v128.load32_splat(sj), 5), a10 = i32x4.shl(v128.load32_splat(sj, 8), 5);
        let a20 = i32x4.shl(v128.load32_splat(sj, 16), 5), a30 = i32x4.shl(v128.load32_splat(sj, 24), 5);
        let a01 = i32x4.shl(v128.load32_splat(sj + sRow), 5), a11 = i32x4.shl(v128.load32_splat(sj + sRow, 8), 5);
        let a21 = i32x4.shl(v128.load32_splat(sj + sRow, 16), 5), a31 = i32x4.shl(v128.load32_splat(sj + sRow, 24), 5);
        let xp = xb + ((h << 7) + (g << 4)) * XK_ELEM;
        const xe = xp + 16 * XK_ELEM;
        for (; xp < xe; xp += 8 * XK_ELEM) {
          // Two steps (vectors at qp and qp + 48) per settle; each plane's values rebuilt (and widened) once for both tokens.
          const a = v128.load(qp), c = v128.load(qp, 16), hb = v128.load(qp, 32);
          const a_ = v128.load(qp, 48), c_ = v128.load(qp, 64), hb_ = v128.load(qp, 80);
          let e = q6(a, c, hb, 0), f = q6(a_, c_, hb_, 0);
          let p0 = half(e, 0), p1 = half(e, 1), r0 = half(f, 0), r1 = half(f, 1);
          a00 = pair(a00, p0, p1, r0, r1, xp);
          a01 = pair(a01, p0, p1, r0, r1, xp + xRow);
          e = q6(a, c, hb, 1);
          f = q6(a_, c_, hb_, 1);
          p0 = half(e, 0);
          p1 = half(e, 1);
          r0 = half(f, 0);
          r1 = half(f, 1);
          a10 = pair(a10, p0, p1, r0, r1, xp + 32 * XK_ELEM);
          a11 = pair(a11, p0, p1, r0, r1, xp + xRow + 32 * XK_ELEM);
          e = q6(a, c, hb, 2);
          f = q6(a_, c_, hb_, 2);
          p0 = half(e, 0);
          p1 = half(e, 1);
          r0 = half(f, 0);
          r1 = half(f, 1);
          a20 = pair(a20, p0, p1, r0, r1, xp + 64 * XK_ELEM);
          a21 = pair(a21, p0, p1, r0, r1, xp + xRow + 64 * XK_ELEM);
          e = q6(a, c, hb, 3);
          f = q6(a_, c_, hb_, 3);
          p0 = half(e, 0);
          p1 = half(e, 1);
          r0 = half(f, 0);
          r1 = half(f, 1);
          a30 = pair(a30, p0, p1, r0, r1, xp + 96 * XK_ELEM);
          a31 = pair(a31, p0, p1, r0, r1, xp + xRow + 96 * XK_ELEM);
          qp += 96;
        }
        const sc = wp + 16 + (j << 2);
        const s0v = i8x4(sc), s1v = i8x4(sc + 8), s2v = i8x4(sc + 16), s3v = i8x4(sc + 24);
        u0 = i32x4.add(u0, i32x4.add(i32x4.add(i32x4.mul(a00, s0v), i32x4.mul(a10, s1v)), i32x4.add(i32x4.mul(a20, s2v), i32x4.mul(a30, s3v))));
        u1 = i32x4.add(u1, i32x4.add(i32x4.add(i32x4.mul(a01, s0v), i32x4.mul(a11, s1v)), i32x4.add(i32x4.mul(a21, s2v), i32x4.mul(a31, s3v))));
      }
    }
    const dw = v128.load(wp);
    o0 = madd(f32x4.convert_i32x4_s(u0), f32x4.mul(dw, v128.load32_splat(dp + (b << 2))), o0);
    o1 = madd(f32x4.convert_i32x4_s(u1), f32x4.mul(dw, v128.load32_splat(dp + (nb << 2) + (b << 2))), o1);
    wp += PB;
  }
  storeRows4(o, o0, r, rows);
  storeRows4(o + (<usize>rows << 2), o1, r, rows);
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q6_K weights w; x already quantized by quantize_q8_k into (xq, xd, xs). */
export function matmul_q6_k(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD && dot_add_fused()) q6kFused(out, w, xq, xd, xs, rows, cols, nTokens);
  else if (ASC_FEATURE_RELAXED_SIMD && nTokens == 1 && cols >> 8 <= X16_BLOCKS) decodeQ6KI16(out, w, xq, xd, xs, rows, cols);
  else matmulQ6(out, w, xq, xd, xs, rows, cols, nTokens, false);
}

/**
 * matmul_q6_k with the relaxed build's dots as i32 dot-adds where the engine fuses them (6-bit values: exact, the
 * same bits): a function of its own (its loops keep Binaryen from inlining it), as matmul-q4k.ts's.
 */
function q6kFused(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  const nb = <usize>(cols >> 8);
  const xRow = nb * XK_BYTES;
  const sRow = nb * XK_SUMS * 4;
  const tEnd = nTokens - nTokens % TILE;
  // Panels in pairs p, p + P/2: the prefill tiles of each, then the last tokens (all of decode) of both at once
  // (decode-q6k.ts); an odd last panel as the i16 form's loop does it.
  const half = ((rows + 3) >> 2) >> 1; // panels p and p + half per pass
  for (let p = 0; p < half; p++) {
    const r = p << 2, r2 = (p + half) << 2;
    const wpan = w + <usize>p * nb * PB, wpan2 = w + <usize>(p + half) * nb * PB;
    for (let t = 0; t < tEnd; t += TILE) {
      const o = out + ((<usize>t * <usize>rows + <usize>r) << 2), o2 = out + ((<usize>t * <usize>rows + <usize>r2) << 2);
      const x0 = xq + <usize>t * xRow, s0 = xs + <usize>t * sRow, dp = xd + ((<usize>t * nb) << 2);
      tile4(o, wpan, x0, s0, dp, xRow, sRow, nb, r, rows, true);
      tile4(o2, wpan2, x0, s0, dp, xRow, sRow, nb, r2, rows, true);
    }
    for (let t = tEnd; t < nTokens; t++) {
      const o = out + ((<usize>t * <usize>rows + <usize>r) << 2), o2 = out + ((<usize>t * <usize>rows + <usize>r2) << 2);
      decodePair(o, o2, wpan, wpan2 - wpan, xq + <usize>t * xRow, xs + <usize>t * sRow, xd + ((<usize>t * nb) << 2), nb, r, r2, rows);
    }
  }
  const pairsEnd = half << 3;
  if (pairsEnd < rows) matmulQ6(out, w, xq, xd, xs, rows, cols, nTokens, true, pairsEnd);
}

/** matmul_q6_k's body from row r0 (a panel's first); f (a constant, relaxed build): fused i32 dot-adds (see dotAdd). */
@inline function matmulQ6(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32, f: bool, r0: i32 = 0): void {
  const nb = <usize>(cols >> 8);
  const xRow = nb * XK_BYTES;
  const sRow = nb * XK_SUMS * 4;
  const zero = i32x4.splat(0);
  for (let r = r0; r < rows; r += 4) {
    const wpan = w + (<usize>r >> 2) * nb * PB;
    let t = 0;
    // Prefill: four-token tiles on the relaxed build (measured faster there), two-token ones on SIMD128.
    for (; t + TILE <= nTokens; t += TILE) {
      const o = out + ((<usize>t * <usize>rows + <usize>r) << 2);
      if (TILE == 4) tile4(o, wpan, xq + <usize>t * xRow, xs + <usize>t * sRow, xd + ((<usize>t * nb) << 2), xRow, sRow, nb, r, rows, f);
      else tile2(o, wpan, xq + <usize>t * xRow, xs + <usize>t * sRow, xd + ((<usize>t * nb) << 2), xRow, sRow, nb, r, rows);
    }
    // The last tokens (all of decode) one at a time; the relaxed i16 form's in decode-q6k-i16.ts.
    for (; t < nTokens; t++) {
      let wp = wpan;
      const x0 = xq + <usize>t * xRow;
      const s0 = xs + <usize>t * sRow;
      const dp = xd + ((<usize>t * nb) << 2);
      if (ASC_FEATURE_RELAXED_SIMD && !f) {
        decodeI16(out + ((<usize>t * <usize>rows + <usize>r) << 2), wpan, x0, s0, dp, nb, r, rows);
        continue;
      }
      let o = f32x4.splat(0);
      for (let b: usize = 0; b < nb; b++) {
        let sumi = zero;
        let qp = wp + 80;
        const xb = x0 + b * XK_BYTES;
        const sb = s0 + b * XK_SUMS * 4;
        for (let h: usize = 0; h < 2; h++) {
          // g = 0: bytes l = 0..15 feed sub-blocks 8h + 0, 2, 4, 6; g = 1: l = 16..31 feed 8h + 1, 3, 5, 7.
          for (let g: usize = 0; g < 2; g++) {
            const j = (h << 3) + g;
            let a0 = i32x4.shl(v128.load32_splat(sb + (j << 2)), 5);
            let a1 = i32x4.shl(v128.load32_splat(sb + (j << 2), 8), 5);
            let a2 = i32x4.shl(v128.load32_splat(sb + (j << 2), 16), 5);
            let a3 = i32x4.shl(v128.load32_splat(sb + (j << 2), 24), 5);
            let xp = xb + ((h << 7) + (g << 4)) * XK_ELEM;
            const xe = xp + 16 * XK_ELEM;
            if (!ASC_FEATURE_RELAXED_SIMD) {
              // SIMD128 sums in i32 from the start: one step (three vectors) at a time, fewer registers live.
              for (; xp < xe; xp += 4 * XK_ELEM) {
                const a = v128.load(qp), c = v128.load(qp, 16), hb = v128.load(qp, 32);
                let e = q6(a, c, hb, 0);
                a0 = dotStep(a0, half(e, 0), half(e, 1), xp);
                v128.store(SINK, a0);
                e = q6(a, c, hb, 1);
                a1 = dotStep(a1, half(e, 0), half(e, 1), xp + 32 * XK_ELEM);
                v128.store(SINK, a1);
                e = q6(a, c, hb, 2);
                a2 = dotStep(a2, half(e, 0), half(e, 1), xp + 64 * XK_ELEM);
                v128.store(SINK, a2);
                e = q6(a, c, hb, 3);
                a3 = dotStep(a3, half(e, 0), half(e, 1), xp + 96 * XK_ELEM);
                qp += 48;
              }
            }
            for (; xp < xe; xp += 8 * XK_ELEM) {
              // Relaxed: two steps (groups at qp and qp + 48) per settle, one plane at a time, each group's three
              // vectors loaded once (the fourth plane reuses them); the store after each plane keeps V8 from hoisting
              // every load of the iteration to its top (loads keep their order around a store, the arithmetic
              // floats), which spilled half the registers.
              const va = v128.load(qp), wa = v128.load(qp, 48);
              a0 = pair(a0, q6(va, zero, zero, 0), zero, q6(wa, zero, zero, 0), zero, xp, f);
              v128.store(SINK, a0);
              const vb = v128.load(qp, 16), wb = v128.load(qp, 64);
              a1 = pair(a1, q6(zero, vb, zero, 1), zero, q6(zero, wb, zero, 1), zero, xp + 32 * XK_ELEM, f);
              v128.store(SINK, a1);
              const vc = v128.load(qp, 32), wc = v128.load(qp, 80);
              a2 = pair(a2, q6(zero, zero, vc, 2), zero, q6(zero, zero, wc, 2), zero, xp + 64 * XK_ELEM, f);
              v128.store(SINK, a2);
              a3 = pair(a3, q6(va, vb, vc, 3, true), zero, q6(wa, wb, wc, 3, true), zero, xp + 96 * XK_ELEM, f);
              v128.store(SINK, a3);
              qp += 96;
            }
            const sc = wp + 16 + (j << 2);
            sumi = i32x4.add(sumi, i32x4.add(i32x4.mul(a0, i8x4(sc)), i32x4.mul(a1, i8x4(sc + 8))));
            sumi = i32x4.add(sumi, i32x4.add(i32x4.mul(a2, i8x4(sc + 16)), i32x4.mul(a3, i8x4(sc + 24))));
          }
        }
        o = madd(f32x4.convert_i32x4_s(sumi), f32x4.mul(v128.load(wp), v128.load32_splat(dp + (b << 2))), o);
        wp += PB;
      }
      storeRows4(out + ((<usize>t * <usize>rows + <usize>r) << 2), o, r, rows);
    }
  }
}
