// Q4_0 / Q8_0 block-32 formats for matmul-quant.ts: the packed layout, and per format its weight operands, integer dot steps, block starts and scales.
import { f16x4At } from "./kquant-common";
import { blockQ4Fused, blockQ4Relaxed, blockQ4Wide, blockQ8 } from "./decode-legacy";
import { quads8 } from "./prefill-block32";

// Weight layout (repack.ts, panelByteOffset): rows in panels of four (the last one padded with zero rows). Per panel and
// 32-block, vector j (16 bytes) holds quant bytes 4j..4j+3 of all four rows: Q8_0 has 8 such vectors (element k is
// byte k), Q4_0 has 4 (byte k holds element k in its low nibble, k + 16 in its high one). Within a vector, each row's
// 4 bytes stay together where relaxed_dot (which sums 4 adjacent i8 products) does the dots: Q4_0 on the relaxed build;
// elsewhere each row's 2-byte pairs do, for dot_i16x8 (which sums 2 adjacent i16 products after widening). Either way
// one integer dot step puts the four rows' sums in the four lanes: no horizontal sums, and one convert and one
// multiply-add per block serve four rows. Block scales, the panel's four rows per panel-block: Q4_0 as four f32 (one
// v128), Q8_0 as the file's four f16 (8 bytes, widened per block), so a Q8_0 matrix (a tied embedding) stays at file size.
// Relaxed Q8_0 widens to i16 like SIMD128: relaxed_dot wants a 7-bit operand, and moving the weights' signs onto the
// activations costs more than the i16 dots do; but where the engine makes i32 dot-adds vpdpbusd (u8 × i8, no
// saturation), its prefill tiles offset the weights by 128 as they load instead (Q8D).
// Activations (quantize_q8_0): per 32-block the quants as i8 (relaxed only) and as i16; per block f32 d and i32 -Σq.
// Loops advance pointers and every constant offset is a load immediate.

/** Activation bytes per block, and where its i16 quants start. */
export const XB: usize = ASC_FEATURE_RELAXED_SIMD ? 96 : 64;
export const X16: usize = ASC_FEATURE_RELAXED_SIMD ? 32 : 0;

/** Marker types for the weight format: Q8 → Q8_0, Q4 → Q4_0 (resolved at compile time). */
export class Q8 {}
export class Q4 {}
/** Relaxed Q4_0 with i32x4.relaxed_dot_i8x16_i7x16_add_s, where the engine does that in one instruction (see dot_add_fused). */
export class Q4D {}
/**
 * Q8_0 prefill tiles with i32 dot-adds, only where dot_add_fused's engine probe says they are vpdpbusd: each weight
 * vector is regrouped to each row's 4 bytes together (one byte shuffle) and offset by 128 (q ^ 0x80 = q + 128, 0..255)
 * as it loads, once for every token of a tile, so it can be relaxed_dot's 7-bit (unsigned) operand; the accumulator
 * starts at 128·(−Σx) (Σ(q+128)x − 128Σx = Σqx). vpdpbusd sums u8·i8 products in i32 without saturating: a lane gets
 * at most 32 products per block, |·| ≤ 32·255·127 + 128·32·127 < 2^21, so the sums are exact and equal the i16 steps'.
 * pmaddubsw (no VNNI) saturates pairs past 32767 (2·255·127): there this form is exact only for quants ≤ 0, so it
 * never runs there (vnni(), not the tests' override). Single tokens (decode, a tile's leftovers) keep Q8's i16 steps.
 */
export class Q8D {}

/** Whether T is a Q8_0 form. */
@inline export function isQ8<T>(): bool {
  return idof<T>() == idof<Q8>() || idof<T>() == idof<Q8D>();
}

/** Whether T's dots are relaxed_dot on i8 activations (relaxed Q4_0) rather than dot_i16x8 on widened quants. */
@inline export function i8dot<T>(): bool {
  return ASC_FEATURE_RELAXED_SIMD && (idof<T>() == idof<Q4>() || idof<T>() == idof<Q4D>() || idof<T>() == idof<Q8D>());
}

/** Whether T's steps are i32 dot-adds (no i16 lanes to widen). */
@inline export function dotAdd<T>(): bool {
  return ASC_FEATURE_RELAXED_SIMD && (idof<T>() == idof<Q4D>() || idof<T>() == idof<Q8D>());
}


/**
 * Operand k of weight vector j's half h (h = 0: elements 4j..4j+3, 1: elements 16+4j..) of the panel-block at wp
 * (already advanced by 16·j), prepared once for every token of a tile. For relaxed_dot (k unused): the 16 Q4_0
 * nibbles, raw 0..15. Otherwise the k-th 8 bytes widened to i16: Q8_0 quants sign-extended; Q4_0 bytes zero-extended
 * as they load (v128.load8x8_u), their nibbles then split with i16 lane ops (x86 has no byte shift). Q4_0's offset of
 * 8 goes into the accumulator's start either way.
 */
@inline export function operand<T>(wp: usize, h: bool, k: i32): v128 {
  if (idof<T>() == idof<Q8D>()) return quads8(v128.load(wp)); // to quads, + 128
  if (idof<T>() == idof<Q8>()) {
    const w = h ? v128.load(wp, 64) : v128.load(wp);
    return k ? i16x8.extend_high_i8x16_s(w) : i16x8.extend_low_i8x16_s(w);
  }
  if (i8dot<T>()) {
    const n = v128.load(wp);
    return v128.and(h ? i16x8.shr_u(n, 4) : n, i8x16.splat(0x0f)); // x86 has no byte shift: i16 shift, then mask
  }
  const u = k ? v128.load8x8_u(wp, 8) : v128.load8x8_u(wp);
  return h ? i16x8.shr_u(u, 4) : v128.and(u, i16x8.splat(0x0f));
}

/**
 * acc + the four rows' integer dots of one prepared weight vector (p0, p1) of half h with one token's activations at
 * xp (its i8 quants for relaxed_dot, else its i16 quants): 4 i8 or 2 + 2 i16 broadcast to all lanes. The relaxed
 * build's acc is i16x8 (two lanes per row, summed by `finish`): i16x8.relaxed_dot is one pmaddubsw on x86, while the
 * i32 form adds a pmaddwd and an add per step where no VNNI is used. A lane gets 2 products of a nibble (0..15) and a
 * quant (|q| ≤ 127) per step, at most 8 steps per block: |lane| ≤ 8·2·15·127 = 30480 < 2^15, so the sums are exact.
 */
@inline export function step<T>(acc: v128, p0: v128, p1: v128, xp: usize, h: bool): v128 {
  if (dotAdd<T>()) return i32x4.relaxed_dot_i8x16_i7x16_add_s(h ? v128.load32_splat(xp, 16) : v128.load32_splat(xp), p0, acc);
  if (i8dot<T>()) return i16x8.add(acc, i16x8.relaxed_dot_i8x16_i7x16_s(h ? v128.load32_splat(xp, 16) : v128.load32_splat(xp), p0));
  const x0 = h ? v128.load32_splat(xp, 32) : v128.load32_splat(xp);
  const x1 = h ? v128.load32_splat(xp, 36) : v128.load32_splat(xp, 4);
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(p0, x0), i32x4.dot_i16x8_s(p1, x1)));
}

/** Start of a block's integer accumulator: Q4_0 dots the unsigned nibbles, Σx(n-8) = Σxn - 8Σx (ns = -Σq). */
@inline export function start<T>(sp: usize): v128 {
  if (idof<T>() == idof<Q8D>()) return i32x4.shl(v128.load32_splat(sp), 7);
  if (idof<T>() == idof<Q8>()) return i32x4.splat(0);
  return i32x4.shl(v128.load32_splat(sp), 3);
}

/**
 * A block's accumulator before its first step: the i32 start, or (i16 relaxed_dot) −4Σq in every i16 lane, so that
 * each row's lane pair starts at the block's −8Σq and `finish` only adds the pairs. Exact: a lane ends at its 16
 * products n·q less 4 × the block's 32 quants, i.e. Σ(n − 4)q over its 16 elements − 4Σq over the other 16, |·| ≤
 * 16·11·127 + 4·16·127 = 30480 < 2^15 (the i16 adds wrap, so partial sums past the range still end exact); the start
 * is a 16-bit splat of −Σq (|Σq| ≤ 4064) shifted by 2.
 */
@inline export function init<T>(sp: usize): v128 {
  return i8dot<T>() && !dotAdd<T>() ? i16x8.shl(v128.load16_splat(sp), 2) : start<T>(sp);
}

/**
 * A block's four i32 row sums from its accumulator: relaxed_dot's i16 lane pairs added (the start is in them), as a
 * dot with ones: V8 makes extadd_pairwise a constant's address and a pmaddwd from it, the dot one pmaddwd with the
 * ones kept in a register (5 % faster tiles in Node with the start above, prefill-fastest.mjs).
 */
@inline export function finish<T>(acc: v128): v128 {
  return i8dot<T>() && !dotAdd<T>() ? i32x4.dot_i16x8_s(acc, i16x8.splat(1)) : acc;
}

/** The four rows' scales of panel-block b of the panel whose scales start at dpan (see the layout above). */
@inline export function scales<T>(dpan: usize, b: i32): v128 {
  return isQ8<T>() ? f16x4At(dpan + (<usize>b << 3)) : v128.load(dpan + (<usize>b << 4));
}

/**
 * Decode: one 32-block's four i32 row sums (with Q4_0's start) from the panel-block at wp, the token's activations at
 * xp (i8 quants for relaxed_dot, else i16) and its -Σq at sp (decode-legacy.ts: the steps written out).
 */
@inline export function blockSum<T>(wp: usize, xp: usize, sp: usize): v128 {
  if (idof<T>() == idof<Q8D>()) return blockQ8(wp, xp + X16); // xp: the i8 quants; the i16 ones follow
  if (dotAdd<T>()) return blockQ4Fused(wp, xp, sp);
  if (i8dot<T>()) return blockQ4Relaxed(wp, xp, sp);
  return idof<T>() == idof<Q4>() ? blockQ4Wide(wp, xp, sp) : blockQ8(wp, xp);
}
