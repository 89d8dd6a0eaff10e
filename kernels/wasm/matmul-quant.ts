// Q8_0 / Q4_0 weights × Q8_0-quantized activations: 4-row panels dotted in integers per 32-block, scaled once per block.
import { SINK, madd } from "./common";
import { f16x4At } from "./kquant-common";

// Weight layout (repack.ts, panelByteOffset): rows in panels of four (the last one padded with zero rows). Per panel and
// 32-block, vector j (16 bytes) holds quant bytes 4j..4j+3 of all four rows: Q8_0 has 8 such vectors (element k is
// byte k), Q4_0 has 4 (byte k holds element k in its low nibble, k + 16 in its high one). Within a vector, each row's
// 4 bytes stay together where relaxed_dot (which sums 4 adjacent i8 products) does the dots: Q4_0 on the relaxed build;
// elsewhere each row's 2-byte pairs do, for dot_i16x8 (which sums 2 adjacent i16 products after widening). Either way
// one integer dot step puts the four rows' sums in the four lanes: no horizontal sums, and one convert and one
// multiply-add per block serve four rows. Block scales, the panel's four rows per panel-block: Q4_0 as four f32 (one
// v128), Q8_0 as the file's four f16 (8 bytes, widened per block), so a Q8_0 matrix (a tied embedding) stays at file size.
// Relaxed Q8_0 widens to i16 like SIMD128: relaxed_dot wants a 7-bit operand, and moving the weights' signs onto the
// activations costs more than the i16 dots do.
// Activations (quantize_q8_0): per 32-block the quants as i8 (relaxed only) and as i16; per block f32 d and i32 -Σq.
// Loops advance pointers and every constant offset is a load immediate.

/** Activation bytes per block, and where its i16 quants start. */
const XB: usize = ASC_FEATURE_RELAXED_SIMD ? 96 : 64;
const X16: usize = ASC_FEATURE_RELAXED_SIMD ? 32 : 0;

/** Marker types for the weight format: Q8 → Q8_0, Q4 → Q4_0 (resolved at compile time). */
class Q8 {}
class Q4 {}

/** Whether T's dots are relaxed_dot on i8 activations (relaxed Q4_0) rather than dot_i16x8 on widened quants. */
@inline function i8dot<T>(): bool {
  return ASC_FEATURE_RELAXED_SIMD && idof<T>() == idof<Q4>();
}

/**
 * Operand k of weight vector j's half h (h = 0: elements 4j..4j+3, 1: elements 16+4j..) of the panel-block at wp
 * (already advanced by 16·j), prepared once for every token of a tile. For relaxed_dot (k unused): the 16 Q4_0
 * nibbles, raw 0..15. Otherwise the k-th 8 bytes widened to i16: Q8_0 quants sign-extended; Q4_0 bytes zero-extended
 * as they load (v128.load8x8_u), their nibbles then split with i16 lane ops (x86 has no byte shift). Q4_0's offset of
 * 8 goes into the accumulator's start either way.
 */
@inline function operand<T>(wp: usize, h: bool, k: i32): v128 {
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
@inline function step<T>(acc: v128, p0: v128, p1: v128, xp: usize, h: bool): v128 {
  if (i8dot<T>()) return i16x8.add(acc, i16x8.relaxed_dot_i8x16_i7x16_s(h ? v128.load32_splat(xp, 16) : v128.load32_splat(xp), p0));
  const x0 = h ? v128.load32_splat(xp, 32) : v128.load32_splat(xp);
  const x1 = h ? v128.load32_splat(xp, 36) : v128.load32_splat(xp, 4);
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(p0, x0), i32x4.dot_i16x8_s(p1, x1)));
}

/** Start of a block's integer accumulator: Q4_0 dots the unsigned nibbles, Σx(n-8) = Σxn - 8Σx (ns = -Σq). */
@inline function start<T>(sp: usize): v128 {
  if (idof<T>() == idof<Q8>()) return i32x4.splat(0);
  return i32x4.shl(v128.load32_splat(sp), 3);
}

/** A block's accumulator before its first step: the i32 start, or (relaxed_dot) i16 zeros. */
@inline function init<T>(sp: usize): v128 {
  return i8dot<T>() ? i32x4.splat(0) : start<T>(sp);
}

/** A block's four i32 row sums from its accumulator: relaxed_dot's i16 lane pairs added, then the start. */
@inline function finish<T>(acc: v128, sp: usize): v128 {
  return i8dot<T>() ? i32x4.add(i32x4.extadd_pairwise_i16x8_s(acc), start<T>(sp)) : acc;
}

/** The four rows' scales of panel-block b of the panel whose scales start at dpan (see the layout above). */
@inline function scales<T>(dpan: usize, b: i32): v128 {
  return idof<T>() == idof<Q8>() ? f16x4At(dpan + (<usize>b << 3)) : v128.load(dpan + (<usize>b << 4));
}

/**
 * Decode: one 32-block's four i32 row sums (with Q4_0's start) from the panel-block at wp, the token's activations at
 * xp (i8 quants for relaxed_dot, else i16) and its -Σq at sp. The block's steps written out with immediate offsets:
 * a loop of four short iterations spent a third of its instructions on its counters.
 */
@inline function blockSum<T>(wp: usize, xp: usize, sp: usize): v128 {
  if (i8dot<T>()) return blockQ4Relaxed(wp, xp, sp);
  if (idof<T>() == idof<Q4>()) return blockQ4Wide(wp, xp, sp);
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

/** blockSum of relaxed Q4_0: i16 sums of the low and high nibbles (≤ 4·2·15·127 each, exact), widened once. */
@inline function blockQ4Relaxed(wp: usize, xp: usize, sp: usize): v128 {
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

/** blockSum of SIMD128 Q4_0: the nibbles of each 8 bytes split in i16 lanes, as operand() does. */
@inline function blockQ4Wide(wp: usize, xp: usize, sp: usize): v128 {
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


/** Stores the four rows r0..r0+3 of one token's outputs at o, only those below `rows` in the last panel. */
@inline function storeRows(o: usize, v: v128, r0: i32, rows: i32): void {
  if (r0 + 4 <= rows) {
    v128.store(o, v);
    return;
  }
  store<f32>(o, f32x4.extract_lane(v, 0));
  if (r0 + 1 < rows) store<f32>(o, f32x4.extract_lane(v, 1), 4);
  if (r0 + 2 < rows) store<f32>(o, f32x4.extract_lane(v, 2), 8);
}

/** out[t, r] = Σ_c w[r, c] x[t, c] in T's format, four rows (one panel) at a time. */
@inline function matmulQ<T>(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  const nb = cols >> 5;
  const PB: usize = idof<T>() == idof<Q8>() ? 128 : 64; // weight bytes per panel-block
  const XG: usize = i8dot<T>() ? 4 : 8; // activation bytes per 4-element group
  const xBase = xq + (i8dot<T>() ? 0 : X16);
  const xRow = <usize>nb * XB; // activation bytes per token
  const sRow = <usize>nb << 2; // d (and -Σq) bytes per token
  const oRow = <usize>rows << 2;
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r += 4) {
    const wpan = wq + (<usize>r >> 2) * <usize>nb * PB;
    const dpan = wd + (<usize>r >> 2) * sRow * (idof<T>() == idof<Q8>() ? 2 : 4); // per panel: nb × 4 scales
    let t = 0;
    // Tiles of four tokens (prefill): each weight vector is loaded and prepared once for all four.
    for (; t + 4 <= nTokens; t += 4) {
      let x0 = xBase + <usize>t * xRow;
      const d0 = xd + <usize>t * sRow;
      const s0 = xs + <usize>t * sRow;
      let wp = wpan;
      let o0 = zero, o1 = zero, o2 = zero, o3 = zero;
      for (let b = 0; b < nb; b++) {
        const so = <usize>b << 2;
        let a0 = init<T>(s0 + so), a1 = init<T>(s0 + sRow + so), a2 = init<T>(s0 + 2 * sRow + so), a3 = init<T>(s0 + 3 * sRow + so);
        let x1 = x0 + xRow, x2 = x1 + xRow, x3 = x2 + xRow;
        const xe = x0 + XG * 4;
        for (let xp = x0; xp < xe; xp += XG) {
          let p0 = operand<T>(wp, false, 0), p1 = operand<T>(wp, false, 1);
          a0 = step<T>(a0, p0, p1, xp, false);
          a1 = step<T>(a1, p0, p1, x1, false);
          a2 = step<T>(a2, p0, p1, x2, false);
          a3 = step<T>(a3, p0, p1, x3, false);
          p0 = operand<T>(wp, true, 0);
          p1 = operand<T>(wp, true, 1);
          a0 = step<T>(a0, p0, p1, xp, true);
          a1 = step<T>(a1, p0, p1, x1, true);
          a2 = step<T>(a2, p0, p1, x2, true);
          a3 = step<T>(a3, p0, p1, x3, true);
          wp += 16;
          x1 += XG;
          x2 += XG;
          x3 += XG;
        }
        wp += PB - 64;
        x0 += XB;
        const dw = scales<T>(dpan, b);
        o0 = madd(f32x4.convert_i32x4_s(finish<T>(a0, s0 + so)), f32x4.mul(dw, v128.load32_splat(d0 + so)), o0);
        o1 = madd(f32x4.convert_i32x4_s(finish<T>(a1, s0 + sRow + so)), f32x4.mul(dw, v128.load32_splat(d0 + sRow + so)), o1);
        o2 = madd(f32x4.convert_i32x4_s(finish<T>(a2, s0 + 2 * sRow + so)), f32x4.mul(dw, v128.load32_splat(d0 + 2 * sRow + so)), o2);
        o3 = madd(f32x4.convert_i32x4_s(finish<T>(a3, s0 + 3 * sRow + so)), f32x4.mul(dw, v128.load32_splat(d0 + 3 * sRow + so)), o3);
      }
      const o = out + ((<usize>t * <usize>rows + <usize>r) << 2);
      storeRows(o, o0, r, rows);
      storeRows(o + oRow, o1, r, rows);
      storeRows(o + 2 * oRow, o2, r, rows);
      storeRows(o + 3 * oRow, o3, r, rows);
    }
    // Remaining tokens (all of decode) one at a time.
    for (; t < nTokens; t++) {
      let xp = xBase + <usize>t * xRow;
      let dp = xd + <usize>t * sRow;
      let sp = xs + <usize>t * sRow;
      let wp = wpan, sc = dpan;
      let o0 = zero;
      for (let b = 0; b < nb; b++) {
        const dw = idof<T>() == idof<Q8>() ? f16x4At(sc) : v128.load(sc);
        o0 = madd(f32x4.convert_i32x4_s(blockSum<T>(wp, xp, sp)), f32x4.mul(dw, v128.load32_splat(dp)), o0);
        wp += PB;
        xp += XB;
        sp += 4;
        dp += 4;
        sc += idof<T>() == idof<Q8>() ? 8 : 16;
      }
      storeRows(out + ((<usize>t * <usize>rows + <usize>r) << 2), o0, r, rows);
    }
  }
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q8_0 weights; x already quantized by quantize_q8_0 into (xq, xd, xs). */
export function matmul_q8_0(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ<Q8>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
}

/** The same for Q4_0 weights. */
export function matmul_q4_0(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ<Q4>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
}
