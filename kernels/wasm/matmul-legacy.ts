// Q4_1, Q5_0 and Q5_1 weights × Q8_0 / Q8_1 activations: 4-row panels, integer dots per 32-block, f16 scales.
import { SINK, madd } from "./common";
import { storeRows4 } from "./kquant-common";
import {
  Fast, Q41, Q50, Q51, Slow, blockRelaxed, blockWide, dScales, firstRelaxed, hasHigh, hasMin, highOp, lowOp, lowWide, mScales,
  panelBlockBytes, panelSpecial, quantOffset, start, stepRelaxed, vecAt, widen,
} from "./legacy-ops";

// Weight layout (repack-legacy.ts): rows in panels of four (the last padded with zero rows); per panel and 32-block:
// d of the 4 rows (f16), for Q4_1/Q5_1 m (f16), then the quant vectors legacy-ops.ts describes. No byte more than the
// file: 80, 88, 96 bytes = 4·20, 4·22, 4·24. Per block: Q5_0: d·dx·(Σ q·qx − 16·Σqx) (ggml's q−16); Q4_1/Q5_1:
// d·dx·Σ q·qx + m·s with Q8_1's s = f16(dx·Σqx). Activations as quantize_q8_0 lays them out (matmul-quant.ts), plus
// the s terms (quantize_q8_1) for Q4_1/Q5_1. Prefill runs tiles of 4 rows × 4 tokens: each weight vector is loaded and
// its operands assembled once for four tokens, each block's scales widened once. The decode path (and a tile's
// leftover tokens) runs the written-out blocks of legacy-ops.ts; both take the same integer sums and the same float
// steps in the same order, so a token's outputs are the same bits either way.

/** Activation bytes per block. The dots read the relaxed build's i8 quants or SIMD128's i16 ones: both at offset 0. */
const XB: usize = ASC_FEATURE_RELAXED_SIMD ? 96 : 64;

/**
 * Relaxed tile: a token's accumulator after vector j. Q5 widens each vector's i16 sums to i32 at once (one
 * accumulator per token: two would spill), starting from Q5_0's 16·(−Σq) at sp; Q4_1 stays in i16 (widened after j = 3).
 */
@inline function tok<T>(a: v128, lo: v128, hi: v128, xp: usize, j: i32, sp: usize): v128 {
  if (!hasHigh<T>()) return j == 0 ? firstRelaxed(lo, hi, xp, 0) : stepRelaxed(a, lo, hi, xp, j);
  const w = widen(firstRelaxed(lo, hi, xp, j));
  if (j == 0) return hasMin<T>() ? w : i32x4.add(w, start<T>(sp));
  return i32x4.add(a, w);
}

/** SIMD128: acc + one token's dots of a vector's low (h false) or high i16 operands p0, p1 with its i16 quants at xp. */
@inline function halfWide(acc: v128, p0: v128, p1: v128, xp: usize, h: bool): v128 {
  const x0 = h ? v128.load32_splat(xp, 32) : v128.load32_splat(xp);
  const x1 = h ? v128.load32_splat(xp, 36) : v128.load32_splat(xp, 4);
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(p0, x0), i32x4.dot_i16x8_s(p1, x1)));
}

/** SIMD128 tile: the high operand of u with S4's bytes (widened) already shifted so this vector's pair is at bits 3..4. */
@inline function highWide2<T>(u: v128, t: v128): v128 {
  if (!hasHigh<T>()) return i16x8.shr_u(u, 4);
  return v128.or(i16x8.shr_u(u, 5), v128.and(t, i16x8.splat(0x18)));
}

/**
 * Stores the four accumulators to SINK: V8 keeps loads in program order but floats arithmetic down to its uses, so
 * without these every later vector's loads would be issued first and what they hold would spill (decode-legacy.ts).
 */
@inline function sink4(a0: v128, a1: v128, a2: v128, a3: v128): void {
  v128.store(SINK, a0);
  v128.store(SINK, a1);
  v128.store(SINK, a2);
  v128.store(SINK, a3);
}

/**
 * One 4-row panel (weights at wpan, rows r..r+3) for all tokens: 4-token tiles, then the rest one at a time. F = Fast
 * (a separate copy): no d or m of the panel is Inf/NaN, so every scale widens in 4 operations and the loops
 * carry no branch (which would make V8 spill around it); otherwise the full conversion (legacy-ops.ts).
 */
@inline function panel<T, F>(out: usize, wpan: usize, r: i32, xq: usize, xd: usize, xs: usize, xst: usize, rows: i32, nb: i32, nTokens: i32): void {
  const QOFF = quantOffset<T>();
  const PB = panelBlockBytes<T>();
  const xRow = <usize>nb * XB; // activation bytes per token
  const sRow = <usize>nb << 2; // d, −Σq and st bytes per token
  const oRow = <usize>rows << 2;
  const zero = f32x4.splat(0);
  const z = i32x4.splat(0);
  let t = 0;
  for (; t + 4 <= nTokens; t += 4) {
    let x0 = xq + <usize>t * xRow;
    let so = <usize>t * sRow; // this block's d / −Σq / st offset for token t
    let wp = wpan;
    let o0 = zero, o1 = zero, o2 = zero, o3 = zero;
    for (let b = 0; b < nb; b++) {
      const x1 = x0 + xRow, x2 = x1 + xRow, x3 = x2 + xRow;
      const qp = wp + QOFF;
      let a0: v128, a1: v128, a2: v128, a3: v128;
      if (ASC_FEATURE_RELAXED_SIMD) {
        // Written out (AssemblyScript cannot return four registers from a helper): vector j = 0..3 in turn.
        const s4 = hasHigh<T>() ? v128.load(qp, 64) : z;
        const sp = xs + so;
        let n = vecAt(qp, 0);
        let lo = lowOp<T>(n), hi = highOp<T>(n, s4, 0);
        a0 = tok<T>(z, lo, hi, x0, 0, sp);
        a1 = tok<T>(z, lo, hi, x1, 0, sp + sRow);
        a2 = tok<T>(z, lo, hi, x2, 0, sp + 2 * sRow);
        a3 = tok<T>(z, lo, hi, x3, 0, sp + 3 * sRow);
        sink4(a0, a1, a2, a3);
        n = vecAt(qp, 16);
        lo = lowOp<T>(n);
        hi = highOp<T>(n, s4, 1);
        a0 = tok<T>(a0, lo, hi, x0, 1, sp);
        a1 = tok<T>(a1, lo, hi, x1, 1, sp);
        a2 = tok<T>(a2, lo, hi, x2, 1, sp);
        a3 = tok<T>(a3, lo, hi, x3, 1, sp);
        sink4(a0, a1, a2, a3);
        n = vecAt(qp, 32);
        lo = lowOp<T>(n);
        hi = highOp<T>(n, s4, 2);
        a0 = tok<T>(a0, lo, hi, x0, 2, sp);
        a1 = tok<T>(a1, lo, hi, x1, 2, sp);
        a2 = tok<T>(a2, lo, hi, x2, 2, sp);
        a3 = tok<T>(a3, lo, hi, x3, 2, sp);
        sink4(a0, a1, a2, a3);
        n = vecAt(qp, 48);
        lo = lowOp<T>(n);
        hi = highOp<T>(n, s4, 3);
        a0 = tok<T>(a0, lo, hi, x0, 3, sp);
        a1 = tok<T>(a1, lo, hi, x1, 3, sp);
        a2 = tok<T>(a2, lo, hi, x2, 3, sp);
        a3 = tok<T>(a3, lo, hi, x3, 3, sp);
        if (!hasHigh<T>()) {
          a0 = widen(a0);
          a1 = widen(a1);
          a2 = widen(a2);
          a3 = widen(a3);
        }
      } else {
        // SIMD128: a loop over the four vectors (as matmul-quant.ts's tiles: the loop bounds what V8 schedules
        // together, so nothing spills), low elements for the four tokens, then high ones. S4's bytes widen to i16
        // lanes with room to spare, so one shift left by 3 then right by 2 per vector brings pair j to bits 3..4.
        let ta = hasHigh<T>() ? i16x8.shl(v128.load8x8_u(qp, 64), 3) : z;
        let tb = hasHigh<T>() ? i16x8.shl(v128.load8x8_u(qp, 72), 3) : z;
        a0 = start<T>(xs + so);
        a1 = start<T>(xs + so + sRow);
        a2 = start<T>(xs + so + 2 * sRow);
        a3 = start<T>(xs + so + 3 * sRow);
        let y0 = x0, y1 = x1, y2 = x2, y3 = x3, up = qp;
        const ue = qp + 64;
        for (; up < ue; up += 16) {
          const u = v128.load8x8_u(up), v = v128.load8x8_u(up, 8);
          let p0 = lowWide<T>(u), p1 = lowWide<T>(v);
          a0 = halfWide(a0, p0, p1, y0, false);
          a1 = halfWide(a1, p0, p1, y1, false);
          a2 = halfWide(a2, p0, p1, y2, false);
          a3 = halfWide(a3, p0, p1, y3, false);
          sink4(a0, a1, a2, a3); // the high half's 8 broadcasts after the low half's arithmetic
          p0 = highWide2<T>(u, ta);
          p1 = highWide2<T>(v, tb);
          a0 = halfWide(a0, p0, p1, y0, true);
          a1 = halfWide(a1, p0, p1, y1, true);
          a2 = halfWide(a2, p0, p1, y2, true);
          a3 = halfWide(a3, p0, p1, y3, true);
          if (hasHigh<T>()) {
            ta = i16x8.shr_u(ta, 2);
            tb = i16x8.shr_u(tb, 2);
          }
          y0 += 8;
          y1 += 8;
          y2 += 8;
          y3 += 8;
        }
      }
      const dw = dScales<T, F>(wp);
      o0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(dw, v128.load32_splat(xd + so)), o0);
      o1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(dw, v128.load32_splat(xd + so + sRow)), o1);
      o2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(dw, v128.load32_splat(xd + so + 2 * sRow)), o2);
      o3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(dw, v128.load32_splat(xd + so + 3 * sRow)), o3);
      if (hasMin<T>()) {
        const mw = mScales<F>(wp);
        o0 = madd(mw, v128.load32_splat(xst + so), o0);
        o1 = madd(mw, v128.load32_splat(xst + so + sRow), o1);
        o2 = madd(mw, v128.load32_splat(xst + so + 2 * sRow), o2);
        o3 = madd(mw, v128.load32_splat(xst + so + 3 * sRow), o3);
      }
      wp += PB;
      x0 += XB;
      so += 4;
    }
    const o = out + ((<usize>t * <usize>rows + <usize>r) << 2);
    storeRows4(o, o0, r, rows);
    storeRows4(o + oRow, o1, r, rows);
    storeRows4(o + 2 * oRow, o2, r, rows);
    storeRows4(o + 3 * oRow, o3, r, rows);
  }
  // Remaining tokens (all of decode) one at a time.
  for (; t < nTokens; t++) {
    let xp = xq + <usize>t * xRow;
    let so = <usize>t * sRow;
    let wp = wpan;
    let o = zero;
    for (let b = 0; b < nb; b++) {
      const acc = ASC_FEATURE_RELAXED_SIMD ? blockRelaxed<T>(wp + QOFF, xp, xs + so) : blockWide<T>(wp + QOFF, xp, xs + so);
      o = madd(f32x4.convert_i32x4_s(acc), f32x4.mul(dScales<T, F>(wp), v128.load32_splat(xd + so)), o);
      if (hasMin<T>()) o = madd(mScales<F>(wp), v128.load32_splat(xst + so), o);
      wp += PB;
      xp += XB;
      so += 4;
    }
    storeRows4(out + ((<usize>t * <usize>rows + <usize>r) << 2), o, r, rows);
  }
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for T's format; x quantized by quantize_q8_0 (xq, xd, xs) and, with mins, st. */
@inline function matmulLegacy<T>(out: usize, w: usize, xq: usize, xd: usize, xs: usize, xst: usize, rows: i32, cols: i32, nTokens: i32): void {
  const nb = cols >> 5;
  for (let r = 0; r < rows; r += 4) {
    const wpan = w + (<usize>r >> 2) * <usize>nb * panelBlockBytes<T>();
    if (panelSpecial<T>(wpan, nb)) panel<T, Slow>(out, wpan, r, xq, xd, xs, xst, rows, nb, nTokens);
    else panel<T, Fast>(out, wpan, r, xq, xd, xs, xst, rows, nb, nTokens);
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
