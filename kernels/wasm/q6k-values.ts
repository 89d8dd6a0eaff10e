// Q6_K value rebuilding and dot steps shared by the decode loop and the prefill tiles of matmul-q6k.ts.
import { XK_ELEM, dotFirst, dotStep, settleOnes } from "./kquant-common";

// Weight layout (repack-kquant.ts packQ6K): rows in panels of four (the last padded with zero rows); per panel and
// 256-block PB = 848 bytes: d of the 4 rows as f32, the 16 i8 scales as [sub-block][row], then per 16-element
// sub-block j (at 80 + 48j) three vectors A, B, C, each holding 4 bytes of each of the four rows (interleaved as in
// matmul-q4k.ts). Byte k of a row's 4 in A, B, C holds the whole 6-bit value of the sub-block's element k, 4+k, 8+k
// (bits 0-5: one and) and in bits 6-7 the 2-bit pieces 0, 1, 2 of element 12+k (three shifts, three ands, two ors):
// 11 operations rebuild four value vectors where ggml's nibble and 2-bit planes take 17, in the same bytes. All four
// value vectors ("planes") of a group belong to one sub-block (one scale, one sum), and a plane's 4 activations per
// row sit at 4·plane in the sub-block's 16: a decode keeps one accumulator per panel where ggml's element order
// (elements l, l+32, l+64, l+96 together) kept four.
// The unsigned 6-bit values q (0..63) are dotted; ggml's q−32 becomes a start of 32·(−Σqx) per 16-element sub-block.
// Per block: Σ_r w·x = dx·d·Σ_j sc_j·(Σ q·qx − 32·Σ qx), exact in i32 (|Σ| < 2^28).
export const PB: usize = 848;

/**
 * One 6-bit value per byte from a group's vectors a, b, c: plane k = 0, 1, 2: bits 0-5 of a, b, c; k = 3: their bits
 * 6-7 as bits 0-1, 2-3, 4-5. 16-bit shifts (x86 has no byte shifts): the masks drop whatever crosses a byte. Plane 3
 * either as three independent shift-and pieces (three masks) or `serial`: one mask (0xc0, after which a 16-bit
 * shift right moves only zeros into the byte below) and a chain of shifts and ors: the same 8 operations, two
 * registers fewer (measured faster in the relaxed decode, slower in the tiles and on SIMD128).
 */
@inline export function q6(a: v128, b: v128, c: v128, k: i32, serial: bool = false): v128 {
  const m = i8x16.splat(0x3f);
  if (k < 3) return v128.and(k == 0 ? a : k == 1 ? b : c, m);
  if (serial) {
    // Bits 6-7 as an and-not with the value mask m (already in a register): no 0xc0 constant to keep or rebuild.
    const ab = v128.or(i16x8.shr_u(v128.andnot(a, m), 2), v128.andnot(b, m));
    return i16x8.shr_u(v128.or(i16x8.shr_u(ab, 2), v128.andnot(c, m)), 2);
  }
  const t0 = v128.and(i16x8.shr_u(a, 6), i8x16.splat(0x03));
  const t1 = v128.and(i16x8.shr_u(b, 4), i8x16.splat(0x0c));
  return v128.or(v128.or(t0, t1), v128.and(i16x8.shr_u(c, 2), i8x16.splat(0x30)));
}

/** q6 of plane k of the group at qs, loading only the vectors that plane reads. */
@inline export function q6at(qs: usize, k: i32, serial: bool = false): v128 {
  if (k < 3) return v128.and(v128.load(qs + (<usize>k << 4)), i8x16.splat(0x3f));
  return q6(v128.load(qs), v128.load(qs, 16), v128.load(qs, 32), 3, serial);
}

/**
 * acc (i32) + the dots of two consecutive steps: prepared vectors (p0, p1) with the 4 activations at xp and (r0, r1)
 * with the next 4. Two steps of 6-bit values are as many as dotStep's i16 lanes hold exactly (kquant-common.ts).
 */
@inline export function pair(acc: v128, p0: v128, p1: v128, r0: v128, r1: v128, xp: usize, f: bool = false): v128 {
  if (ASC_FEATURE_RELAXED_SIMD && f) return dotAdd(dotAdd(acc, p0, xp), r0, xp + 4);
  return i32x4.add(acc, settleOnes(dotStep(dotFirst(p0, p1, xp), r0, r1, xp + 4 * XK_ELEM)));
}

/**
 * Relaxed, where the engine fuses i32 dot-adds (matmul-quant.ts dot_add_fused): acc + the dots of 6-bit values p
 * with the 4 activations at xp, straight into i32 lanes (exact for any 7-bit operand), so no settling.
 */
@inline export function dotAdd(acc: v128, p: v128, xp: usize): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp), p, acc);
}

/** The relaxed build's byte vector as is, or SIMD128's low (k = 0) or high i16x8 half of it. */
@inline export function half(e: v128, k: i32): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return e;
  return k ? i16x8.extend_high_i8x16_u(e) : i16x8.extend_low_i8x16_u(e);
}
