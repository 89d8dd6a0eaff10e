// RoPE, llama "NORM" mode: rotates adjacent pairs (2i, 2i+1) of each head; angles in f64 like the ref backend.

/**
 * table[t, i/2] = (cos θ, sin θ) as two f64, θ = (pos0 + t)·freqScale·freqBase^(-i/ropeDims), for the pair indices
 * i < ropeDims: one table serves every head, and the q and k of every layer at those positions (the backend keeps it).
 */
export function rope_table(table: usize, nTokens: i32, pos0: i32, ropeDims: i32, freqBase: f64, freqScale: f64): void {
  for (let t = 0; t < nTokens; t++) {
    const pos = <f64>(pos0 + t) * freqScale;
    const row = table + ((<usize>t * <usize>ropeDims) << 3);
    for (let i = 0; i < ropeDims; i += 2) {
      const theta = pos * Math.pow(freqBase, -<f64>i / <f64>ropeDims);
      store<f64>(row + (<usize>i << 3), Math.cos(theta));
      store<f64>(row + (<usize>i << 3), Math.sin(theta), 8);
    }
  }
}

/** In place over x[t, h, :] (nTokens × nHeads × headDim floats), with the angles of rope_table. */
export function rope(x: usize, table: usize, nTokens: i32, nHeads: i32, headDim: i32, ropeDims: i32): void {
  const rowLen = <usize>nHeads * <usize>headDim;
  for (let t = 0; t < nTokens; t++) {
    const row = x + ((<usize>t * rowLen) << 2);
    const tr = table + ((<usize>t * <usize>ropeDims) << 3);
    for (let i = 0; i < ropeDims; i += 2) {
      const c = load<f64>(tr + (<usize>i << 3));
      const s = load<f64>(tr + (<usize>i << 3), 8);
      for (let h = 0; h < nHeads; h++) {
        const p = row + ((<usize>h * <usize>headDim + <usize>i) << 2);
        const a = <f64>load<f32>(p);
        const b = <f64>load<f32>(p, 4);
        store<f32>(p, <f32>(a * c - b * s));
        store<f32>(p, <f32>(a * s + b * c), 4);
      }
    }
  }
}
