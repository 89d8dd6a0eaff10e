// Relaxed Q6_K decode in the i16 form (engines that do not fuse i32 dot-adds: Node 22), one 4-row panel, one token.
import { SINK, madd } from "./common";
import { XK_BYTES, XK_SUMS, storeRows4 } from "./kquant-common";
import { PB } from "./q6k-values";

// Layout: q6k-values.ts. Σ_r w·x per block = dx·d·Σ_j sc_j·(Σ q·qx − 32·Σ qx) is summed as Σ_j sc_j·Σ q·qx plus
// the −32 term Σ_j 32·sc_j·(−Σqx_j) (as ggml's one madd of scales and block sums), no longer as a start of each
// sub-block's sum: so each pair of i16 planes (a sub-block's elements 0-7, 8-15) settles and scales in one
// i32x4.dot_i16x8_s against the sub-block's
// scales duplicated into lane pairs (as the Q4_K/Q5_K decode does: |lane| ≤ 4·63·127 = 32004, exact) into a single
// i32 sum per block, without the i32 multiply, the scale widening and the start's broadcast and shift per sub-block.
// The −32 term takes the scales too: one more dot per two sub-blocks j, j + 1 (their scales zipped into each row's
// lane pair) against their 16·(−Σqx) as an i32 splat of two i16 (|16·Σqx| ≤ 16·16·127 < 2^15), doubled by a shift
// per block; the sums are written once per token for all panels (X16). All sums are exact in i32
// (|Σ| < 2^29), so each row's block sum is the other decodes' and the two f32 steps per block follow in the same
// order: the same bits (test/kernels/q6k-decode.case.ts). Per 4-row panel and 256-block: 64 relaxed dots, 32 i16
// adds, 40 i32x4.dot_i16x8_s (32 settles, 8 for the −32 term), 41 i32 adds, 8 widening scale loads, 16 duplications
// (a punpcklwd or punpckhwd each), 8 zips (a pblendw each) and a shift, 176 operations rebuilding values.

/** A sub-block's four scales (i16 lanes 0-3 of s, one per row) as lane pairs: row r's scale in lanes 2r and 2r + 1. */
@inline function dup(s: v128): v128 {
  return i8x16.shuffle(s, s, 0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7);
}

/** i16 sums of two planes' dots (value vectors e0, e1 with the activations at x and x + 4), settled and scaled by d. */
@inline function two(u: v128, e0: v128, e1: v128, x: usize, d: v128): v128 {
  const a = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x), e0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x, 4), e1));
  return i32x4.add(u, i32x4.dot_i16x8_s(a, d));
}

/** u + one sub-block (its vectors at qp, activations at xp) scaled by d: planes 0, 1 then 2, 3 per settle. */
@inline function sub(u: v128, qp: usize, xp: usize, m: v128, d: v128): v128 {
  // The three vectors loaded once (plane 3 reuses them: and-nots and 16-bit shifts as q6k-values.ts q6's serial form);
  // a store after each pair of planes keeps V8 from hoisting every load of the iteration to its top.
  const va = v128.load(qp), vb = v128.load(qp, 16), vc = v128.load(qp, 32);
  u = two(u, v128.and(va, m), v128.and(vb, m), xp, d);
  v128.store(SINK, u);
  const ev = i16x8.shr_u(v128.or(i16x8.shr_u(v128.or(i16x8.shr_u(v128.andnot(va, m), 2), v128.andnot(vb, m)), 2), v128.andnot(vc, m)), 2);
  u = two(u, v128.and(vc, m), ev, xp + 8, d);
  v128.store(SINK, u);
  return u;
}

/** Blocks X16 holds: matrices with more columns (over 32768) read the −32 term's sums from the Q8_K sums instead. */
export const X16_BLOCKS: i32 = 128;
/** Per 256-block, the 16 sub-blocks' 16·(−Σqx) as i16: written once per token (decodeQ6KI16) for all panels. */
const X16: usize = memory.data(32 * X16_BLOCKS, 16);

/** One token's Q6_K matmul (decode, nb ≤ X16_BLOCKS): X16 written, then each panel as decodeI16. */
export function decodeQ6KI16(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32): void {
  const nb = <usize>(cols >> 8);
  let e = X16, sb = xs;
  for (let b: usize = 0; b < nb; b++) {
    v128.store(e, i16x8.shl(i16x8.narrow_i32x4_s(v128.load(sb), v128.load(sb, 16)), 4));
    v128.store(e, i16x8.shl(i16x8.narrow_i32x4_s(v128.load(sb, 32), v128.load(sb, 48)), 4), 16);
    e += 32;
    sb += XK_SUMS * 4;
  }
  for (let r = 0; r < rows; r += 4) decodeI16(out + (<usize>r << 2), w + (<usize>r >> 2) * nb * PB, xq, xs, xd, nb, r, rows, true);
}

/**
 * One token's outputs of the panel at wpan (rows r..r+3) into o: activations at x0 (quants), s0 (sums), dp (scales);
 * pre: the −32 term's sums from X16 (decodeQ6KI16), else from s0.
 */
@inline export function decodeI16(o: usize, wpan: usize, x0: usize, s0: usize, dp: usize, nb: usize, r: i32, rows: i32, pre: bool = false): void {
  const m = i8x16.splat(0x3f);
  let acc = f32x4.splat(0);
  let wp = wpan;
  for (let b: usize = 0; b < nb; b++) {
    const sb = s0 + b * XK_SUMS * 4;
    let xp = x0 + b * XK_BYTES;
    let u = i32x4.splat(0), v = u;
    let qp = wp + 80, sc = wp + 16;
    // Two sub-blocks j, j + 1 per pass: their scales from one widening load, their −32 term from one dot.
    for (let j: usize = 0; j < 16; j += 2) {
      const s = v128.load8x8_s(sc);
      const d0 = dup(s), d1 = i8x16.shuffle(s, s, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15);
      if (pre) {
        // The sums of sub-blocks j, j + 1 as one i32 splat from X16, dotted with their scales zipped into each row's
        // lane pair (16·sc·(−Σqx) for each; v is doubled once per block).
        v = i32x4.add(v, i32x4.dot_i16x8_s(i8x16.shuffle(d0, d1, 0, 1, 18, 19, 4, 5, 22, 23, 8, 9, 26, 27, 12, 13, 30, 31), v128.load32_splat(X16 + (b << 5) + (j << 1))));
      } else {
        // The i32 sums' low halves (|Σqx| ≤ 16·127), times 16, each dotted with its sub-block's duplicated scales
        // (used where X16 is not written: wide matrices, tokens past the tiles).
        const e = sb + (j << 2);
        u = i32x4.add(u, i32x4.add(i32x4.dot_i16x8_s(d0, i16x8.shl(v128.load16_splat(e), 4)), i32x4.dot_i16x8_s(d1, i16x8.shl(v128.load16_splat(e, 4), 4))));
      }
      u = sub(u, qp, xp, m, d0);
      u = sub(u, qp + 48, xp + 16, m, d1);
      qp += 96;
      xp += 32;
      sc += 8;
    }
    if (pre) u = i32x4.add(u, i32x4.shl(v, 1));
    acc = madd(f32x4.convert_i32x4_s(u), f32x4.mul(v128.load(wp), v128.load32_splat(dp + (b << 2))), acc);
    wp += PB;
  }
  storeRows4(o, acc, r, rows);
}
