// Relaxed Q6_K decode in the i16 form (engines that do not fuse i32 dot-adds: Node 22), one 4-row panel, one token.
import { SINK, madd } from "./common";
import { XK_BYTES, XK_SUMS, storeRows4 } from "./kquant-common";
import { PB } from "./q6k-values";

// Layout: q6k-values.ts. Σ_r w·x per block = dx·d·Σ_j sc_j·(Σ q·qx − 32·Σ qx) splits into Σ_j sc_j·Σ q·qx and the
// block's −32 term 32·Σ_j sc_j·(−Σqx_j) (as ggml's one madd of scales and block sums): with the −32 start out of the
// sub-block sums, each pair of i16 steps settles and scales in one i32x4.dot_i16x8_s against the sub-block's scales
// duplicated into lane pairs (as the Q4_K/Q5_K decode does: |lane| ≤ 4·63·127 = 32004, exact), into a single i32 sum
// per block. That drops per sub-block the i32 multiply (pmulld), the scale widening, the −32 start's shift and its
// sum's broadcast; the −32 term costs 8 i32x4.dot_i16x8_s per block, on sums narrowed to i16 (|Σqx| ≤ 16·127) and
// scales paired per row by a shuffle. |32·Σ_j sc_j·Σqx_j| ≤ 32·16·128·2032 and |Σ_j sc_j·Σ q·qx| ≤ 16·128·128016:
// exact in i32, so each row's block sum is the one-panel fused decode's (matmul-q6k.ts) and the two f32 steps per
// block follow in the same order: the same bits.

/** The four i8 scales at c (one per row) as i16 lane pairs: row r's scale in lanes 2r and 2r + 1. */
@inline function dup(c: usize): v128 {
  const s = v128.load8x8_s(c);
  return i8x16.shuffle(s, s, 0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7);
}

/** i16 sums of two steps' dots (value vectors e0, e1 with the activations at x and x + 4), settled and scaled by d. */
@inline function two(u: v128, e0: v128, e1: v128, x: usize, d: v128): v128 {
  const a = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x), e0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x, 4), e1));
  return i32x4.add(u, i32x4.dot_i16x8_s(a, d));
}

/** Row r's Σ over sub-blocks 2p, 2p + 1 of scale·(−Σqx): the scales at c (8 i8: [sub-block][row]) against i16 pair n. */
@inline function offsetPair(c: usize, n: v128): v128 {
  const s = v128.load8x8_s(c);
  return i32x4.dot_i16x8_s(i8x16.shuffle(s, s, 0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15), n);
}

/** i32 lane p of n in every lane. */
@inline function lane(n: v128, p: i32): v128 {
  if (p == 0) return i8x16.shuffle(n, n, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
  if (p == 1) return i8x16.shuffle(n, n, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);
  if (p == 2) return i8x16.shuffle(n, n, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11);
  return i8x16.shuffle(n, n, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15);
}

/** One token's outputs of the panel at wpan (rows r..r+3) into o: activations at x0 (quants), s0 (sums), dp (scales). */
@inline export function decodeI16(o: usize, wpan: usize, x0: usize, s0: usize, dp: usize, nb: usize, r: i32, rows: i32): void {
  const m = i8x16.splat(0x3f);
  let acc = f32x4.splat(0);
  let wp = wpan;
  for (let b: usize = 0; b < nb; b++) {
    const xb = x0 + b * XK_BYTES;
    const sb = s0 + b * XK_SUMS * 4;
    // The −32 term: the 16 sub-block sums −Σqx as i16 (sub-blocks 2p, 2p + 1 in i32 lane p of n0 or n1).
    const n0 = i16x8.narrow_i32x4_s(v128.load(sb), v128.load(sb, 16));
    const n1 = i16x8.narrow_i32x4_s(v128.load(sb, 32), v128.load(sb, 48));
    const c = wp + 16;
    let t = i32x4.add(offsetPair(c, lane(n0, 0)), offsetPair(c + 8, lane(n0, 1)));
    t = i32x4.add(t, i32x4.add(offsetPair(c + 16, lane(n0, 2)), offsetPair(c + 24, lane(n0, 3))));
    t = i32x4.add(t, i32x4.add(offsetPair(c + 32, lane(n1, 0)), offsetPair(c + 40, lane(n1, 1))));
    t = i32x4.add(t, i32x4.add(offsetPair(c + 48, lane(n1, 2)), offsetPair(c + 56, lane(n1, 3))));
    let u = i32x4.shl(t, 5);
    let qp = wp + 80;
    for (let h: usize = 0; h < 2; h++) {
      // g = 0: bytes l = 0..15 feed sub-blocks 8h + 0, 2, 4, 6; g = 1: l = 16..31 feed 8h + 1, 3, 5, 7.
      for (let g: usize = 0; g < 2; g++) {
        const sc = c + (((h << 3) + g) << 2);
        const d0 = dup(sc), d1 = dup(sc + 8), d2 = dup(sc + 16), d3 = dup(sc + 24);
        let xp = xb + (h << 7) + (g << 4);
        const xe = xp + 16;
        for (; xp < xe; xp += 8) {
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
          qp += 96;
        }
      }
    }
    acc = madd(f32x4.convert_i32x4_s(u), f32x4.mul(v128.load(wp), v128.load32_splat(dp + (b << 2))), acc);
    wp += PB;
  }
  storeRows4(o, acc, r, rows);
}
