// F32 and F16 weights × f32 activations (F16: activations pre-rounded to f16 by round_f16, as ggml), any row length.
import { dot4, dotf, f16ToF32, f16x4ToF32, hsum, madd } from "./common";

/** Eight consecutive f16 weights at wp as two f32x4 (k = 0: first four, k = 1: last four). */
@inline function w16(wp: usize, k: i32): v128 {
  const h = v128.load(wp);
  return f16x4ToF32(k == 0 ? i32x4.extend_low_i16x8_u(h) : i32x4.extend_high_i16x8_u(h));
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for F32 weights (rows of `cols` floats, tightly packed). */
export function matmul_f32(out: usize, w: usize, x: usize, rows: i32, cols: i32, nTokens: i32): void {
  const c4 = cols & ~3;
  const xRow = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const wr = w + <usize>r * xRow;
    let t = 0;
    // Four tokens per pass over the weight row (prefill): each weight vector is loaded once for all four.
    for (; t + 4 <= nTokens; t += 4) {
      const x0 = x + <usize>t * xRow;
      const d = dot4(wr, x0, xRow, c4);
      let s0 = f32x4.extract_lane(d, 0), s1 = f32x4.extract_lane(d, 1), s2 = f32x4.extract_lane(d, 2), s3 = f32x4.extract_lane(d, 3);
      for (let c = c4; c < cols; c++) {
        const o = <usize>c << 2;
        const wc = load<f32>(wr + o);
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
      // The single-token (decode) dot: two accumulators hide the add latency.
      store<f32>(out + ((<usize>t * <usize>rows + <usize>r) << 2), dotf(wr, x + <usize>t * xRow, cols));
    }
  }
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for F16 weights (rows of `cols` halves, tightly packed); math in f32. */
export function matmul_f16(out: usize, w: usize, x: usize, rows: i32, cols: i32, nTokens: i32): void {
  const c8 = cols & ~7;
  const xRow = <usize>cols << 2;
  const wRow = <usize>cols << 1;
  for (let r = 0; r < rows; r++) {
    const wr = w + <usize>r * wRow;
    let t = 0;
    for (; t + 4 <= nTokens; t += 4) {
      const x0 = x + <usize>t * xRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let c = 0; c < c8; c += 8) {
        const wp = wr + (<usize>c << 1);
        const o = <usize>c << 2;
        const wl = w16(wp, 0), wh = w16(wp, 1);
        a0 = madd(wh, v128.load(x0 + o, 16), madd(wl, v128.load(x0 + o), a0));
        a1 = madd(wh, v128.load(x0 + xRow + o, 16), madd(wl, v128.load(x0 + xRow + o), a1));
        a2 = madd(wh, v128.load(x0 + 2 * xRow + o, 16), madd(wl, v128.load(x0 + 2 * xRow + o), a2));
        a3 = madd(wh, v128.load(x0 + 3 * xRow + o, 16), madd(wl, v128.load(x0 + 3 * xRow + o), a3));
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (let c = c8; c < cols; c++) {
        const o = <usize>c << 2;
        const wc = f16ToF32(load<u16>(wr + (<usize>c << 1)));
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
        a0 = madd(w16(wp, 0), v128.load(x0 + o), a0);
        a1 = madd(w16(wp, 1), v128.load(x0 + o, 16), a1);
      }
      let s = hsum(f32x4.add(a0, a1));
      for (let c = c8; c < cols; c++) s += f16ToF32(load<u16>(wr + (<usize>c << 1))) * load<f32>(x0 + (<usize>c << 2));
      store<f32>(out + ((<usize>t * <usize>rows + <usize>r) << 2), s);
    }
  }
}
