// Relaxed Q8_0 decode (one token) where the engine's i16 relaxed dots are pmaddubsw (Node): split activations.
import { SINK, madd } from "./common";
import { storeRows4 } from "./kquant-common";

// Layout as decode-q8-passes.ts (repack.ts's pairs layout: vector v of a panel-block holds elements 4v..4v+3 of its
// four rows, row rr's elements 4v + k, 4v + k + 1 at bytes 8(k>>1) + 2rr; then the panels' f16 scales).
// Each activation quant x = 16·xh + xl, xl = x & 15 (0..15), xh = x >> 4 (-8..7), and per weight vector w (i8 as
// stored) two i16 dots: relaxed_dot(w, xl) (xl a valid 7-bit operand: pmaddubsw(xl, w)), |pair| ≤ 2·128·15, and
// relaxed_dot(xh, w ^ 0x80) (offset weights u = w + 128 in 0..255, which pmaddubsw reads unsigned: dot_i7_unsigned()
// in dot-probe.ts, else decode_q8_0 never comes here), |pair| ≤ 2·255·8 = 4080: the 8 vectors of a block sum in i16
// exactly (≤ 30720, ≤ 32640). Σwx = Σw·xl + 16·Σu·xh − 2048·Σxh, the last per token and block (the expansion's i32
// start). i16 lanes j and j + 4 are row j, so the two sums, interleaved, are settled by one pmaddwd each against
// (1, 16): exact integer sums, then the f32 step of matmul_q8_0 (convert, × dw·dx, fused add) in block order: its
// bits. Per weight vector and panel that is one load and five vector operations (xor, two pmaddubsw, two adds)
// against the i16 form's six (two sign-extending loads, two pmaddwd, two adds), V8 bound by vector operations here.
// Each pass first writes its two panels' dw·dx per block into the expansion (the f32 product the i16 form takes in
// its loop): the f16 widening's constants and temporaries stay out of the dot loop, where V8 spilled them. SINK
// stores (as decode-q8-passes.ts) of two of the four sums per step, alternating: each sum every second step (fewer or
// more measured slower).

/** Orders the loads before these stores after the arithmetic before them (decode-pair.ts). */
@inline function sink2(a: v128, b: v128): void {
  v128.store(SINK, a);
  v128.store(SINK, b);
}

/** Split form's expanded bytes per block: 8 pairs of xl, xh vectors, d, −2048·Σxh, the pass's two dw·dx. */
export const EBS: usize = 320;

/**
 * Constants loaded from memory (before a loop, V8 then keeps them in registers): the i16 pairs (1, 16), 0x80 bytes,
 * then per weight vector v of a 16-quant half block the byte shuffle of its quants to the pairs layout's order
 * (x[4v], x[4v + 1] four times, x[4v + 2], x[4v + 3] four times).
 */
const PAIRS: usize = memory.data<u8>([
  1, 0, 16, 0, 1, 0, 16, 0, 1, 0, 16, 0, 1, 0, 16, 0,
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3,
  4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7,
  8, 9, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11, 10, 11,
  12, 13, 12, 13, 12, 13, 12, 13, 14, 15, 14, 15, 14, 15, 14, 15]);

/** Stores vectors v and v + 4 of a block's xl, xh (32v and 32v + 16; from quants 0..15 and 16..31) by shuffle p. */
@inline function spread(xe: usize, l0: v128, h0: v128, l1: v128, h1: v128, p: v128, v: usize): void {
  v128.store(xe + 32 * v, i8x16.relaxed_swizzle(l0, p));
  v128.store(xe + 32 * v + 16, i8x16.relaxed_swizzle(h0, p));
  v128.store(xe + 32 * v + 128, i8x16.relaxed_swizzle(l1, p));
  v128.store(xe + 32 * v + 144, i8x16.relaxed_swizzle(h1, p));
}

/**
 * Split form's expansion (EBS bytes per block): per weight vector v the quants it meets as xl at 32v and xh at
 * 32v + 16, then d splatted (256) and −2048·Σxh splatted (272); 288 and 304 are the passes' (scalesSplit). xq: the
 * blocks' i8 quants (quantize_q8_0's blocks, xb bytes apart). The shuffles' indices are all below 16 (relaxed_swizzle
 * is then swizzle everywhere).
 */
export function expandSplit(xe: usize, xq: usize, xd: usize, nb: i32, xb: usize): void {
  const p0 = v128.load(PAIRS, 32), p1 = v128.load(PAIRS, 48), p2 = v128.load(PAIRS, 64), p3 = v128.load(PAIRS, 80);
  const end = xe + <usize>nb * EBS;
  while (xe < end) {
    const q0 = v128.load(xq), q1 = v128.load(xq, 16);
    const l0 = v128.and(q0, i8x16.splat(15)), l1 = v128.and(q1, i8x16.splat(15));
    const h0 = i8x16.shr_s(q0, 4), h1 = i8x16.shr_s(q1, 4);
    spread(xe, l0, h0, l1, h1, p0, 0);
    spread(xe, l0, h0, l1, h1, p1, 1);
    spread(xe, l0, h0, l1, h1, p2, 2);
    spread(xe, l0, h0, l1, h1, p3, 3);
    const t = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extadd_pairwise_i8x16_s(h0), i16x8.extadd_pairwise_i8x16_s(h1)));
    const sum = i32x4.extract_lane(t, 0) + i32x4.extract_lane(t, 1) + i32x4.extract_lane(t, 2) + i32x4.extract_lane(t, 3);
    v128.store(xe + 256, v128.load32_splat(xd));
    v128.store(xe + 272, i32x4.splat(-2048 * sum)); // −2048·Σxh
    xe += EBS;
    xq += xb;
    xd += 4;
  }
}

/**
 * Four f16 at p as f32, f16x4At's bits (decode-q8-passes.ts f16x4Signed's steps) with the Inf/NaN patch as one
 * relaxed_laneselect (blendvps): its mask is whole lanes (i32x4.eq), where every engine gives bitselect's answer.
 */
@inline function f16x4Blend(p: usize): v128 {
  const h = v128.load16x4_s(p);
  const v = v128.and(i32x4.shl(h, 13), i32x4.splat(0x8fffe000));
  const f = f32x4.mul(v, f32x4.splat(reinterpret<f32>(0x77800000)));
  const special = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  return i32x4.relaxed_laneselect(v128.or(v, i32x4.splat(0x7f800000)), f, special);
}

/** A pass's dw·dx per block for its panels' scales at sa and sb (f16x4Blend: f16x4At's f32), at 288 and 304. */
@inline function scalesSplit(xe: usize, sa: usize, sb: usize, nb: i32): void {
  const end = xe + <usize>nb * EBS;
  while (xe < end) {
    const dx = v128.load(xe, 256);
    v128.store(xe, f32x4.mul(f16x4Blend(sa), dx), 288);
    v128.store(xe, f32x4.mul(f16x4Blend(sb), dx), 304);
    sa += 8;
    sb += 8;
    xe += EBS;
  }
}

/** Split step: the low sum l += w·xl, the high sum h += (w ^ 0x80)·xh (i16 lanes, pmaddubsw each). */
@inline function lo(l: v128, w: v128, xl: v128): v128 {
  return i16x8.add(l, i16x8.relaxed_dot_i8x16_i7x16_s(w, xl));
}
@inline function hi(h: v128, w: v128, xh: v128, k: v128): v128 {
  return i16x8.add(h, i16x8.relaxed_dot_i8x16_i7x16_s(xh, v128.xor(w, k)));
}

/** A panel-block's row sums: lanes j, j + 4 of l + 16·h (interleaved, one pmaddwd each against m = (1, 16)) + c. */
@inline function settle(l: v128, h: v128, m: v128, c: v128): v128 {
  const a = i32x4.dot_i16x8_s(v128.shuffle<i16>(l, h, 0, 8, 1, 9, 2, 10, 3, 11), m);
  return i32x4.add(i32x4.add(a, i32x4.dot_i16x8_s(v128.shuffle<i16>(l, h, 4, 12, 5, 13, 6, 14, 7, 15), m)), c);
}

/** Split form, two panels (as pairQ8, on expandSplit's expansion, scalesSplit's products written first; pairsQ8<SplitPairs> takes each pass). */
@inline export function pairQ8Split(o: usize, wa: usize, pw: usize, sa: usize, ps: usize, xe: usize, nb: i32, r: i32, rows: i32, o2: usize): void {
  scalesSplit(xe, sa, sa + ps, nb);
  let oa = f32x4.splat(0), ob = f32x4.splat(0);
  let wb = wa + pw;
  const k = v128.load(PAIRS, 16), m = v128.load(PAIRS);
  const end = xe + <usize>nb * EBS;
  while (xe < end) {
    let xl = v128.load(xe), xh = v128.load(xe, 16);
    let w = v128.load(wa), v = v128.load(wb);
    let la = i16x8.relaxed_dot_i8x16_i7x16_s(w, xl), ha = i16x8.relaxed_dot_i8x16_i7x16_s(xh, v128.xor(w, k));
    let lb = i16x8.relaxed_dot_i8x16_i7x16_s(v, xl), hb = i16x8.relaxed_dot_i8x16_i7x16_s(xh, v128.xor(v, k));
    sink2(la, hb);
    xl = v128.load(xe, 32); xh = v128.load(xe, 48); w = v128.load(wa, 16); v = v128.load(wb, 16);
    la = lo(la, w, xl); ha = hi(ha, w, xh, k); lb = lo(lb, v, xl); hb = hi(hb, v, xh, k);
    sink2(ha, lb);
    xl = v128.load(xe, 64); xh = v128.load(xe, 80); w = v128.load(wa, 32); v = v128.load(wb, 32);
    la = lo(la, w, xl); ha = hi(ha, w, xh, k); lb = lo(lb, v, xl); hb = hi(hb, v, xh, k);
    sink2(la, hb);
    xl = v128.load(xe, 96); xh = v128.load(xe, 112); w = v128.load(wa, 48); v = v128.load(wb, 48);
    la = lo(la, w, xl); ha = hi(ha, w, xh, k); lb = lo(lb, v, xl); hb = hi(hb, v, xh, k);
    sink2(ha, lb);
    xl = v128.load(xe, 128); xh = v128.load(xe, 144); w = v128.load(wa, 64); v = v128.load(wb, 64);
    la = lo(la, w, xl); ha = hi(ha, w, xh, k); lb = lo(lb, v, xl); hb = hi(hb, v, xh, k);
    sink2(la, hb);
    xl = v128.load(xe, 160); xh = v128.load(xe, 176); w = v128.load(wa, 80); v = v128.load(wb, 80);
    la = lo(la, w, xl); ha = hi(ha, w, xh, k); lb = lo(lb, v, xl); hb = hi(hb, v, xh, k);
    sink2(ha, lb);
    xl = v128.load(xe, 192); xh = v128.load(xe, 208); w = v128.load(wa, 96); v = v128.load(wb, 96);
    la = lo(la, w, xl); ha = hi(ha, w, xh, k); lb = lo(lb, v, xl); hb = hi(hb, v, xh, k);
    sink2(la, hb);
    xl = v128.load(xe, 224); xh = v128.load(xe, 240); w = v128.load(wa, 112); v = v128.load(wb, 112);
    la = lo(la, w, xl); ha = hi(ha, w, xh, k); lb = lo(lb, v, xl); hb = hi(hb, v, xh, k);
    sink2(la, hb); // after the last step too: 1.09 to 1.12 from memory against 1.06 to 1.08 without
    const c = v128.load(xe, 272);
    oa = madd(f32x4.convert_i32x4_s(settle(la, ha, m, c)), v128.load(xe, 288), oa);
    ob = madd(f32x4.convert_i32x4_s(settle(lb, hb, m, c)), v128.load(xe, 304), ob);
    wa += 128;
    wb += 128;
    xe += EBS;
  }
  v128.store(o, oa);
  storeRows4(o2, ob, r, rows);
}
