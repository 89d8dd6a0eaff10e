// BF16 weights × bf16-rounded activations (as ggml feeds BF16 weights), any row length; products and sums in f32.
import { hsum, madd } from "./common";

/** Four bf16 (zero-extended u32 lanes) to f32: the bits are the top half of the f32. */
@inline function bf4(h: v128): v128 {
  return i32x4.shl(h, 16);
}

/** Eight consecutive bf16 weights at wp as two f32x4 (k = 0: first four, k = 1: last four). */
@inline function w8(wp: usize, k: i32): v128 {
  const h = v128.load(wp);
  return bf4(k == 0 ? i32x4.extend_low_i16x8_u(h) : i32x4.extend_high_i16x8_u(h));
}

/** One bf16 weight as f32. */
@inline function bf1(p: usize): f32 {
  return reinterpret<f32>(<u32>load<u16>(p) << 16);
}

/**
 * Rounds n floats from x to bf16 precision into y as ggml_fp32_to_bf16: to nearest, ties to even, on the top 16 bits
 * (NaN stays NaN).
 */
export function round_bf16(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const u = v128.load(x + (<usize>i << 2));
    const r = v128.and(i32x4.add(u, i32x4.add(i32x4.splat(0x7fff), v128.and(i32x4.shr_u(u, 16), i32x4.splat(1)))), i32x4.splat(0xffff0000));
    const nan = i32x4.gt_u(v128.and(u, i32x4.splat(0x7fffffff)), i32x4.splat(0x7f800000));
    v128.store(y + (<usize>i << 2), v128.bitselect(u, r, nan));
  }
  for (; i < n; i++) {
    const u = load<u32>(x + (<usize>i << 2));
    store<u32>(y + (<usize>i << 2), (u & 0x7fffffff) > 0x7f800000 ? u : (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000);
  }
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for BF16 weights (rows of `cols` bf16, tightly packed), x pre-rounded by round_bf16. */
export function matmul_bf16(out: usize, w: usize, x: usize, rows: i32, cols: i32, nTokens: i32): void {
  const c8 = cols & ~7;
  const xRow = <usize>cols << 2;
  const wRow = <usize>cols << 1;
  for (let r = 0; r < rows; r++) {
    const wr = w + <usize>r * wRow;
    let t = 0;
    // Four tokens per pass over the weight row (prefill): each weight vector is converted once for all four.
    for (; t + 4 <= nTokens; t += 4) {
      const x0 = x + <usize>t * xRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let c = 0; c < c8; c += 8) {
        const wp = wr + (<usize>c << 1);
        const o = <usize>c << 2;
        const wl = w8(wp, 0), wh = w8(wp, 1);
        a0 = madd(wh, v128.load(x0 + o, 16), madd(wl, v128.load(x0 + o), a0));
        a1 = madd(wh, v128.load(x0 + xRow + o, 16), madd(wl, v128.load(x0 + xRow + o), a1));
        a2 = madd(wh, v128.load(x0 + 2 * xRow + o, 16), madd(wl, v128.load(x0 + 2 * xRow + o), a2));
        a3 = madd(wh, v128.load(x0 + 3 * xRow + o, 16), madd(wl, v128.load(x0 + 3 * xRow + o), a3));
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (let c = c8; c < cols; c++) {
        const o = <usize>c << 2;
        const wc = bf1(wr + (<usize>c << 1));
        s0 += wc * load<f32>(x0 + o);
        s1 += wc * load<f32>(x0 + xRow + o);
        s2 += wc * load<f32>(x0 + 2 * xRow + o);
        s3 += wc * load<f32>(x0 + 3 * xRow + o);
      }
      const op = out + ((<usize>t * <usize>rows + <usize>r) << 2);
      const os = <usize>rows << 2;
      store<f32>(op, s0);
      store<f32>(op + os, s1);
      store<f32>(op + 2 * os, s2);
      store<f32>(op + 3 * os, s3);
    }
    for (; t < nTokens; t++) {
      const x0 = x + <usize>t * xRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      for (let c = 0; c < c8; c += 8) {
        const wp = wr + (<usize>c << 1);
        const o = <usize>c << 2;
        a0 = madd(w8(wp, 0), v128.load(x0 + o), a0);
        a1 = madd(w8(wp, 1), v128.load(x0 + o, 16), a1);
      }
      let s = hsum(f32x4.add(a0, a1));
      for (let c = c8; c < cols; c++) s += bf1(wr + (<usize>c << 1)) * load<f32>(x0 + (<usize>c << 2));
      store<f32>(out + ((<usize>t * <usize>rows + <usize>r) << 2), s);
    }
  }
}

/** out[t, :] = row tokens[t] of a BF16 table (rows of `cols` bf16). */
export function embed_bf16(out: usize, w: usize, cols: i32, tokens: usize, nTokens: i32): void {
  for (let t = 0; t < nTokens; t++) {
    const wr = w + ((<usize>load<i32>(tokens + (<usize>t << 2)) * <usize>cols) << 1);
    const o = out + ((<usize>t * <usize>cols) << 2);
    let c = 0;
    for (; c + 4 <= cols; c += 4) v128.store(o + (<usize>c << 2), bf4(i32x4.extend_low_i16x8_u(v128.load64_zero(wr + (<usize>c << 1)))));
    for (; c < cols; c++) store<f32>(o + (<usize>c << 2), bf1(wr + (<usize>c << 1)));
  }
}
