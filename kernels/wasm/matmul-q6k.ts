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
 * The four tokens' (t..t+3) i32 dot sums over one 16-element sub-block (its vectors at q0): each plane's weight vector
 * rebuilt (and widened) once for the four, all four planes into the same sums (one sub-block, one scale), settled
 * every two planes on the i16 path (kquant-common.ts), each token's sums offset by 32·(−Σqx) and scaled by the
 * sub-block's scales sc, then added to the four tokens' block sums at U (static memory: an inline function returns
 * one value, and the four stay in L1, forwarded from the previous sub-block's stores).
 */
@inline function sub4(q0: usize, xk: usize, xRow: usize, sk: usize, sRow: usize, sc: v128, f: bool): void {
  const zero = i32x4.splat(0);
  let c0 = zero, c1 = zero, c2 = zero, c3 = zero;
  let e: v128;
  if (ASC_FEATURE_RELAXED_SIMD && f) {
    // Fused i32 dot-adds: all four planes straight into the i32 sums.
    e = q6at(q0, 0);
    c0 = dotAdd(c0, e, xk);
    c1 = dotAdd(c1, e, xk + xRow);
    c2 = dotAdd(c2, e, xk + 2 * xRow);
    c3 = dotAdd(c3, e, xk + 3 * xRow);
    e = q6at(q0, 1);
    c0 = dotAdd(c0, e, xk + 4);
    c1 = dotAdd(c1, e, xk + xRow + 4);
    c2 = dotAdd(c2, e, xk + 2 * xRow + 4);
    c3 = dotAdd(c3, e, xk + 3 * xRow + 4);
    e = q6at(q0, 2);
    c0 = dotAdd(c0, e, xk + 8);
    c1 = dotAdd(c1, e, xk + xRow + 8);
    c2 = dotAdd(c2, e, xk + 2 * xRow + 8);
    c3 = dotAdd(c3, e, xk + 3 * xRow + 8);
    e = q6at(q0, 3);
    c0 = dotAdd(c0, e, xk + 12);
    c1 = dotAdd(c1, e, xk + xRow + 12);
    c2 = dotAdd(c2, e, xk + 2 * xRow + 12);
    c3 = dotAdd(c3, e, xk + 3 * xRow + 12);
  } else {
    let a0: v128, a1: v128, a2: v128, a3: v128, p0: v128, p1: v128, xs: usize;
    a0 = zero;
    a1 = zero;
    a2 = zero;
    a3 = zero;
    e = q6at(q0, 0);
    p0 = half(e, 0);
    p1 = half(e, 1);
    xs = xk;
    a0 = dotStep(a0, p0, p1, xs);
    a1 = dotStep(a1, p0, p1, xs + xRow);
    a2 = dotStep(a2, p0, p1, xs + 2 * xRow);
    a3 = dotStep(a3, p0, p1, xs + 3 * xRow);
    e = q6at(q0, 1);
    p0 = half(e, 0);
    p1 = half(e, 1);
    xs = xk + 4 * XK_ELEM;
    a0 = dotStep(a0, p0, p1, xs);
    a1 = dotStep(a1, p0, p1, xs + xRow);
    a2 = dotStep(a2, p0, p1, xs + 2 * xRow);
    a3 = dotStep(a3, p0, p1, xs + 3 * xRow);
    c0 = i32x4.add(c0, settleOnes(a0));
    c1 = i32x4.add(c1, settleOnes(a1));
    c2 = i32x4.add(c2, settleOnes(a2));
    c3 = i32x4.add(c3, settleOnes(a3));
    a0 = zero;
    a1 = zero;
    a2 = zero;
    a3 = zero;
    e = q6at(q0, 2);
    p0 = half(e, 0);
    p1 = half(e, 1);
    xs = xk + 8 * XK_ELEM;
    a0 = dotStep(a0, p0, p1, xs);
    a1 = dotStep(a1, p0, p1, xs + xRow);
    a2 = dotStep(a2, p0, p1, xs + 2 * xRow);
    a3 = dotStep(a3, p0, p1, xs + 3 * xRow);
    e = q6at(q0, 3);
    p0 = half(e, 0);
    p1 = half(e, 1);
    xs = xk + 12 * XK_ELEM;
    a0 = dotStep(a0, p0, p1, xs);
    a1 = dotStep(a1, p0, p1, xs + xRow);
    a2 = dotStep(a2, p0, p1, xs + 2 * xRow);
    a3 = dotStep(a3, p0, p1, xs + 3 * xRow);
    c0 = i32x4.add(c0, settleOnes(a0));
    c1 = i32x4.add(c1, settleOnes(a1));
    c2 = i32x4.add(c2, settleOnes(a2));
    c3 = i32x4.add(c3, settleOnes(a3));
  }
  v128.store(U, i32x4.add(v128.load(U), i32x4.mul(i32x4.add(c0, i32x4.shl(v128.load32_splat(sk), 5)), sc)));
  v128.store(U, i32x4.add(v128.load(U, 16), i32x4.mul(i32x4.add(c1, i32x4.shl(v128.load32_splat(sk + sRow), 5)), sc)), 16);
  v128.store(U, i32x4.add(v128.load(U, 32), i32x4.mul(i32x4.add(c2, i32x4.shl(v128.load32_splat(sk + 2 * sRow), 5)), sc)), 32);
  v128.store(U, i32x4.add(v128.load(U, 48), i32x4.mul(i32x4.add(c3, i32x4.shl(v128.load32_splat(sk + 3 * sRow), 5)), sc)), 48);
}

/** Four tokens' i32 block sums (one v128 each) for sub4. */
const U: usize = memory.data(64, 16);

/**
 * Four tokens (t..t+3, prefill) of one panel: each plane of each weight vector is rebuilt (and on SIMD128 widened)
 * once for all four tokens; a sub-block at a time, so 4 accumulators (not 16) are live.
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
    for (let j: usize = 0; j < 16; j++) sub4(wp + 80 + j * 48, xb + (j << 4) * XK_ELEM, xRow, sb + (j << 2), sRow, i8x4(wp + 16 + (j << 2)), f);
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
 * Two tokens (t, t+1: prefill on SIMD128) of one panel: each sub-block's three weight vectors loaded and its four value
 * planes rebuilt and widened once for both tokens, two planes per settle.
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
    for (let j: usize = 0; j < 16; j++) {
      const sj = sb + (j << 2);
      let a0 = i32x4.shl(v128.load32_splat(sj), 5), a1 = i32x4.shl(v128.load32_splat(sj + sRow), 5);
      const xp = xb + (j << 4) * XK_ELEM;
      const a = v128.load(qp), c = v128.load(qp, 16), hb = v128.load(qp, 32);
      // Planes 0 and 1 (elements 0..7 of the sub-block), then 2 and 3, one settle each.
      let e = q6(a, c, hb, 0), g = q6(a, c, hb, 1);
      let p0 = half(e, 0), p1 = half(e, 1), r0 = half(g, 0), r1 = half(g, 1);
      a0 = pair(a0, p0, p1, r0, r1, xp);
      a1 = pair(a1, p0, p1, r0, r1, xp + xRow);
      e = q6(a, c, hb, 2);
      g = q6(a, c, hb, 3);
      p0 = half(e, 0);
      p1 = half(e, 1);
      r0 = half(g, 0);
      r1 = half(g, 1);
      a0 = pair(a0, p0, p1, r0, r1, xp + 8 * XK_ELEM);
      a1 = pair(a1, p0, p1, r0, r1, xp + xRow + 8 * XK_ELEM);
      qp += 48;
      const sv = i8x4(wp + 16 + (j << 2));
      u0 = i32x4.add(u0, i32x4.mul(a0, sv));
      u1 = i32x4.add(u1, i32x4.mul(a1, sv));
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
        // One sub-block at a time: its four planes (elements 4k..4k+3 of each row's 16) into one sum, one scale.
        for (let j: usize = 0; j < 16; j++) {
          let a = i32x4.shl(v128.load32_splat(sb + (j << 2)), 5);
          const xp = xb + (j << 4) * XK_ELEM;
          const va = v128.load(qp), vb = v128.load(qp, 16), vc = v128.load(qp, 32);
          if (!ASC_FEATURE_RELAXED_SIMD) {
            // SIMD128 sums in i32 from the start: one plane at a time, fewer registers live.
            let e = q6(va, vb, vc, 0);
            a = dotStep(a, half(e, 0), half(e, 1), xp);
            v128.store(SINK, a);
            e = q6(va, vb, vc, 1);
            a = dotStep(a, half(e, 0), half(e, 1), xp + 4 * XK_ELEM);
            v128.store(SINK, a);
            e = q6(va, vb, vc, 2);
            a = dotStep(a, half(e, 0), half(e, 1), xp + 8 * XK_ELEM);
            v128.store(SINK, a);
            e = q6(va, vb, vc, 3);
            a = dotStep(a, half(e, 0), half(e, 1), xp + 12 * XK_ELEM);
          } else {
            // Relaxed (the fused form: the odd last panel of decode-q6k.ts's pairs): planes 0, 1 then 2, 3 per pair
            // of dots; the store after each keeps V8 from hoisting the next sub-block's loads.
            a = pair(a, q6(va, zero, zero, 0), zero, q6(zero, vb, zero, 1), zero, xp, f);
            v128.store(SINK, a);
            a = pair(a, q6(zero, zero, vc, 2), zero, q6(va, vb, vc, 3, true), zero, xp + 8 * XK_ELEM, f);
            v128.store(SINK, a);
          }
          qp += 48;
          sumi = i32x4.add(sumi, i32x4.mul(a, i8x4(wp + 16 + (j << 2))));
        }
        o = madd(f32x4.convert_i32x4_s(sumi), f32x4.mul(v128.load(wp), v128.load32_splat(dp + (b << 2))), o);
        wp += PB;
      }
      storeRows4(out + ((<usize>t * <usize>rows + <usize>r) << 2), o, r, rows);
    }
  }
}
