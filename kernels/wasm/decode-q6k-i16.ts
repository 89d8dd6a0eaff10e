// Relaxed Q6_K decode in the i16 form (engines that do not fuse i32 dot-adds: Node 22), one 4-row panel, one token.
import { SINK, madd } from "./common";
import { XK_BYTES, XK_SUMS, storeRows4 } from "./kquant-common";
import { PB } from "./q6k-values";

// Layout: q6k-values.ts. Σ_r w·x per block = dx·d·Σ_j sc_j·(Σ q·qx − 32·Σ qx) is summed as Σ_j sc_j·Σ q·qx plus
// the −32 term Σ_j 32·sc_j·(−Σqx_j) (as ggml's one madd of scales and block sums), no longer as a start of each
// sub-block's sum: so each pair of i16 steps settles and scales in one i32x4.dot_i16x8_s against the sub-block's
// scales duplicated into lane pairs (as the Q4_K/Q5_K decode does: |lane| ≤ 4·63·127 = 32004, exact) into a single
// i32 sum per block, without the i32 multiply, the scale widening and the start's broadcast and shift per sub-block.
// The −32 term takes the scales too: one more dot per two sub-blocks j, j + 2 (their scales zipped into each row's
// lane pair) against their 16·(−Σqx) as an i32 splat of two i16 (|16·Σqx| ≤ 16·16·127 < 2^15), doubled by a shift
// per group; the sums are written once per token for all panels in group order (X16). All sums are exact in i32
// (|Σ| < 2^29), so each row's block sum is the other decodes' and the two f32 steps per block follow in the same
// order: the same bits (test/kernels/q6k-decode.case.ts). Per 4-row panel and 256-block: 64 relaxed dots, 32 i16
// adds, 40 i32x4.dot_i16x8_s (32 settles, 8 for the −32 term), 40 i32 adds, 16 scale duplications (one widening load
// and a punpcklwd each), 8 zips and 4 shifts, 176 operations rebuilding values (q6k-values.ts).

/** A sub-block's four scales (i16 lanes 0-3 of s, one per row) as lane pairs: row r's scale in lanes 2r and 2r + 1. */
@inline function dup(s: v128): v128 {
  return i8x16.shuffle(s, s, 0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7);
}

/** i16 sums of two steps' dots (value vectors e0, e1 with the activations at x and x + 4), settled and scaled by d. */
@inline function two(u: v128, e0: v128, e1: v128, x: usize, d: v128): v128 {
  const a = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x), e0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x, 4), e1));
  return i32x4.add(u, i32x4.dot_i16x8_s(a, d));
}

/** u + one step pair of a sub-block group: groups at qp and qp + 48, activations at xp (planes 32 apart). */
@inline function stepPair(u: v128, qp: usize, xp: usize, m: v128, d0: v128, d1: v128, d2: v128, d3: v128): v128 {
  // Two steps (groups at qp and qp + 48) per settle, one plane at a time, each group's three vectors loaded
  // once (plane 3 reuses them, and-nots and 16-bit shifts as q6k-values.ts q6's serial form); a store after
  // each plane keeps V8 from hoisting every load of the iteration to its top (as matmul-q6k.ts's decode).
  const va = v128.load(qp), wa = v128.load(qp, 48);
  u = two(u, v128.and(va, m), v128.and(wa, m), xp, d0);
  v128.store(SINK, u);
  const vb = v128.load(qp, 16), wb = v128.load(qp, 64);
  u = two(u, v128.and(vb, m), v128.and(wb, m), xp + 32, d1);
  v128.store(SINK, u);
  const vc = v128.load(qp, 32), wc = v128.load(qp, 80);
  u = two(u, v128.and(vc, m), v128.and(wc, m), xp + 64, d2);
  v128.store(SINK, u);
  const ev = i16x8.shr_u(v128.or(i16x8.shr_u(v128.or(i16x8.shr_u(v128.andnot(va, m), 2), v128.andnot(vb, m)), 2), v128.andnot(vc, m)), 2);
  const ew = i16x8.shr_u(v128.or(i16x8.shr_u(v128.or(i16x8.shr_u(v128.andnot(wa, m), 2), v128.andnot(wb, m)), 2), v128.andnot(wc, m)), 2);
  u = two(u, ev, ew, xp + 96, d3);
  v128.store(SINK, u);
  return u;
}

/** A half-block's 8 i16 sums (sub-blocks 8h + 0..7) in group order: 8h + 0, 2, 4, 6, then 8h + 1, 3, 5, 7. */
@inline function byGroup(v: v128): v128 {
  return i8x16.shuffle(v, v, 0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
}

/** Row r's i16 scales of two sub-blocks (s, t: one sub-block's four in lanes 0-3 each) in lanes 2r, 2r + 1. */
@inline function zip(s: v128, t: v128): v128 {
  return i8x16.shuffle(s, t, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
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
    v128.store(e, byGroup(i16x8.shl(i16x8.narrow_i32x4_s(v128.load(sb), v128.load(sb, 16)), 4)));
    v128.store(e, byGroup(i16x8.shl(i16x8.narrow_i32x4_s(v128.load(sb, 32), v128.load(sb, 48)), 4)), 16);
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
    const xb = x0 + b * XK_BYTES;
    const sb = s0 + b * XK_SUMS * 4;
    const c = wp + 16;
    let u = i32x4.splat(0);
    let qp = wp + 80;
    for (let h: usize = 0; h < 2; h++) {
      // g = 0: bytes l = 0..15 feed sub-blocks 8h + 0, 2, 4, 6; g = 1: l = 16..31 feed 8h + 1, 3, 5, 7.
      for (let g: usize = 0; g < 2; g++) {
        const j = (h << 3) + g;
        const sc = c + (j << 2);
        const s0 = v128.load8x8_s(sc), s1 = v128.load8x8_s(sc + 8), s2 = v128.load8x8_s(sc + 16), s3 = v128.load8x8_s(sc + 24);
        const d0 = dup(s0), d1 = dup(s1), d2 = dup(s2), d3 = dup(s3);
        // The −32 term of the group's sub-blocks j + 2k (j = 8h + g): 16·(−Σqx_j) as i16, each dot with the scales in
        // lane pairs 32·sc·(−Σqx) per row.
        if (pre) {
          // X16 in group order: the sums of sub-blocks j, j + 2 (and j + 4, j + 6) as one i32 splat, dotted with the
          // two sub-blocks' scales zipped into each row's lane pair (16·sc·(−Σqx) for each, doubled once): one dot
          // per two sub-blocks.
          const e = X16 + (b << 5) + (h << 4) + (g << 3);
          const t = i32x4.add(i32x4.dot_i16x8_s(zip(s0, s1), v128.load32_splat(e)), i32x4.dot_i16x8_s(zip(s2, s3), v128.load32_splat(e, 4)));
          u = i32x4.add(u, i32x4.shl(t, 1));
        } else {
          // The i32 sums' low halves (|Σqx| ≤ 16·127), times 16 (measured about as fast as the −32 term built
          // per block from pairs of sub-blocks; used where X16 is not written: wide matrices, tokens past the tiles).
          const e = sb + (j << 2);
          const n0 = i16x8.shl(v128.load16_splat(e), 4);
          const n1 = i16x8.shl(v128.load16_splat(e, 8), 4);
          const n2 = i16x8.shl(v128.load16_splat(e, 16), 4);
          const n3 = i16x8.shl(v128.load16_splat(e, 24), 4);
          u = i32x4.add(u, i32x4.add(i32x4.add(i32x4.dot_i16x8_s(d0, n0), i32x4.dot_i16x8_s(d1, n1)), i32x4.add(i32x4.dot_i16x8_s(d2, n2), i32x4.dot_i16x8_s(d3, n3))));
        }
        const xp = xb + (h << 7) + (g << 4);
        // The group's two step pairs written out: 0.95–0.96x the time of a loop over them (Node); the groups
        // written out as well measured the same as these loops.
        u = stepPair(u, qp, xp, m, d0, d1, d2, d3);
        u = stepPair(u, qp + 96, xp + 8, m, d0, d1, d2, d3);
        qp += 192;
      }
    }
    acc = madd(f32x4.convert_i32x4_s(u), f32x4.mul(v128.load(wp), v128.load32_splat(dp + (b << 2))), acc);
    wp += PB;
  }
  storeRows4(o, acc, r, rows);
}
