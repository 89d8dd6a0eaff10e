// Row-wise and elementwise ops: rmsnorm, softmax, swiglu, add, byte copies.

/** out[t, :] = x[t, :] / sqrt(mean(x²) + eps) * w; sums and scaling in f64 like the ref backend (ggml_float). */
export function rmsnorm(out: usize, x: usize, w: usize, dim: i32, nTokens: i32, eps: f64): void {
  for (let t = 0; t < nTokens; t++) {
    const xr = x + ((<usize>t * <usize>dim) << 2);
    const or = out + ((<usize>t * <usize>dim) << 2);
    let ss: f64 = 0;
    for (let i = 0; i < dim; i++) {
      const v = <f64>load<f32>(xr + (<usize>i << 2));
      ss += v * v;
    }
    const scale = 1.0 / Math.sqrt(ss / <f64>dim + eps);
    for (let i = 0; i < dim; i++) {
      store<f32>(or + (<usize>i << 2), <f32>(<f64>load<f32>(xr + (<usize>i << 2)) * scale * <f64>load<f32>(w + (<usize>i << 2))));
    }
  }
}

/** In-place softmax of `rows` rows of `len` floats (max-subtracted; f32 exp, f64 sum). */
export function softmax(x: usize, rows: i32, len: i32): void {
  for (let r = 0; r < rows; r++) softmaxRow(x + ((<usize>r * <usize>len) << 2), len);
}

export function softmaxRow(p: usize, len: i32): void {
  let m: f32 = -Infinity;
  for (let i = 0; i < len; i++) m = max(m, load<f32>(p + (<usize>i << 2)));
  let sum: f64 = 0;
  for (let i = 0; i < len; i++) {
    const e = Mathf.exp(load<f32>(p + (<usize>i << 2)) - m);
    store<f32>(p + (<usize>i << 2), e);
    sum += e;
  }
  const inv = <f32>(1.0 / sum);
  for (let i = 0; i < len; i++) store<f32>(p + (<usize>i << 2), load<f32>(p + (<usize>i << 2)) * inv);
}

/** out[i] = silu(g[i]) * u[i]. */
export function swiglu(out: usize, g: usize, u: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    store<f32>(out + o, (gi / (<f32>1.0 + Mathf.exp(-gi))) * load<f32>(u + o));
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

/** memmove of n bytes (overlap-safe). */
export function copy_bytes(dst: usize, src: usize, n: usize): void {
  memory.copy(dst, src, n);
}

/** Zeroes n bytes. */
export function fill_zero(dst: usize, n: usize): void {
  memory.fill(dst, 0, n);
}
