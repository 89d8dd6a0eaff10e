// Q8_0 / Q4_0 decode: one 32-block of a 4-row panel (matmul-quant.ts's layouts) against one token, steps written out.
import { SINK } from "./common";

// Written out rather than looped: a loop of four short iterations spent a third of its instructions on counters, and
// immediate offsets replace address arithmetic. V8 issues a block's loads in program order but floats the arithmetic
// after them, so every load would come first and what they hold would spill: the stores to SINK put each group of
// loads after the arithmetic before the store.

/** Q8_0: the four rows' i32 sums of the panel-block at wp with the token's i16 quants at xp (dot_i16x8 on widened bytes). */
@inline export function blockQ8(wp: usize, xp: usize): v128 {
  const w00 = v128.load(wp);
  let a = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w00), v128.load32_splat(xp)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w00), v128.load32_splat(xp, 4)));
  const w01 = v128.load(wp, 64);
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w01), v128.load32_splat(xp, 32)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w01), v128.load32_splat(xp, 36))));
  v128.store(SINK, a);
  const w10 = v128.load(wp, 16);
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w10), v128.load32_splat(xp, 8)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w10), v128.load32_splat(xp, 12))));
  const w11 = v128.load(wp, 80);
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w11), v128.load32_splat(xp, 40)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w11), v128.load32_splat(xp, 44))));
  v128.store(SINK, a);
  const w20 = v128.load(wp, 32);
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w20), v128.load32_splat(xp, 16)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w20), v128.load32_splat(xp, 20))));
  const w21 = v128.load(wp, 96);
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w21), v128.load32_splat(xp, 48)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w21), v128.load32_splat(xp, 52))));
  v128.store(SINK, a);
  const w30 = v128.load(wp, 48);
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w30), v128.load32_splat(xp, 24)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w30), v128.load32_splat(xp, 28))));
  const w31 = v128.load(wp, 112);
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w31), v128.load32_splat(xp, 56)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w31), v128.load32_splat(xp, 60))));
  return a;
}

/**
 * Relaxed Q4_0: the nibbles dotted raw with the i8 quants at xp in i16 sums of the low and high nibbles (≤ 4·2·15·127
 * each, exact), widened once, plus 8 times the −Σq at sp.
 */
@inline export function blockQ4Relaxed(wp: usize, xp: usize, sp: usize): v128 {
  const m = i8x16.splat(0x0f);
  const n0 = v128.load(wp);
  let lo = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp), v128.and(n0, m));
  let hi = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 16), v128.and(i16x8.shr_u(n0, 4), m));
  const n1 = v128.load(wp, 16);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 4), v128.and(n1, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 20), v128.and(i16x8.shr_u(n1, 4), m)));
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n2 = v128.load(wp, 32);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 8), v128.and(n2, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 24), v128.and(i16x8.shr_u(n2, 4), m)));
  const n3 = v128.load(wp, 48);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 12), v128.and(n3, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 28), v128.and(i16x8.shr_u(n3, 4), m)));
  return i32x4.add(i32x4.extadd_pairwise_i16x8_s(i16x8.add(lo, hi)), i32x4.shl(v128.load32_splat(sp), 3));
}

/**
 * Relaxed Q4_0 where i32 dot-adds are one instruction (matmul-quant.ts dot_add_fused): the same nibble-by-i8 dots
 * summed straight into i32 lanes, in two chains (low and high nibbles: one chain waits on the instruction's latency),
 * the low one starting at 8 times the −Σq at sp. The same exact sums as blockQ4Relaxed, with no widening.
 */
@inline export function blockQ4Fused(wp: usize, xp: usize, sp: usize): v128 {
  const m = i8x16.splat(0x0f);
  const n0 = v128.load(wp);
  let lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp), v128.and(n0, m), i32x4.shl(v128.load32_splat(sp), 3));
  let hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 16), v128.and(i16x8.shr_u(n0, 4), m), i32x4.splat(0));
  const n1 = v128.load(wp, 16);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 4), v128.and(n1, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 20), v128.and(i16x8.shr_u(n1, 4), m), hi);
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n2 = v128.load(wp, 32);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 8), v128.and(n2, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 24), v128.and(i16x8.shr_u(n2, 4), m), hi);
  const n3 = v128.load(wp, 48);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 12), v128.and(n3, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 28), v128.and(i16x8.shr_u(n3, 4), m), hi);
  return i32x4.add(lo, hi);
}

/** SIMD128 Q4_0: the nibbles of each 8 bytes split in i16 lanes (as matmul-quant.ts's operand()), i16 quants at xp. */
@inline export function blockQ4Wide(wp: usize, xp: usize, sp: usize): v128 {
  const m = i16x8.splat(0x0f);
  const u0 = v128.load8x8_u(wp), v0 = v128.load8x8_u(wp, 8);
  let a = i32x4.add(i32x4.shl(v128.load32_splat(sp), 3), i32x4.add(i32x4.dot_i16x8_s(v128.and(u0, m), v128.load32_splat(xp)), i32x4.dot_i16x8_s(v128.and(v0, m), v128.load32_splat(xp, 4))));
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.shr_u(u0, 4), v128.load32_splat(xp, 32)), i32x4.dot_i16x8_s(i16x8.shr_u(v0, 4), v128.load32_splat(xp, 36))));
  v128.store(SINK, a);
  const u1 = v128.load8x8_u(wp, 16), v1 = v128.load8x8_u(wp, 24);
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(v128.and(u1, m), v128.load32_splat(xp, 8)), i32x4.dot_i16x8_s(v128.and(v1, m), v128.load32_splat(xp, 12))));
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.shr_u(u1, 4), v128.load32_splat(xp, 40)), i32x4.dot_i16x8_s(i16x8.shr_u(v1, 4), v128.load32_splat(xp, 44))));
  v128.store(SINK, a);
  const u2 = v128.load8x8_u(wp, 32), v2 = v128.load8x8_u(wp, 40);
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(v128.and(u2, m), v128.load32_splat(xp, 16)), i32x4.dot_i16x8_s(v128.and(v2, m), v128.load32_splat(xp, 20))));
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.shr_u(u2, 4), v128.load32_splat(xp, 48)), i32x4.dot_i16x8_s(i16x8.shr_u(v2, 4), v128.load32_splat(xp, 52))));
  v128.store(SINK, a);
  const u3 = v128.load8x8_u(wp, 48), v3 = v128.load8x8_u(wp, 56);
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(v128.and(u3, m), v128.load32_splat(xp, 24)), i32x4.dot_i16x8_s(v128.and(v3, m), v128.load32_splat(xp, 28))));
  a = i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.shr_u(u3, 4), v128.load32_splat(xp, 56)), i32x4.dot_i16x8_s(i16x8.shr_u(v3, 4), v128.load32_splat(xp, 60))));
  return a;
}
