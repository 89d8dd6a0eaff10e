// Q8_0 / Q4_0 weights × Q8_0-quantized activations: 4-row panels dotted in integers per 32-block, scaled once per block
// (the packed layout and the per-format steps: block32-steps.ts).
import { madd } from "./common";
import { f16x4At } from "./kquant-common";
import { dot_add_fused, vnni } from "./dot-probe";
import { storeRows, tile8 } from "./prefill-block32";
import { Q4, Q4D, Q8, Q8D, X16, XB, blockSum, dotAdd, finish, i8dot, init, isQ8, operand, scales, step } from "./block32-steps";

export { dot_add_fused, set_dot_add_fused } from "./dot-probe";

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
