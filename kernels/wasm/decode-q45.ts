// Relaxed Q4_K / Q5_K decode: one 64-element chunk of a 4-row panel-block, its steps written out (matmul-q4k.ts's layout).
import { SINK } from "./common";
import { settle, u8x4 } from "./kquant-common";

// Written out rather than looped: a loop of short iterations spent a third of its instructions on counters, and
// immediate offsets replace address arithmetic. The stores to SINK order loads: V8 issues a block's loads in program
// order but floats the arithmetic after them, so without a store in between every load of a chunk comes first and
// the values they hold spill.

/**
 * Relaxed Q4_K decode: the scaled sums of one 64-element chunk (sub-blocks 2c, 2c + 1: quants at qp, activations at
 * xv, their scales at sc) with the i16 sums (≤ 8·2·15·127, exact) and the order of the loop it replaces.
 */
@inline function chunkQ4Relaxed(qp: usize, xv: usize, sc: usize): v128 {
  const m = i8x16.splat(15);
  const n0 = v128.load(qp);
  let lo = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv), v128.and(n0, m));
  let hi = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 32), v128.and(i16x8.shr_u(n0, 4), m));
  const n1 = v128.load(qp, 16);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 4), v128.and(n1, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 36), v128.and(i16x8.shr_u(n1, 4), m)));
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n2 = v128.load(qp, 32);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 8), v128.and(n2, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 40), v128.and(i16x8.shr_u(n2, 4), m)));
  const n3 = v128.load(qp, 48);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 12), v128.and(n3, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 44), v128.and(i16x8.shr_u(n3, 4), m)));
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n4 = v128.load(qp, 64);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 16), v128.and(n4, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 48), v128.and(i16x8.shr_u(n4, 4), m)));
  const n5 = v128.load(qp, 80);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 20), v128.and(n5, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 52), v128.and(i16x8.shr_u(n5, 4), m)));
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n6 = v128.load(qp, 96);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 24), v128.and(n6, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 56), v128.and(i16x8.shr_u(n6, 4), m)));
  const n7 = v128.load(qp, 112);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 28), v128.and(n7, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 60), v128.and(i16x8.shr_u(n7, 4), m)));
  return i32x4.add(i32x4.mul(settle(lo), u8x4(sc)), i32x4.mul(settle(hi), u8x4(sc + 4)));
}

/** Bit k (a constant) of each byte of h moved to bit 4 with one 16-bit shift (the 0x10 mask drops what crosses bytes). */
@inline function bitTo4(h: v128, k: i32): v128 {
  return k < 4 ? i16x8.shl(h, 4 - k) : k > 4 ? i16x8.shr_u(h, k - 4) : h;
}

/**
 * chunkQ4Relaxed for Q5_K, chunk c a constant (the fifth bits 2c and 2c + 1 of the qh vectors at hp moved into place
 * with one shift each): two runs of four steps, each settled (5-bit values: ≤ 4·2·31·127 per i16 lane, exact) and
 * scaled as the loop does.
 */
@inline function chunkQ5Relaxed(qp: usize, hp: usize, xv: usize, sc: usize, c: i32): v128 {
  const m = i8x16.splat(15), b4 = i8x16.splat(0x10);
  const s0 = u8x4(sc), s1 = u8x4(sc + 4);
  const n0 = v128.load(qp), h0 = v128.load(hp);
  let lo = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv), v128.or(v128.and(n0, m), v128.and(bitTo4(h0, c << 1), b4)));
  let hi = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 32), v128.or(v128.and(i16x8.shr_u(n0, 4), m), v128.and(bitTo4(h0, (c << 1) + 1), b4)));
  const n1 = v128.load(qp, 16), h1 = v128.load(hp, 16);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 4), v128.or(v128.and(n1, m), v128.and(bitTo4(h1, c << 1), b4))));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 36), v128.or(v128.and(i16x8.shr_u(n1, 4), m), v128.and(bitTo4(h1, (c << 1) + 1), b4))));
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n2 = v128.load(qp, 32), h2 = v128.load(hp, 32);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 8), v128.or(v128.and(n2, m), v128.and(bitTo4(h2, c << 1), b4))));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 40), v128.or(v128.and(i16x8.shr_u(n2, 4), m), v128.and(bitTo4(h2, (c << 1) + 1), b4))));
  const n3 = v128.load(qp, 48), h3 = v128.load(hp, 48);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 12), v128.or(v128.and(n3, m), v128.and(bitTo4(h3, c << 1), b4))));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 44), v128.or(v128.and(i16x8.shr_u(n3, 4), m), v128.and(bitTo4(h3, (c << 1) + 1), b4))));
  const r = i32x4.add(i32x4.mul(settle(lo), s0), i32x4.mul(settle(hi), s1));
  v128.store(SINK, r);
  const n4 = v128.load(qp, 64), h4 = v128.load(hp, 64);
  lo = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 16), v128.or(v128.and(n4, m), v128.and(bitTo4(h4, c << 1), b4)));
  hi = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 48), v128.or(v128.and(i16x8.shr_u(n4, 4), m), v128.and(bitTo4(h4, (c << 1) + 1), b4)));
  const n5 = v128.load(qp, 80), h5 = v128.load(hp, 80);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 20), v128.or(v128.and(n5, m), v128.and(bitTo4(h5, c << 1), b4))));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 52), v128.or(v128.and(i16x8.shr_u(n5, 4), m), v128.and(bitTo4(h5, (c << 1) + 1), b4))));
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n6 = v128.load(qp, 96), h6 = v128.load(hp, 96);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 24), v128.or(v128.and(n6, m), v128.and(bitTo4(h6, c << 1), b4))));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 56), v128.or(v128.and(i16x8.shr_u(n6, 4), m), v128.and(bitTo4(h6, (c << 1) + 1), b4))));
  const n7 = v128.load(qp, 112), h7 = v128.load(hp, 112);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 28), v128.or(v128.and(n7, m), v128.and(bitTo4(h7, c << 1), b4))));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 60), v128.or(v128.and(i16x8.shr_u(n7, 4), m), v128.and(bitTo4(h7, (c << 1) + 1), b4))));
  return i32x4.add(r, i32x4.add(i32x4.mul(settle(lo), s0), i32x4.mul(settle(hi), s1)));
}

/** Relaxed decode: chunk c's scaled sums of Q4_K or (q5) Q5_K panel-block wp (the chunk's quants at qp, activations at xv). */
@inline export function chunkRelaxed(q5: bool, qp: usize, wp: usize, xv: usize, c: i32): v128 {
  const sc = wp + 16 + (<usize>c << 3);
  return q5 ? chunkQ5Relaxed(qp, wp + 80, xv, sc, c) : chunkQ4Relaxed(qp, xv, sc);
}
