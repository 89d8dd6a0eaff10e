// Relaxed Q4_K / Q5_K decode: one 64-element chunk of a 4-row panel-block, its steps written out (matmul-q4k.ts's layout).
import { SINK } from "./common";
import { u8x4 } from "./kquant-common";

// Written out rather than looped: a loop of short iterations spent a third of its instructions on counters, and
// immediate offsets replace address arithmetic. The stores to SINK order loads: V8 issues a block's loads in program
// order but floats the arithmetic after them, so without a store in between every load of a chunk comes first and
// the values they hold spill.

/**
 * The low sub-block's four u8 scales of a chunk (its 8 scale bytes widened to i16 by one v128.load8x8_u) as i16 lane
 * pairs (row r in lanes 2r, 2r + 1), the lanes of an i16 dotStep accumulator: one i32x4.dot_i16x8_s with them settles
 * and scales it at once (|lane| ≤ 32767, scale ≤ 63: exact in i32, the same sums as settle then i32x4.mul, one
 * multiply fewer per accumulator).
 */
@inline function u8x4PairsLow(s: v128): v128 {
  return i8x16.shuffle(s, s, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
}

/** The same for the next 4 scales (the chunk's high sub-block), from the same widened load. */
@inline function u8x4PairsHigh(s: v128): v128 {
  return i8x16.shuffle(s, s, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
}

/** The scaled i32 sums of a settled-and-scaled pair of i16 accumulators: lo by s0, hi by s1 (u8x4PairsLow/High). */
@inline function scaled2(lo: v128, hi: v128, s0: v128, s1: v128): v128 {
  return i32x4.add(i32x4.dot_i16x8_s(lo, s0), i32x4.dot_i16x8_s(hi, s1));
}

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
  const s = v128.load8x8_u(sc);
  return scaled2(lo, hi, u8x4PairsLow(s), u8x4PairsHigh(s));
}

/**
 * chunkQ4Relaxed with i32 dot-adds where the engine fuses them (matmul-quant.ts dot_add_fused): the same products
 * summed straight into each row's i32 lane (exact for any 7-bit operand on any lowering), so no settle.
 */
@inline function chunkQ4Fused(qp: usize, xv: usize, sc: usize): v128 {
  const m = i8x16.splat(15);
  const n0 = v128.load(qp);
  let lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv), v128.and(n0, m), i32x4.splat(0));
  let hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 32), v128.and(i16x8.shr_u(n0, 4), m), i32x4.splat(0));
  const n1 = v128.load(qp, 16);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 4), v128.and(n1, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 36), v128.and(i16x8.shr_u(n1, 4), m), hi);
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n2 = v128.load(qp, 32);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 8), v128.and(n2, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 40), v128.and(i16x8.shr_u(n2, 4), m), hi);
  const n3 = v128.load(qp, 48);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 12), v128.and(n3, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 44), v128.and(i16x8.shr_u(n3, 4), m), hi);
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n4 = v128.load(qp, 64);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 16), v128.and(n4, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 48), v128.and(i16x8.shr_u(n4, 4), m), hi);
  const n5 = v128.load(qp, 80);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 20), v128.and(n5, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 52), v128.and(i16x8.shr_u(n5, 4), m), hi);
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n6 = v128.load(qp, 96);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 24), v128.and(n6, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 56), v128.and(i16x8.shr_u(n6, 4), m), hi);
  const n7 = v128.load(qp, 112);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 28), v128.and(n7, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 60), v128.and(i16x8.shr_u(n7, 4), m), hi);
  return i32x4.add(i32x4.mul(lo, u8x4(sc)), i32x4.mul(hi, u8x4(sc + 4)));
}

/**
 * A Q5_K value vector of a run (repack-kquant.ts packQ45): the low sub-block's (h false) as the 5 low bits of the step's
 * vector x, or the high sub-block's, its low 3 bits from x's top and its top 2 from bits 0-1 of e, the run's E vector
 * shifted right by 2 per step (16-bit shifts: the masks drop whatever crosses a byte).
 */
@inline export function q5v(x: v128, e: v128, h: bool): v128 {
  if (!h) return v128.and(x, i8x16.splat(0x1f));
  return v128.or(v128.and(i16x8.shr_u(x, 5), i8x16.splat(7)), i16x8.shl(v128.and(e, i8x16.splat(3)), 3));
}

/** q5v's high value of step j (a constant) from the unshifted E vector: bits 2j, 2j + 1 moved to 3-4 with one shift. */
@inline export function q5hi(x: v128, e: v128, j: i32): v128 {
  const t = j == 0 ? i16x8.shl(e, 3) : j == 1 ? i16x8.shl(e, 1) : j == 2 ? i16x8.shr_u(e, 1) : i16x8.shr_u(e, 3);
  // x's bits 5-7 kept by an and-not with the low value's mask (already in a register), then shifted: only zeros cross
  // into the byte below, so no mask of 7 (one constant fewer for V8 to keep or rebuild).
  return v128.or(i16x8.shr_u(v128.andnot(x, i8x16.splat(0x1f)), 5), v128.and(t, i8x16.splat(0x18)));
}

/**
 * One run of four Q5_K steps (vectors X0..X3 at rp, E at rp + 64; activations of the low sub-block at xv, the high
 * one's 32 further), settled (5-bit values: ≤ 4·2·31·127 per i16 lane, exact) and scaled by s0, s1.
 */
@inline function runQ5Relaxed(rp: usize, xv: usize, s0: v128, s1: v128): v128 {
  const m = i8x16.splat(0x1f);
  const e = v128.load(rp, 64);
  const x0 = v128.load(rp);
  let lo = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv), v128.and(x0, m));
  let hi = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 32), q5hi(x0, e, 0));
  const x1 = v128.load(rp, 16);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 4), v128.and(x1, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 36), q5hi(x1, e, 1)));
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const x2 = v128.load(rp, 32);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 8), v128.and(x2, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 40), q5hi(x2, e, 2)));
  const x3 = v128.load(rp, 48);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 12), v128.and(x3, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xv, 44), q5hi(x3, e, 3)));
  return scaled2(lo, hi, s0, s1);
}

/** runQ5Relaxed with fused i32 dot-adds (as chunkQ4Fused). */
@inline function runQ5Fused(rp: usize, xv: usize, s0: v128, s1: v128): v128 {
  const m = i8x16.splat(0x1f);
  const e = v128.load(rp, 64);
  const x0 = v128.load(rp);
  let lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv), v128.and(x0, m), i32x4.splat(0));
  let hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 32), q5hi(x0, e, 0), i32x4.splat(0));
  const x1 = v128.load(rp, 16);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 4), v128.and(x1, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 36), q5hi(x1, e, 1), hi);
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const x2 = v128.load(rp, 32);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 8), v128.and(x2, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 40), q5hi(x2, e, 2), hi);
  const x3 = v128.load(rp, 48);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 12), v128.and(x3, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xv, 44), q5hi(x3, e, 3), hi);
  return i32x4.add(i32x4.mul(lo, s0), i32x4.mul(hi, s1));
}

/** chunkQ4Relaxed for Q5_K: the chunk's two runs (at qp, qp + 80), each settled and scaled as the loop does. */
@inline function chunkQ5Relaxed(qp: usize, xv: usize, sc: usize, f: bool): v128 {
  const w = v128.load8x8_u(sc); // both sub-blocks' scales, widened once (i16 path)
  const s0 = f ? u8x4(sc) : u8x4PairsLow(w), s1 = f ? u8x4(sc + 4) : u8x4PairsHigh(w);
  const r = f ? runQ5Fused(qp, xv, s0, s1) : runQ5Relaxed(qp, xv, s0, s1);
  v128.store(SINK, r);
  return i32x4.add(r, f ? runQ5Fused(qp + 80, xv + 16, s0, s1) : runQ5Relaxed(qp + 80, xv + 16, s0, s1));
}

/**
 * Relaxed decode: chunk c's scaled sums of Q4_K or (q5) Q5_K panel-block wp (the chunk's quants at qp, activations at
 * xv), with fused i32 dot-adds where f (a constant).
 */
@inline export function chunkRelaxed(q5: bool, qp: usize, wp: usize, xv: usize, c: i32, f: bool): v128 {
  const sc = wp + (q5 ? 32 : 16) + (<usize>c << 3); // past Q5_K's f32 header (q45-values.ts hdr)
  if (q5) return chunkQ5Relaxed(qp, xv, sc, f);
  return f ? chunkQ4Fused(qp, xv, sc) : chunkQ4Relaxed(qp, xv, sc);
}
