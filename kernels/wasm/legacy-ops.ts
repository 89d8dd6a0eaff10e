// Q4_1 / Q5_0 / Q5_1 weight operands and integer dot steps (repack-legacy.ts's layout), shared by tile and decode.
import { SINK } from "./common";

// A panel-block's quants (after d and, for Q4_1/Q5_1, m) are 4 vectors S0..S3 of 16 bytes and, for Q5_0/Q5_1, a
// fifth S4. Byte i of Sj belongs to row i>>2 (relaxed: 4 bytes per row) or to row (i>>1)&3 (SIMD128: 2-byte row
// pairs, elements 4j, 4j+1 in bytes 0..7 and 4j+2, 4j+3 in bytes 8..15), element 4j+e, as matmul-quant.ts's Q4_0.
// Q4_1: low nibble element 4j+e, high nibble element 16+4j+e (Q4_0's bytes). Q5: bits 0..4 hold element 4j+e whole
// (one AND yields the operand); bits 5..7 hold the low 3 bits of element 16+4j+e, whose top 2 bits sit in S4's same
// byte at bits 2j, 2j+1 (Sj xor its low operand shifted right 5, S4 shifted and masked, an OR: 5 operations). Operands
// are unsigned 0..31 (a valid 7-bit relaxed_dot operand); Q5_0's −16 goes into the accumulator's start (16·(−Σq)).

/** Scale paths: Fast (no Inf/NaN d or m in the panel: widened in 4 operations) or Slow (full conversion). */
export class Fast {}
export class Slow {}

export class Q41 {}
export class Q50 {}
export class Q51 {}

/** Whether T has a block minimum m (Q4_1, Q5_1: + m·s per block) and a fifth bit (Q5_0, Q5_1). */
@inline export function hasMin<T>(): bool {
  return idof<T>() != idof<Q50>();
}
@inline export function hasHigh<T>(): bool {
  return idof<T>() != idof<Q41>();
}

/** Where a panel-block's quants start (after d and m), and its bytes: 72/80 (Q4_1), 88 (Q5_0), 96 (Q5_1). */
@inline export function quantOffset<T>(): usize {
  return hasMin<T>() ? 16 : 8;
}
@inline export function panelBlockBytes<T>(): usize {
  return quantOffset<T>() + (hasHigh<T>() ? 80 : 64);
}

/** S4 shifted so that element 16+4j+e's top two bits sit at bits 3..4 of its byte (i16 shifts: nothing crosses into them). */
@inline function top2(s4: v128, j: i32): v128 {
  const t = j == 0 ? i16x8.shl(s4, 3) : j == 1 ? i16x8.shl(s4, 1) : j == 2 ? i16x8.shr_u(s4, 1) : i16x8.shr_u(s4, 3);
  return v128.and(t, i16x8.splat(0x1818));
}

/** Relaxed build: the i8 operand of elements 4j.. (low) of vector n. */
@inline export function lowOp<T>(n: v128): v128 {
  return v128.and(n, i8x16.splat(hasHigh<T>() ? 0x1f : 0x0f));
}

/** Relaxed build: the i8 operand of elements 16+4j.. (high) of vector n = Sj, with S4 for the fifth bits. */
@inline export function highOp<T>(n: v128, s4: v128, j: i32): v128 {
  if (!hasHigh<T>()) return v128.and(i16x8.shr_u(n, 4), i8x16.splat(0x0f));
  // n with bits 0..4 cleared (xor with its low operand) shifts right in i16 lanes with nothing crossing into bits
  // 0..2 from the byte above: no mask, no constant register.
  return v128.or(i16x8.shr_u(v128.xor(n, lowOp<T>(n)), 5), top2(s4, j));
}

/** SIMD128 build: the i16 operand of 8 bytes u of Sj (zero-extended as loaded), low elements. */
@inline export function lowWide<T>(u: v128): v128 {
  return v128.and(u, i16x8.splat(hasHigh<T>() ? 0x1f : 0x0f));
}

/** SIMD128 build: the high elements of u, with the matching 8 bytes of S4 (zero-extended) for Q5's top bits. */
@inline export function highWide<T>(u: v128, s4: v128, j: i32): v128 {
  if (!hasHigh<T>()) return i16x8.shr_u(u, 4);
  return v128.or(i16x8.shr_u(u, 5), top2(s4, j));
}

/**
 * v128.load32_splat(p + off), the address added up front: V8 does not fold a splat load's immediate offset into the
 * address but keeps memory start + offset in a register per offset (eight here, which then spill).
 */
@inline export function splatAt(p: usize, off: i32): v128 {
  return v128.load32_splat(p + <usize>off);
}

/** v128.load(p + off) for a constant off (0, 16, .., 64). */
@inline export function vecAt(p: usize, off: i32): v128 {
  return off == 0 ? v128.load(p) : off == 16 ? v128.load(p, 16) : off == 32 ? v128.load(p, 32) : off == 48 ? v128.load(p, 48) : v128.load(p, 64);
}

/**
 * Relaxed: acc (i16 lanes, two per row) + one token's dots of vector j's two operands with its i8 quants at xp (4
 * activations broadcast per operand). A lane gains 2 products of ≤ 31 and |q| ≤ 127 per operand: 4 operands (two j)
 * of Q5 fit i16 (31496), 8 of Q4_1's nibbles do (30480).
 */
@inline export function stepRelaxed(acc: v128, lo: v128, hi: v128, xp: usize, j: i32): v128 {
  acc = i16x8.add(acc, i16x8.relaxed_dot_i8x16_i7x16_s(splatAt(xp, j << 2), lo));
  return i16x8.add(acc, i16x8.relaxed_dot_i8x16_i7x16_s(splatAt(xp, 16 + (j << 2)), hi));
}

/** Relaxed: stepRelaxed onto nothing (a block's first vector). */
@inline export function firstRelaxed(lo: v128, hi: v128, xp: usize, j: i32): v128 {
  return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(splatAt(xp, j << 2), lo), i16x8.relaxed_dot_i8x16_i7x16_s(splatAt(xp, 16 + (j << 2)), hi));
}

/** SIMD128: acc (i32, one lane per row) + one token's dots of vector j's four i16 operands with its i16 quants at xp. */
@inline export function stepWide(acc: v128, l0: v128, l1: v128, h0: v128, h1: v128, xp: usize, j: i32): v128 {
  acc = i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(l0, splatAt(xp, j << 3)), i32x4.dot_i16x8_s(l1, splatAt(xp, (j << 3) + 4))));
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(h0, splatAt(xp, 32 + (j << 3))), i32x4.dot_i16x8_s(h1, splatAt(xp, 36 + (j << 3)))));
}

/** A block's i32 start: Q5_0's 16·(−Σq) at sp (its operands are q, not q − 16); zero for Q4_1 / Q5_1. */
@inline export function start<T>(sp: usize): v128 {
  return hasMin<T>() ? i32x4.splat(0) : i32x4.shl(v128.load32_splat(sp), 4);
}

/** i16 lane pairs summed into i32 (one pmaddwd on x86). */
@inline export function widen(a: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_s(a);
}

/**
 * Decode, relaxed: the four rows' i32 sums of one panel-block (quants at wp) with one token (i8 quants at xp, −Σq at
 * sp), written out; the SINK stores keep V8 from hoisting every load ahead of the arithmetic (decode-legacy.ts).
 */
@inline export function blockRelaxed<T>(wp: usize, xp: usize, sp: usize): v128 {
  const s4 = hasHigh<T>() ? v128.load(wp, 64) : i32x4.splat(0);
  const n0 = v128.load(wp);
  let a = firstRelaxed(lowOp<T>(n0), highOp<T>(n0, s4, 0), xp, 0);
  const n1 = v128.load(wp, 16);
  a = stepRelaxed(a, lowOp<T>(n1), highOp<T>(n1, s4, 1), xp, 1);
  v128.store(SINK, a);
  // Q5: a second i16 accumulator for j = 2, 3 (i16 bound above); Q4_1's nibbles go on in a.
  const n2 = v128.load(wp, 32);
  let b = hasHigh<T>() ? firstRelaxed(lowOp<T>(n2), highOp<T>(n2, s4, 2), xp, 2) : stepRelaxed(a, lowOp<T>(n2), highOp<T>(n2, s4, 2), xp, 2);
  const n3 = v128.load(wp, 48);
  b = stepRelaxed(b, lowOp<T>(n3), highOp<T>(n3, s4, 3), xp, 3);
  const sum = hasHigh<T>() ? i32x4.add(widen(a), widen(b)) : widen(b);
  return hasMin<T>() ? sum : i32x4.add(sum, start<T>(sp));
}

/** Decode, SIMD128: the same with i16 operands and the token's i16 quants at xp. */
@inline export function blockWide<T>(wp: usize, xp: usize, sp: usize): v128 {
  const s4a = hasHigh<T>() ? v128.load8x8_u(wp, 64) : i32x4.splat(0);
  const s4b = hasHigh<T>() ? v128.load8x8_u(wp, 72) : i32x4.splat(0);
  let a = start<T>(sp);
  const u0 = v128.load8x8_u(wp), v0 = v128.load8x8_u(wp, 8);
  a = stepWide(a, lowWide<T>(u0), lowWide<T>(v0), highWide<T>(u0, s4a, 0), highWide<T>(v0, s4b, 0), xp, 0);
  v128.store(SINK, a);
  const u1 = v128.load8x8_u(wp, 16), v1 = v128.load8x8_u(wp, 24);
  a = stepWide(a, lowWide<T>(u1), lowWide<T>(v1), highWide<T>(u1, s4a, 1), highWide<T>(v1, s4b, 1), xp, 1);
  v128.store(SINK, a);
  const u2 = v128.load8x8_u(wp, 32), v2 = v128.load8x8_u(wp, 40);
  a = stepWide(a, lowWide<T>(u2), lowWide<T>(v2), highWide<T>(u2, s4a, 2), highWide<T>(v2, s4b, 2), xp, 2);
  v128.store(SINK, a);
  const u3 = v128.load8x8_u(wp, 48), v3 = v128.load8x8_u(wp, 56);
  return stepWide(a, lowWide<T>(u3), lowWide<T>(v3), highWide<T>(u3, s4a, 3), highWide<T>(v3, s4b, 3), xp, 3);
}

/**
 * The four f16 values at p (the panel's d or m) as f32, exactly as common.ts's f16x4ToF32 gives them, in four
 * operations where no value is Inf/NaN: each f16 moved to the top of its i32 lane (one unpack with zeros), shifted
 * right 3 arithmetically (sign at bit 31, exponent and mantissa at bits 13..27) with the sign's copies masked off, and
 * multiplied by 2^112 (rebases the exponent; f16 subnormals become exact f32 normals; the sign rides through).
 */
@inline export function widenF16(h: v128, high: bool): v128 {
  const z = i32x4.splat(0);
  const top = high
    ? i8x16.shuffle(z, h, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31) // punpckhwd
    : i8x16.shuffle(z, h, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23); // punpcklwd
  return f32x4.mul(v128.and(i32x4.shr_s(top, 3), i32x4.splat(0x8fffffff)), f32x4.splat(reinterpret<f32>(0x77800000)));
}

/** Where the rare Inf/NaN path leaves its f32 scales (d, then m). */
const SLOW: usize = memory.data(32, 16);

/** common.ts's f16x4ToF32 constants, read from memory: V8 keeps constants of a loop in registers, loads it does not. */
const K: usize = memory.data<u32>([
  0x7fff, 0x7fff, 0x7fff, 0x7fff, 0x7c00, 0x7c00, 0x7c00, 0x7c00, 0x8000, 0x8000, 0x8000, 0x8000,
  0x7f800000, 0x7f800000, 0x7f800000, 0x7f800000, 0x77800000, 0x77800000, 0x77800000, 0x77800000,
], 16);

/** The n (4 or 8) f16 at p into SLOW as f32, step for step as common.ts's f16x4ToF32 (the same bits). */
@inline function scalesSlow(p: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const h = i32x4.extend_low_i16x8_u(v128.load64_zero(p + (<usize>i << 1)));
    const em = i32x4.shl(v128.and(h, v128.load(K)), 13);
    let f = f32x4.mul(em, v128.load(K, 64));
    const exp = v128.load(K, 16);
    f = v128.bitselect(v128.or(em, v128.load(K, 48)), f, i32x4.eq(v128.and(h, exp), exp));
    v128.store(SLOW + (<usize>i << 2), v128.or(f, i32x4.shl(v128.and(h, v128.load(K, 32)), 16)));
  }
}

/** Whether any d (or m) of the nb panel-blocks from wpan is Inf/NaN: then the panel takes the full conversion. */
@inline export function panelSpecial<T>(wpan: usize, nb: i32): bool {
  const e = i16x8.splat(0x7c00);
  let any = i32x4.splat(0);
  let wp = wpan;
  for (let b = 0; b < nb; b++) {
    const h = hasMin<T>() ? v128.load(wp) : v128.load64_zero(wp);
    any = v128.or(any, i16x8.eq(v128.and(h, e), e));
    wp += panelBlockBytes<T>();
  }
  return v128.any_true(any);
}

/** The panel-block's four d (f16 at p) as f32: widened in 4 operations (fast), else fully (also fills SLOW's m). */
@inline export function dScales<T, F>(p: usize): v128 {
  if (idof<F>() == idof<Fast>()) return widenF16(v128.load64_zero(p), false);
  scalesSlow(p, hasMin<T>() ? 8 : 4);
  return v128.load(SLOW);
}

/** Q4_1 / Q5_1: the four m (f16 at p + 8) as f32, after dScales of the same block. */
@inline export function mScales<F>(p: usize): v128 {
  if (idof<F>() == idof<Fast>()) return widenF16(v128.load(p), true);
  return v128.load(SLOW, 16);
}
