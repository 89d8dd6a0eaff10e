// Shared pieces of the K-quant kernels: the Q8_K activation layout and the 4-row integer dot steps of both builds.
import { f16x4ToF32 } from "./common";

/** Activation quant bytes per 256-block: i8 on the relaxed build (relaxed_dot), i16 on SIMD128 (dot_i16x8). */
export const XK_BYTES: usize = ASC_FEATURE_RELAXED_SIMD ? 256 : 512;
/** Bytes per activation element. */
export const XK_ELEM: usize = ASC_FEATURE_RELAXED_SIMD ? 1 : 2;
/** i32 slots per 256-block: 16 i32 of -Σq per 16 elements, 8 i32 of -Σq per 32, the same 8 as i16 (4 slots). */
export const XK_SUMS: usize = 28;

// Weight bytes reach the dot steps as "prepared" vectors of small unsigned values (0..63), the four rows of a panel
// interleaved as repack-kquant.ts lays them out: on the relaxed build one v128 holds 4 consecutive values of each row
// (relaxed_dot sums 4 adjacent i8 products); on SIMD128 the same 16 bytes are read as two i16x8 halves, the first with
// values 0-1 of each row, the second with values 2-3 (dot_i16x8 sums 2 adjacent products).

/**
 * acc + the four rows' dots of 4 weight values (prepared vector p, or halves p/p1 on SIMD128) with the 4 activation
 * elements at xp (broadcast to all lanes). On the relaxed build acc is i16x8, two lanes per row (`settle` adds them):
 * i16x8.relaxed_dot is one pmaddubsw on x86, where the i32 form costs a pmaddwd and an add more per step unless the
 * engine uses VNNI. Each step adds 2 products of a value v and a quant (|q| ≤ 127) to a lane: callers settle after at
 * most ⌊32767 / (254·vmax)⌋ steps (8 for 4-bit values, 4 for 5-bit, 2 for 6-bit, more for 3-bit), so sums are exact.
 * On SIMD128 acc is i32x4 already.
 */
@inline export function dotStep(acc: v128, p: v128, p1: v128, xp: usize): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? i16x8.add(acc, dotFirst(p, p1, xp)) : i32x4.add(acc, dotFirst(p, p1, xp));
}

/** dotStep of an accumulator at zero (V8 does not fold an add of a zero vector). */
@inline export function dotFirst(p: v128, p1: v128, xp: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp), p);
  return i32x4.add(i32x4.dot_i16x8_s(p, v128.load32_splat(xp)), i32x4.dot_i16x8_s(p1, v128.load32_splat(xp, 4)));
}

/** The four rows' i32 sums of a dotStep accumulator that started at zero (relaxed: its i16 lane pairs added). */
@inline export function settle(acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.extadd_pairwise_i16x8_s(acc);
  return acc;
}

/**
 * settle by a dot with ones: the same sums; V8 keeps the ones in a register where its extadd_pairwise reloads the
 * address of a constant every time (measured faster in Q6_K, slower in Q5_K's decode).
 */
@inline export function settleOnes(acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.dot_i16x8_s(acc, i16x8.splat(1));
  return acc;
}

// The widening loads below read 8 bytes where 4 are used (every caller reads a panel-block's header, never the end of
// memory): V8 makes v128.load8x8 / load16x4 one extending load, where load32_zero and an extend are two instructions.

/** Four u8 (one per row) at p as i32 lanes. */
@inline export function u8x4(p: usize): v128 {
  return i32x4.extend_low_i16x8_u(v128.load8x8_u(p));
}

/**
 * The scales for `scaled`: on the relaxed build's i16 form (not fused) the four u8 at p as i16 lane pairs (row r in
 * lanes 2r, 2r + 1, as a dotStep accumulator's), otherwise u8x4.
 */
@inline export function u8x4For(p: usize, f: bool): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD || f) return u8x4(p);
  const s = v128.load8x8_u(p);
  return i8x16.shuffle(s, s, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
}

/**
 * settle(acc)·sc as i32 lanes for a dotStep accumulator (f: a fused one, i32 already) and sc from u8x4For: on the i16
 * form one i32x4.dot_i16x8_s settles and scales at once (|lane| ≤ 32767, scale ≤ 255: exact in i32, the same sums as
 * settle then i32x4.mul, one multiply fewer).
 */
@inline export function scaled(acc: v128, sc: v128, f: bool): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD || f) return i32x4.mul(f ? acc : settle(acc), sc);
  return i32x4.dot_i16x8_s(acc, sc);
}

/** Four i8 (one per row) at p as i32 lanes. */
@inline export function i8x4(p: usize): v128 {
  return i32x4.extend_low_i16x8_s(v128.load8x8_s(p));
}

/** Four f16 (one per row) at p as f32 lanes. */
@inline export function f16x4At(p: usize): v128 {
  return f16x4ToF32(v128.load16x4_u(p));
}

/** Stores the four rows r0..r0+3 of one token's outputs at o, only those below `rows` in the last panel. */
@inline export function storeRows4(o: usize, v: v128, r0: i32, rows: i32): void {
  if (r0 + 4 <= rows) {
    v128.store(o, v);
    return;
  }
  store<f32>(o, f32x4.extract_lane(v, 0));
  if (r0 + 1 < rows) store<f32>(o, f32x4.extract_lane(v, 1), 4);
  if (r0 + 2 < rows) store<f32>(o, f32x4.extract_lane(v, 2), 8);
}

/** Stores a 4-token tile's outputs (one register per token, rows r0..r0+3; tokens `rows` floats apart) at o. */
@inline export function storeTokens4(o: usize, o0: v128, o1: v128, o2: v128, o3: v128, r0: i32, rows: i32): void {
  const oRow = <usize>rows << 2;
  storeRows4(o, o0, r0, rows);
  storeRows4(o + oRow, o1, r0, rows);
  storeRows4(o + 2 * oRow, o2, r0, rows);
  storeRows4(o + 3 * oRow, o3, r0, rows);
}

/** acc + dots of a byte vector e of small unsigned values (4 per row, as dotStep) with the 4 activations at xp. */
@inline export function dotBytes(acc: v128, e: v128, xp: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return dotStep(acc, e, e, xp);
  return dotStep(acc, i16x8.extend_low_i8x16_u(e), i16x8.extend_high_i8x16_u(e), xp);
}
