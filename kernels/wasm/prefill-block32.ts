// Fused Q4_0 and Q8_0 prefill on the relaxed build: eight rows (two 4-row panels) by four tokens, each activation broadcast once for both panels.
import { madd } from "./common";
import { f16x4At } from "./kquant-common";

// matmul-quant.ts's one-panel tile broadcasts 4 activations per token and nibble half for one weight vector: one
// broadcast per two dots here instead of one per dot. The float sums keep that tile's steps and order per row and
// token, so the results are the same bits. The eight (panel, token) output sums live in O across the block loop (too
// many to stay in registers beside the accumulators). Unlike prefill-q45.ts, the Q4_0 step has no stores to SINK
// between tokens (which there keep V8 from loading every broadcast at the top of the step): in workerd, where this
// tile runs, the step measured about 4 % faster without them.

/** The eight (panel, token) f32 output sums: panel A's tokens 0-3, then panel B's. */
const O: usize = memory.data(128, 16);

/** acc + the four rows' dots of prepared nibbles p against broadcast i8 activations x (f: a fused i32 dot-add). */
@inline function dot(acc: v128, x: v128, p: v128, f: bool): v128 {
  if (f) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, p, acc);
  return i16x8.add(acc, i16x8.relaxed_dot_i8x16_i7x16_s(x, p));
}

/**
 * A block's start, as matmul-quant.ts start: the token's −Σq (at sp) times the weights' offset in every lane, 8 for
 * Q4_0's nibbles, 128 for fused Q8_0's offset quants.
 */
@inline function start(sp: usize, q8: bool): v128 {
  return i32x4.shl(v128.load32_splat(sp), q8 ? 7 : 3);
}

/**
 * Fused Q8_0's operand from a Q8_0 weight vector (matmul-quant.ts Q8D): the pairs layout (row rr's bytes k, k+1 at
 * 8(k>>1) + 2rr) regrouped to quads (row rr's 4 bytes at 4rr), then + 128 (q ^ 0x80).
 */
@inline export function quads8(w: v128): v128 {
  const q = i8x16.relaxed_swizzle(w, i8x16(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15));
  return v128.xor(q, i8x16.splat(-128));
}

/** The four i32 row sums of an accumulator: i16 lane pairs summed (a dot with ones, kept in a register) plus the start. */
@inline function finish(acc: v128, sp: usize, ones: v128, f: bool): v128 {
  return f ? acc : i32x4.add(i32x4.dot_i16x8_s(acc, ones), start(sp, false));
}

/** O slot i += row sums a scaled by the panel's scales dw times the token's d (at dp): matmul-quant.ts's float step. */
@inline function addO(i: usize, a: v128, dw: v128, dp: usize): void {
  v128.store(O + (i << 4), madd(f32x4.convert_i32x4_s(a), f32x4.mul(dw, v128.load32_splat(dp)), v128.load(O + (i << 4))));
}

/** Stores the four rows r0..r0+3 of one token's outputs at o, only those below `rows` in the last panel. */
@inline export function storeRows(o: usize, v: v128, r0: i32, rows: i32): void {
  if (r0 + 4 <= rows) {
    v128.store(o, v);
    return;
  }
  store<f32>(o, f32x4.extract_lane(v, 0));
  if (r0 + 1 < rows) store<f32>(o, f32x4.extract_lane(v, 1), 4);
  if (r0 + 2 < rows) store<f32>(o, f32x4.extract_lane(v, 2), 8);
}

/**
 * Tokens t..t+3 of rows r..r+7 (panels at wa and wb, their scales at da and db: f32 for Q4_0, the file's f16 for Q8_0;
 * rows r+4.. may be partial) into out: x0 the tokens' i8 quants (xRow apart, XB bytes per block), d0 and s0 their d
 * and −Σq (sRow apart). q8: fused Q8_0 (f must be true: only where dot-adds are vpdpbusd), else Q4_0. matmul-quant.ts
 * passes f = true only: Q4_0's i16 form (f false, i16 accumulators settled by a dot with ones) measured no faster in
 * Node with two panels than with one (its accumulators and operands spill), so it stays here for A/B runs alone.
 */
@inline export function tile8(out: usize, wa: usize, wb: usize, da: usize, db: usize, x0: usize, d0: usize, s0: usize,
  nb: i32, XB: usize, xRow: usize, sRow: usize, r: i32, rows: i32, f: bool, q8: bool): void {
  const zero = f32x4.splat(0);
  const ones = i16x8.splat(1);
  const m = i8x16.splat(0x0f);
  for (let i: usize = 0; i < 8; i++) v128.store(O + (i << 4), zero);
  let pa = wa, pb = wb, xb = x0, dp = d0, sp = s0;
  for (let b = 0; b < nb; b++) {
    const z = f ? zero : i32x4.splat(0);
    let a0 = f ? start(sp, q8) : z, a1 = f ? start(sp + sRow, q8) : z, a2 = f ? start(sp + 2 * sRow, q8) : z, a3 = f ? start(sp + 3 * sRow, q8) : z;
    let b0 = a0, b1 = a1, b2 = a2, b3 = a3;
    let x1 = xb + xRow, x2 = x1 + xRow, x3 = x2 + xRow;
    if (q8) {
      // Fused Q8_0: the block's eight vectors per panel, each dotted with the four tokens' broadcasts.
      const xe = xb + 32;
      for (let xp = xb; xp < xe; xp += 4) {
        const pA = quads8(v128.load(pa)), pB = quads8(v128.load(pb));
        let x = v128.load32_splat(xp);
        a0 = dot(a0, x, pA, true);
        b0 = dot(b0, x, pB, true);
        x = v128.load32_splat(x1);
        a1 = dot(a1, x, pA, true);
        b1 = dot(b1, x, pB, true);
        x = v128.load32_splat(x2);
        a2 = dot(a2, x, pA, true);
        b2 = dot(b2, x, pB, true);
        x = v128.load32_splat(x3);
        a3 = dot(a3, x, pA, true);
        b3 = dot(b3, x, pB, true);
        pa += 16;
        pb += 16;
        x1 += 4;
        x2 += 4;
        x3 += 4;
      }
    }
    const xe = q8 ? xb : xb + 16;
    for (let xp = xb; xp < xe; xp += 4) {
      // Vector j of each panel-block: low nibbles (elements 4j..) and high ones (16 + 4j..), for both panels.
      const wA = v128.load(pa), wB = v128.load(pb);
      const la = v128.and(wA, m), lb = v128.and(wB, m);
      const ha = v128.and(i16x8.shr_u(wA, 4), m), hb = v128.and(i16x8.shr_u(wB, 4), m);
      let x = v128.load32_splat(xp);
      a0 = dot(a0, x, la, f);
      b0 = dot(b0, x, lb, f);
      x = v128.load32_splat(xp, 16);
      a0 = dot(a0, x, ha, f);
      b0 = dot(b0, x, hb, f);
      x = v128.load32_splat(x1);
      a1 = dot(a1, x, la, f);
      b1 = dot(b1, x, lb, f);
      x = v128.load32_splat(x1, 16);
      a1 = dot(a1, x, ha, f);
      b1 = dot(b1, x, hb, f);
      x = v128.load32_splat(x2);
      a2 = dot(a2, x, la, f);
      b2 = dot(b2, x, lb, f);
      x = v128.load32_splat(x2, 16);
      a2 = dot(a2, x, ha, f);
      b2 = dot(b2, x, hb, f);
      x = v128.load32_splat(x3);
      a3 = dot(a3, x, la, f);
      b3 = dot(b3, x, lb, f);
      x = v128.load32_splat(x3, 16);
      a3 = dot(a3, x, ha, f);
      b3 = dot(b3, x, hb, f);
      pa += 16;
      pb += 16;
      x1 += 4;
      x2 += 4;
      x3 += 4;
    }
    const dwa = q8 ? f16x4At(da + (<usize>b << 3)) : v128.load(da + (<usize>b << 4));
    const dwb = q8 ? f16x4At(db + (<usize>b << 3)) : v128.load(db + (<usize>b << 4));
    addO(0, finish(a0, sp, ones, f), dwa, dp);
    addO(1, finish(a1, sp + sRow, ones, f), dwa, dp + sRow);
    addO(2, finish(a2, sp + 2 * sRow, ones, f), dwa, dp + 2 * sRow);
    addO(3, finish(a3, sp + 3 * sRow, ones, f), dwa, dp + 3 * sRow);
    addO(4, finish(b0, sp, ones, f), dwb, dp);
    addO(5, finish(b1, sp + sRow, ones, f), dwb, dp + sRow);
    addO(6, finish(b2, sp + 2 * sRow, ones, f), dwb, dp + 2 * sRow);
    addO(7, finish(b3, sp + 3 * sRow, ones, f), dwb, dp + 3 * sRow);
    xb += XB;
    dp += 4;
    sp += 4;
  }
  const oRow = <usize>rows << 2;
  const o = out + <usize>r * 4;
  for (let t: usize = 0; t < 4; t++) {
    v128.store(o + t * oRow, v128.load(O + (t << 4)));
    storeRows(o + t * oRow + 16, v128.load(O + ((t + 4) << 4)), r + 4, rows);
  }
}
