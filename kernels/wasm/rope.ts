// RoPE in llama's "norm" (adjacent pairs) and GPT-NeoX's "neox" (half-split pairs) layouts; angles in f64 like the ref backend.

/**
 * table[t, i] = (cos θ, sin θ) as two f64 for pair i < ropeDims/2, θ = (pos0 + t)·freqScale·freqBase^(-2i/ropeDims)
 * / factors[i] (factors: ropeDims/2 f32 divisors, llama 3's rope_freqs; 0 for none). One table serves every head,
 * and the q and k of every layer at those positions (the backend keeps it).
 */
export function rope_table(table: usize, nTokens: i32, pos0: i32, ropeDims: i32, freqBase: f64, freqScale: f64, factors: usize): void {
  const half = ropeDims >> 1;
  for (let t = 0; t < nTokens; t++) {
    const pos = <f64>(pos0 + t) * freqScale;
    const row = table + ((<usize>t * <usize>half) << 4);
    for (let i = 0; i < half; i++) {
      let theta = pos * Math.pow(freqBase, -<f64>(2 * i) / <f64>ropeDims);
      if (factors != 0) theta /= <f64>load<f32>(factors + (<usize>i << 2));
      store<f64>(row + (<usize>i << 4), Math.cos(theta));
      store<f64>(row + (<usize>i << 4), Math.sin(theta), 8);
    }
  }
}

/**
 * In place over x[t, h, :] (nTokens × nHeads × headDim floats), with the angles of rope_table. Pair i is
 * (2i, 2i+1) when neox is 0 and (i, i + ropeDims/2) when it is 1.
 */
export function rope(x: usize, table: usize, nTokens: i32, nHeads: i32, headDim: i32, ropeDims: i32, neox: i32): void {
  const rowLen = <usize>nHeads * <usize>headDim;
  const half = ropeDims >> 1;
  // Byte offsets of the pair's two elements from the head start: (8i, 8i+4) or (4i, 4i + 2·ropeDims).
  const step: usize = neox ? 4 : 8;
  const second: usize = neox ? <usize>half << 2 : 4;
  for (let t = 0; t < nTokens; t++) {
    const row = x + ((<usize>t * rowLen) << 2);
    const tr = table + ((<usize>t * <usize>half) << 4);
    for (let i = 0; i < half; i++) {
      const c = load<f64>(tr + (<usize>i << 4));
      const s = load<f64>(tr + (<usize>i << 4), 8);
      for (let h = 0; h < nHeads; h++) {
        const p = row + ((<usize>h * <usize>headDim) << 2) + <usize>i * step;
        const a = <f64>load<f32>(p);
        const b = <f64>load<f32>(p + second);
        store<f32>(p, <f32>(a * c - b * s));
        store<f32>(p + second, <f32>(a * s + b * c));
      }
    }
  }
}
