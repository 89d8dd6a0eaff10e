// Relaxed Q8_0 decode (one token), two 4-row panels far apart per pass: i16 steps, or fused dot-adds on offset weights.
import { SINK, madd } from "./common";
import { f16x4At, storeRows4 } from "./kquant-common";
import { pairQ8Split } from "./decode-q8-split";

// Layout as decode-pair.ts: per panel nb panel-blocks of 128 weight bytes (repack.ts's pairs layout: vector v
// holds elements 4v..4v+3 of the four rows, row rr's elements 4v + k, 4v + k + 1 at 8(k>>1) + 2rr), then the
// panels' f16 scales (8 bytes per panel-block). Each form keeps each row's integer sum exact and its f32 steps
// (convert, × dw·dx, fused add) in block order, so every form gives matmul_q8_0's bits.
//
// i16 form (EB16 expanded bytes per block): each weight half sign-extended as it loads, dotted with a splatted i16
// pair (pmaddwd). Fused form (EB8): each weight vector regrouped to the rows' 4-byte quads and offset by 128 (the
// prefill tiles' quads8: a byte shuffle and an xor, q + 128 in 0..255), dotted with the splatted 4 i8 quants
// (relaxed_dot_i8x16_i7x16_add_s, one vpdpbusd where vnni() answers true), each block's chain starting at
// 128·(−Σq): Σ(q + 128)x − 128Σx = Σqx, |lane| < 2^21, exact. pmaddubsw (Node's lowering) would saturate its
// pair sums on offset weights past 128, so only the engine's own answer (vnni()) picks this form; on quants ≤ 0
// it is exact in either lowering (the Node tests). Measured in workerd (kernels/bench/decode-model-ab.mjs,
// docs/kernels.md "Q4_0 / Q8_0 decode"): the fused pairs at 1.3 to 1.4 of the i16 pairs' speed; three panels per
// pass no faster (nor for the i16 form in Node); a SINK store after every step (none: slower); f16x4Signed over
// f16x4At (a little).

/** Expanded bytes per block: i16 form 16 splatted i16 pairs, d, 8·(−Σq) (unused); fused 8 i8 quads, d, 128·(−Σq). */
export const EB16: usize = 288;
export const EB8: usize = 160;

/** The quads shuffle and the +128 offset, loaded from memory (a load stays before the loop in V8's schedule). */
const QUADS: usize = memory.data<u8>([0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15,
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128]);

@inline function sink2(a: v128, b: v128): void {
  v128.store(SINK, a);
  v128.store(SINK, b);
}

/** acc + the dots of the four rows' i16 weights w (a pair per lane) with the splatted i16 pair x. */
@inline function d16(acc: v128, w: v128, x: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(w, x));
}

/** i16 step v (0..7): vector v's two halves sign-extended as they load, dotted with expanded pairs 2v, 2v + 1. */
@inline function q8Step(acc: v128, wp: usize, xe: usize, v: usize): v128 {
  return d16(d16(acc, v128.load8x8_s(wp + 16 * v), v128.load(xe + 32 * v)), v128.load8x8_s(wp + 16 * v + 8), v128.load(xe + 32 * v + 16));
}

/** Fused step: weight vector w as offset quads (shuffle sh, xor k) dotted with the splatted i8 quants x, added to acc. */
@inline function fStep(acc: v128, w: v128, x: v128, sh: v128, k: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, v128.xor(i8x16.relaxed_swizzle(w, sh), k), acc);
}

/**
 * Four f16 at p as f32, the bits of common.ts f16x4ToF32 in fewer steps: sign-extended as they load, shifted up 13
 * (the sign lands in bit 31, copies of it in 29 and 28 are masked off, with them the low bits of the shift), times
 * 2^112 (exact: rebases the exponent, subnormals to normals, the sign kept); Inf/NaN (exponent 31) patched as there.
 */
@inline function f16x4Signed(p: usize): v128 {
  const h = v128.load16x4_s(p);
  const v = v128.and(i32x4.shl(h, 13), i32x4.splat(0x8fffe000));
  const f = f32x4.mul(v, f32x4.splat(reinterpret<f32>(0x77800000)));
  const special = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  return v128.bitselect(v128.or(v, i32x4.splat(0x7f800000)), f, special);
}

/** The block's f32 step for one panel (matmulQ's decode: convert, × dw·dx, fused add). */
@inline function fin(o: v128, a: v128, sp: usize, dx: v128): v128 {
  return madd(f32x4.convert_i32x4_s(a), f32x4.mul(f16x4At(sp), dx), o);
}

/** fin for the fused form, its scales widened by f16x4Signed (the same f32). */
@inline function finF(o: v128, a: v128, sp: usize, dx: v128): v128 {
  return madd(f32x4.convert_i32x4_s(a), f32x4.mul(f16x4Signed(sp), dx), o);
}

/** i16 form, two panels at wa, wa + pw (outputs o, o2; the second may be the last, partial panel at row r). */
@inline export function pairQ8(o: usize, wa: usize, pw: usize, sa: usize, ps: usize, xe: usize, nb: i32, r: i32, rows: i32, o2: usize): void {
  let oa = f32x4.splat(0), ob = f32x4.splat(0);
  let wb = wa + pw, sb = sa + ps;
  const end = xe + <usize>nb * EB16;
  while (xe < end) {
    const z = i32x4.splat(0);
    let aa = q8Step(z, wa, xe, 0), ab = q8Step(z, wb, xe, 0);
    sink2(aa, ab);
    aa = q8Step(aa, wa, xe, 1); ab = q8Step(ab, wb, xe, 1); sink2(aa, ab);
    aa = q8Step(aa, wa, xe, 2); ab = q8Step(ab, wb, xe, 2); sink2(aa, ab);
    aa = q8Step(aa, wa, xe, 3); ab = q8Step(ab, wb, xe, 3); sink2(aa, ab);
    aa = q8Step(aa, wa, xe, 4); ab = q8Step(ab, wb, xe, 4); sink2(aa, ab);
    aa = q8Step(aa, wa, xe, 5); ab = q8Step(ab, wb, xe, 5); sink2(aa, ab);
    aa = q8Step(aa, wa, xe, 6); ab = q8Step(ab, wb, xe, 6); sink2(aa, ab);
    aa = q8Step(aa, wa, xe, 7); ab = q8Step(ab, wb, xe, 7);
    const dx = v128.load(xe, 256);
    oa = fin(oa, aa, sa, dx);
    ob = fin(ob, ab, sb, dx);
    wa += 128;
    wb += 128;
    sa += 8;
    sb += 8;
    xe += EB16;
  }
  v128.store(o, oa);
  storeRows4(o2, ob, r, rows);
}

/** Fused step v (0..7) of the panel at wp: its weight vector v against the block's splatted quants v. */
@inline function fPair(acc: v128, wp: usize, xe: usize, v: usize, sh: v128, k: v128): v128 {
  return fStep(acc, v128.load(wp + 16 * v), v128.load(xe + 16 * v), sh, k);
}

/** Fused form, two panels (as pairQ8, on the EB8 expansion). */
@inline function pairQ8Fused(o: usize, wa: usize, pw: usize, sa: usize, ps: usize, xe: usize, nb: i32, r: i32, rows: i32, o2: usize): void {
  let oa = f32x4.splat(0), ob = f32x4.splat(0);
  let wb = wa + pw, sb = sa + ps;
  const sh = v128.load(QUADS), k = v128.load(QUADS, 16);
  const end = xe + <usize>nb * EB8;
  while (xe < end) {
    const c = v128.load(xe, 144);
    let aa = fPair(c, wa, xe, 0, sh, k), ab = fPair(c, wb, xe, 0, sh, k);
    sink2(aa, ab);
    aa = fPair(aa, wa, xe, 1, sh, k); ab = fPair(ab, wb, xe, 1, sh, k);
    sink2(aa, ab);
    aa = fPair(aa, wa, xe, 2, sh, k); ab = fPair(ab, wb, xe, 2, sh, k);
    sink2(aa, ab);
    aa = fPair(aa, wa, xe, 3, sh, k); ab = fPair(ab, wb, xe, 3, sh, k);
    sink2(aa, ab);
    aa = fPair(aa, wa, xe, 4, sh, k); ab = fPair(ab, wb, xe, 4, sh, k);
    sink2(aa, ab);
    aa = fPair(aa, wa, xe, 5, sh, k); ab = fPair(ab, wb, xe, 5, sh, k);
    sink2(aa, ab);
    aa = fPair(aa, wa, xe, 6, sh, k); ab = fPair(ab, wb, xe, 6, sh, k);
    sink2(aa, ab);
    aa = fPair(aa, wa, xe, 7, sh, k); ab = fPair(ab, wb, xe, 7, sh, k);
    const dx = v128.load(xe, 128);
    oa = finF(oa, aa, sa, dx);
    ob = finF(ob, ab, sb, dx);
    wa += 128;
    wb += 128;
    sa += 8;
    sb += 8;
    xe += EB8;
  }
  v128.store(o, oa);
  storeRows4(o2, ob, r, rows);
}

/** pairsQ8's form (a marker type, resolved at compile time): the fused pairs above, or the split ones (decode-q8-split.ts). */
export class FusedPairs {}
export class SplitPairs {}

/** The `half` passes of two Q8_0 panels (p and p + half) in form F (each form a function of its own for V8's allocator). */
export function pairsQ8<F>(out: usize, wq: usize, wd: usize, xe: usize, nb: i32, half: i32, rows: i32): void {
  const pw = <usize>nb * 128, ps = <usize>nb * 8;
  const hw = <usize>half * pw, hs = <usize>half * ps, ho = <usize>half << 4;
  for (let p = 0; p < half; p++) {
    const o = out + (<usize>p << 4);
    if (idof<F>() == idof<SplitPairs>()) pairQ8Split(o, wq + <usize>p * pw, hw, wd + <usize>p * ps, hs, xe, nb, (p + half) << 2, rows, o + ho);
    else pairQ8Fused(o, wq + <usize>p * pw, hw, wd + <usize>p * ps, hs, xe, nb, (p + half) << 2, rows, o + ho);
  }
}
