// Q8_0 / Q4_0 weights × Q8_0-quantized activations: 4-row panels dotted in integers per 32-block, scaled once per block.
import { SINK, madd } from "./common";
import { f16x4At } from "./kquant-common";
import { blockQ4Fused, blockQ4Relaxed, blockQ4Wide, blockQ8 } from "./decode-legacy";
import { dot_add_fused, vnni } from "./dot-probe";
import { quads8, storeRows, tile8 } from "./prefill-block32";

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
const XB: usize = ASC_FEATURE_RELAXED_SIMD ? 96 : 64;
const X16: usize = ASC_FEATURE_RELAXED_SIMD ? 32 : 0;

/** Marker types for the weight format: Q8 → Q8_0, Q4 → Q4_0 (resolved at compile time). */
class Q8 {}
class Q4 {}
/** Relaxed Q4_0 with i32x4.relaxed_dot_i8x16_i7x16_add_s, where the engine does that in one instruction (see dot_add_fused). */
class Q4D {}
/**
 * Q8_0 prefill tiles with i32 dot-adds, only where dot_add_fused's engine probe says they are vpdpbusd: each weight
 * vector is regrouped to each row's 4 bytes together (one byte shuffle) and offset by 128 (q ^ 0x80 = q + 128, 0..255)
 * as it loads, once for every token of a tile, so it can be relaxed_dot's 7-bit (unsigned) operand; the accumulator
 * starts at 128·(−Σx) (Σ(q+128)x − 128Σx = Σqx). vpdpbusd sums u8·i8 products in i32 without saturating: a lane gets
 * at most 32 products per block, |·| ≤ 32·255·127 + 128·32·127 < 2^21, so the sums are exact and equal the i16 steps'.
 * pmaddubsw (no VNNI) saturates pairs past 32767 (2·255·127): there this form is exact only for quants ≤ 0, so it
 * never runs there (vnni(), not the tests' override). Single tokens (decode, a tile's leftovers) keep Q8's i16 steps.
 */
class Q8D {}

/** Whether T is a Q8_0 form. */
@inline function isQ8<T>(): bool {
  return idof<T>() == idof<Q8>() || idof<T>() == idof<Q8D>();
}

/** Whether T's dots are relaxed_dot on i8 activations (relaxed Q4_0) rather than dot_i16x8 on widened quants. */
@inline function i8dot<T>(): bool {
  return ASC_FEATURE_RELAXED_SIMD && (idof<T>() == idof<Q4>() || idof<T>() == idof<Q4D>() || idof<T>() == idof<Q8D>());
}

/** Whether T's steps are i32 dot-adds (no i16 lanes to widen). */
@inline function dotAdd<T>(): bool {
  return ASC_FEATURE_RELAXED_SIMD && (idof<T>() == idof<Q4D>() || idof<T>() == idof<Q8D>());
}

export { dot_add_fused, set_dot_add_fused } from "./dot-probe";

/**
 * Operand k of weight vector j's half h (h = 0: elements 4j..4j+3, 1: elements 16+4j..) of the panel-block at wp
 * (already advanced by 16·j), prepared once for every token of a tile. For relaxed_dot (k unused): the 16 Q4_0
 * nibbles, raw 0..15. Otherwise the k-th 8 bytes widened to i16: Q8_0 quants sign-extended; Q4_0 bytes zero-extended
 * as they load (v128.load8x8_u), their nibbles then split with i16 lane ops (x86 has no byte shift). Q4_0's offset of
 * 8 goes into the accumulator's start either way.
 */
@inline function operand<T>(wp: usize, h: bool, k: i32): v128 {
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
@inline function step<T>(acc: v128, p0: v128, p1: v128, xp: usize, h: bool): v128 {
  if (dotAdd<T>()) return i32x4.relaxed_dot_i8x16_i7x16_add_s(h ? v128.load32_splat(xp, 16) : v128.load32_splat(xp), p0, acc);
  if (i8dot<T>()) return i16x8.add(acc, i16x8.relaxed_dot_i8x16_i7x16_s(h ? v128.load32_splat(xp, 16) : v128.load32_splat(xp), p0));
  const x0 = h ? v128.load32_splat(xp, 32) : v128.load32_splat(xp);
  const x1 = h ? v128.load32_splat(xp, 36) : v128.load32_splat(xp, 4);
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(p0, x0), i32x4.dot_i16x8_s(p1, x1)));
}

/** Start of a block's integer accumulator: Q4_0 dots the unsigned nibbles, Σx(n-8) = Σxn - 8Σx (ns = -Σq). */
@inline function start<T>(sp: usize): v128 {
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
@inline function init<T>(sp: usize): v128 {
  return i8dot<T>() && !dotAdd<T>() ? i16x8.shl(v128.load16_splat(sp), 2) : start<T>(sp);
}

/** A block's four i32 row sums from its accumulator: relaxed_dot's i16 lane pairs added (the start is in them). */
@inline function finish<T>(acc: v128): v128 {
  return i8dot<T>() && !dotAdd<T>() ? i32x4.extadd_pairwise_i16x8_s(acc) : acc;
}

/** The four rows' scales of panel-block b of the panel whose scales start at dpan (see the layout above). */
@inline function scales<T>(dpan: usize, b: i32): v128 {
  return isQ8<T>() ? f16x4At(dpan + (<usize>b << 3)) : v128.load(dpan + (<usize>b << 4));
}

/**
 * Decode: one 32-block's four i32 row sums (with Q4_0's start) from the panel-block at wp, the token's activations at
 * xp (i8 quants for relaxed_dot, else i16) and its -Σq at sp (decode-legacy.ts: the steps written out).
 */
@inline function blockSum<T>(wp: usize, xp: usize, sp: usize): v128 {
  if (idof<T>() == idof<Q8D>()) return blockQ8(wp, xp + X16); // xp: the i8 quants; the i16 ones follow
  if (dotAdd<T>()) return blockQ4Fused(wp, xp, sp);
  if (i8dot<T>()) return blockQ4Relaxed(wp, xp, sp);
  return idof<T>() == idof<Q4>() ? blockQ4Wide(wp, xp, sp) : blockQ8(wp, xp);
}

/** out[t, r] = Σ_c w[r, c] x[t, c] in T's format, four rows (one panel) at a time. */
@inline function matmulQ<T>(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  const nb = cols >> 5;
  const PB: usize = isQ8<T>() ? 128 : 64; // weight bytes per panel-block
  const XG: usize = i8dot<T>() ? 4 : 8; // activation bytes per 4-element group
  const xBase = xq + (i8dot<T>() ? 0 : X16);
  const xRow = <usize>nb * XB; // activation bytes per token
  const sRow = <usize>nb << 2; // d (and -Σq) bytes per token
  const oRow = <usize>rows << 2;
  const zero = f32x4.splat(0);
  const nt4 = nTokens & ~3;
  for (let r = 0; r < rows; r += 4) {
    const wpan = wq + (<usize>r >> 2) * <usize>nb * PB;
    const dpan = wd + (<usize>r >> 2) * sRow * (isQ8<T>() ? 2 : 4); // per panel: nb × 4 scales
    let t = 0;
    if (dotAdd<T>()) {
      // Fused Q4_0 and Q8_0: panels r and r + 4 together (prefill-block32.ts) where both exist; each then takes its
      // leftover tokens alone below (the second panel skips the tiles, done already). The i16 form keeps one panel:
      // two measured no faster in Node.
      if (ASC_FEATURE_RELAXED_SIMD && (r & 4) == 0 && r + 4 < rows) {
        for (; t < nt4; t += 4) {
          tile8(out + <usize>t * oRow, wpan, wpan + <usize>nb * PB, dpan, dpan + sRow * (isQ8<T>() ? 2 : 4),
            xBase + <usize>t * xRow, xd + <usize>t * sRow, xs + <usize>t * sRow, nb, XB, xRow, sRow, r, rows, dotAdd<T>(), isQ8<T>());
        }
      } else if (ASC_FEATURE_RELAXED_SIMD && (r & 4) != 0) t = nt4;
    }
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
        if (idof<T>() == idof<Q8>()) {
          // Q8_0: the block's eight weight vectors (and their i16 activation pairs) are consecutive; one per iteration
          // keeps 8 broadcasts live instead of 16, which V8 otherwise spills.
          const xe = x0 + 64;
          for (let xp = x0; xp < xe; xp += 8) {
            const p0 = operand<T>(wp, false, 0), p1 = operand<T>(wp, false, 1);
            a0 = step<T>(a0, p0, p1, xp, false);
            a1 = step<T>(a1, p0, p1, x1, false);
            a2 = step<T>(a2, p0, p1, x2, false);
            a3 = step<T>(a3, p0, p1, x3, false);
            wp += 16;
            x1 += 8;
            x2 += 8;
            x3 += 8;
          }
        } else if (idof<T>() == idof<Q8D>()) {
          // Fused Q8_0: the block's eight weight vectors, each prepared once and dotted with the tokens' i8 quants.
          const xe = x0 + 32;
          for (let xp = x0; xp < xe; xp += 4) {
            const p = operand<T>(wp, false, 0);
            a0 = step<T>(a0, p, p, xp, false);
            a1 = step<T>(a1, p, p, x1, false);
            a2 = step<T>(a2, p, p, x2, false);
            a3 = step<T>(a3, p, p, x3, false);
            wp += 16;
            x1 += 4;
            x2 += 4;
            x3 += 4;
          }
        } else if (!i8dot<T>()) {
          // SIMD128 Q4_0: the low nibbles (elements 4j..) of the block's four vectors, then the high ones (16 + 4j..),
          // each pass with 8 broadcasts live (both at once spilled).
          const xe = x0 + 32;
          for (let xp = x0; xp < xe; xp += 8) {
            const p0 = operand<T>(wp, false, 0), p1 = operand<T>(wp, false, 1);
            a0 = step<T>(a0, p0, p1, xp, false);
            a1 = step<T>(a1, p0, p1, x1, false);
            a2 = step<T>(a2, p0, p1, x2, false);
            a3 = step<T>(a3, p0, p1, x3, false);
            wp += 16;
            x1 += 8;
            x2 += 8;
            x3 += 8;
          }
          wp -= 64;
          x1 -= 32;
          x2 -= 32;
          x3 -= 32;
          for (let xp = x0; xp < xe; xp += 8) {
            const p0 = operand<T>(wp, true, 0), p1 = operand<T>(wp, true, 1);
            a0 = step<T>(a0, p0, p1, xp, true);
            a1 = step<T>(a1, p0, p1, x1, true);
            a2 = step<T>(a2, p0, p1, x2, true);
            a3 = step<T>(a3, p0, p1, x3, true);
            wp += 16;
            x1 += 8;
            x2 += 8;
            x3 += 8;
          }
        } else {
          // Relaxed Q4_0: each vector's low nibbles (elements 4j..) and high ones (16 + 4j..) in turn.
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
        }
        x0 += XB; // (wp has moved PB: 128 bytes for Q8_0, 64 for Q4_0)
        const dw = scales<T>(dpan, b);
        o0 = madd(f32x4.convert_i32x4_s(finish<T>(a0)), f32x4.mul(dw, v128.load32_splat(d0 + so)), o0);
        o1 = madd(f32x4.convert_i32x4_s(finish<T>(a1)), f32x4.mul(dw, v128.load32_splat(d0 + sRow + so)), o1);
        o2 = madd(f32x4.convert_i32x4_s(finish<T>(a2)), f32x4.mul(dw, v128.load32_splat(d0 + 2 * sRow + so)), o2);
        o3 = madd(f32x4.convert_i32x4_s(finish<T>(a3)), f32x4.mul(dw, v128.load32_splat(d0 + 3 * sRow + so)), o3);
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
        const dw = isQ8<T>() ? f16x4At(sc) : v128.load(sc);
        o0 = madd(f32x4.convert_i32x4_s(blockSum<T>(wp, xp, sp)), f32x4.mul(dw, v128.load32_splat(dp)), o0);
        wp += PB;
        xp += XB;
        sp += 4;
        dp += 4;
        sc += isQ8<T>() ? 8 : 16;
      }
      storeRows(out + ((<usize>t * <usize>rows + <usize>r) << 2), o0, r, rows);
    }
  }
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q8_0 weights; x already quantized by quantize_q8_0 into (xq, xd, xs). */
export function matmul_q8_0(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  // Relaxed prefill: i32 dot-adds where the engine itself makes them vpdpbusd (see Q8D); decode keeps the i16 steps.
  if (ASC_FEATURE_RELAXED_SIMD && nTokens >= 4 && vnni()) matmul_q8_0_fused(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
  else matmulQ<Q8>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
}

/**
 * Q8_0 with the relaxed build's prefill tiles as i32 dot-adds on offset weights (Q8D): the i16 steps' bits where the
 * engine runs them as vpdpbusd, and on any engine for quants ≤ 0 (the Node tests). SIMD128: matmul_q8_0's code.
 */
export function matmul_q8_0_fused(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) matmulQ<Q8D>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
  else matmulQ<Q8>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
}

/** Q8_0 with the i16 steps whatever the engine: the reference the tests hold the fused form to. */
export function matmul_q8_0_i16(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ<Q8>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
}

/** The same for Q4_0 weights. */
export function matmul_q4_0(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  // Relaxed: i32 dot-adds where they are one instruction (prefill tiles and decode's blockQ4Fused).
  if (ASC_FEATURE_RELAXED_SIMD && dot_add_fused()) matmul_q4_0_fused(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
  else matmulQ<Q4>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
}

/**
 * Q4_0 with the relaxed build's steps (prefill tiles and decode) as i32 dot-adds: the same sums bit for bit, on any engine (exported, so
 * it stays a function of its own and the tests can run it where matmul_q4_0 would not). SIMD128: matmul_q4_0's code.
 */
export function matmul_q4_0_fused(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) matmulQ<Q4D>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
  else matmulQ<Q4>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
}

/** Q4_0 with the relaxed build's i16 steps whatever the probe says: the reference the tests hold the fused form to. */
export function matmul_q4_0_i16(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ<Q4>(out, wq, wd, xq, xd, xs, rows, cols, nTokens);
}
