// Row-wise and elementwise ops: rmsnorm, softmax, swiglu, add, byte copies.
import { expf4 } from "./common";

/** The two f64x2 halves of four f32 lanes (hi = 1: lanes 2, 3). */
@inline function f64half(v: v128, hi: bool): v128 {
  return f64x2.promote_low_f32x4(hi ? i32x4.shuffle(v, v, 2, 3, 0, 1) : v);
}

/** The four f64 lanes of two sums (of lanes 0, 1 and of lanes 2, 3) added up. */
@inline function f64sum(s0: v128, s1: v128): f64 {
  return f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s1, 0) + (f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 1));
}

/**
 * out[t, :] = x[t, :] / sqrt(mean(x²) + eps) * w, bit for bit as ggml's rms_norm + mul (and the ref backend): the
 * squares are f32 products summed in f64 (ggml_float), mean and 1/sqrtf(mean + eps) are f32, y = (x·scale)·w in f32.
 * The output feeds the matmuls' activation quantization, where one ulp can move a value across a rounding boundary.
 * (The f64 sum runs in two lanes, not in ggml's order: sums of ≤ 2^29 f32 squares are exact in f64 to far below
 * the f32 rounding of the mean.)
 */
export function rmsnorm(out: usize, x: usize, w: usize, dim: i32, nTokens: i32, eps: f64): void {
  const n4 = dim & ~3;
  for (let t = 0; t < nTokens; t++) {
    const xr = x + ((<usize>t * <usize>dim) << 2);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const v = v128.load(xr + (<usize>i << 2));
      const sq = f32x4.mul(v, v);
      s0 = f64x2.add(s0, f64half(sq, false));
      s1 = f64x2.add(s1, f64half(sq, true));
    }
    let ss: f64 = f64sum(s0, s1);
    for (let i = n4; i < dim; i++) {
      const v = load<f32>(xr + (<usize>i << 2));
      ss += <f64>(v * v);
    }
    scaleRow(out + ((<usize>t * <usize>dim) << 2), xr, w, dim, ss, eps);
  }
}

/** The second half of an rmsnorm row: or = (xr · scale) · w with scale = 1/sqrtf(mean + eps), mean = <f32>(ss / dim). */
@inline function scaleRow(or: usize, xr: usize, w: usize, dim: i32, ss: f64, eps: f64): void {
  const n4 = dim & ~3;
  const mean = <f32>(ss / <f64>dim);
  const scale: f32 = <f32>1.0 / Mathf.sqrt(mean + <f32>eps);
  const vs = f32x4.splat(scale);
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(or + o, f32x4.mul(f32x4.mul(v128.load(xr + o), vs), v128.load(w + o)));
  }
  for (let i = n4; i < dim; i++) {
    store<f32>(or + (<usize>i << 2), load<f32>(xr + (<usize>i << 2)) * scale * load<f32>(w + (<usize>i << 2)));
  }
}

/**
 * The residual add and the next norm in one call: x[t, :] += b[t, :], then out[t, :] = rmsnorm(x[t, :]) · w, the bits
 * of add(x, x, b, nTokens·dim) followed by rmsnorm(out, x, w, dim, nTokens, eps) (the squares are summed from the
 * stored sums in the same lanes and order), one row at a time, so the norm reads each row while it is in cache.
 * out may alias x or b.
 */
export function add_rmsnorm(x: usize, b: usize, out: usize, w: usize, dim: i32, nTokens: i32, eps: f64): void {
  const n4 = dim & ~3;
  for (let t = 0; t < nTokens; t++) {
    const row = (<usize>t * <usize>dim) << 2;
    const xr = x + row, br = b + row;
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      const v = f32x4.add(v128.load(xr + o), v128.load(br + o));
      v128.store(xr + o, v);
      const sq = f32x4.mul(v, v);
      s0 = f64x2.add(s0, f64half(sq, false));
      s1 = f64x2.add(s1, f64half(sq, true));
    }
    let ss: f64 = f64sum(s0, s1);
    for (let i = n4; i < dim; i++) {
      const o = <usize>i << 2;
      const v = load<f32>(xr + o) + load<f32>(br + o);
      store<f32>(xr + o, v);
      ss += <f64>(v * v);
    }
    scaleRow(out + row, xr, w, dim, ss, eps);
  }
}

/** In-place softmax of `rows` rows of `len` floats (max-subtracted; f32 exp, f64 sum). */
export function softmax(x: usize, rows: i32, len: i32): void {
  for (let r = 0; r < rows; r++) softmaxRow(x + ((<usize>r * <usize>len) << 2), len);
}

/** One softmax row in place: vector max, vector exp (expf4) with the sum in f64 lanes, one multiply by 1/sum. */
export function softmaxRow(p: usize, len: i32): void {
  const n4 = len & ~3;
  let mv = f32x4.splat(-Infinity);
  for (let i = 0; i < n4; i += 4) mv = f32x4.max(mv, v128.load(p + (<usize>i << 2)));
  let m: f32 = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (let i = n4; i < len; i++) m = max(m, load<f32>(p + (<usize>i << 2)));
  const vm = f32x4.splat(m);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const e = expf4(f32x4.sub(v128.load(p + (<usize>i << 2)), vm));
    v128.store(p + (<usize>i << 2), e);
    s0 = f64x2.add(s0, f64half(e, false));
    s1 = f64x2.add(s1, f64half(e, true));
  }
  let sum: f64 = f64sum(s0, s1);
  for (let i = n4; i < len; i++) {
    const e = f32x4.extract_lane(expf4(f32x4.splat(load<f32>(p + (<usize>i << 2)) - m)), 0);
    store<f32>(p + (<usize>i << 2), e);
    sum += e;
  }
  const inv = f32x4.splat(<f32>(1.0 / sum));
  for (let i = 0; i < n4; i += 4) v128.store(p + (<usize>i << 2), f32x4.mul(v128.load(p + (<usize>i << 2)), inv));
  for (let i = n4; i < len; i++) store<f32>(p + (<usize>i << 2), load<f32>(p + (<usize>i << 2)) * f32x4.extract_lane(inv, 0));
}

/** out[i] = silu(g[i]) * u[i] = g / (1 + e^-g) · u, four lanes at a time (expf4). */
export function swiglu(out: usize, g: usize, u: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  // Four vectors per pass: their exp chains are independent, so each one's latency hides under the others' (one
  // vector per pass measured 1.2 to 1.4x the time in Node on 1,536 floats; the same bits).
  for (; i + 16 <= n; i += 16) {
    const o = <usize>i << 2;
    const g0 = v128.load(g + o), g1 = v128.load(g + o, 16), g2 = v128.load(g + o, 32), g3 = v128.load(g + o, 48);
    const e0 = expf4(f32x4.neg(g0)), e1 = expf4(f32x4.neg(g1)), e2 = expf4(f32x4.neg(g2)), e3 = expf4(f32x4.neg(g3));
    v128.store(out + o, f32x4.mul(f32x4.div(g0, f32x4.add(one, e0)), v128.load(u + o)));
    v128.store(out + o, f32x4.mul(f32x4.div(g1, f32x4.add(one, e1)), v128.load(u + o, 16)), 16);
    v128.store(out + o, f32x4.mul(f32x4.div(g2, f32x4.add(one, e2)), v128.load(u + o, 32)), 32);
    v128.store(out + o, f32x4.mul(f32x4.div(g3, f32x4.add(one, e3)), v128.load(u + o, 48)), 48);
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const gv = v128.load(g + o);
    v128.store(out + o, f32x4.mul(f32x4.div(gv, f32x4.add(one, expf4(f32x4.neg(gv)))), v128.load(u + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    store<f32>(out + o, (gi / (<f32>1.0 + f32x4.extract_lane(expf4(f32x4.splat(-gi)), 0))) * load<f32>(u + o));
  }
}

/** out[i] = a[i] + b[i] (out may alias a or b). */
export function add(out: usize, a: usize, b: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** In place: x[t, j] += bias[j] for nTokens rows of len floats (the projection biases of qwen2). */
export function add_bias(x: usize, bias: usize, nTokens: i32, len: i32): void {
  for (let t = 0; t < nTokens; t++) add(x + ((<usize>t * <usize>len) << 2), x + ((<usize>t * <usize>len) << 2), bias, len);
}

/** memmove of n bytes (overlap-safe). */
export function copy_bytes(dst: usize, src: usize, n: usize): void {
  memory.copy(dst, src, n);
}

/** Zeroes n bytes. */
export function fill_zero(dst: usize, n: usize): void {
  memory.fill(dst, 0, n);
}
