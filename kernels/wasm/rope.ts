// RoPE, llama "NORM" mode: rotates adjacent pairs (2i, 2i+1) of each head; angles in f64 like the ref backend.

/** In place over x[t, h, :] (nTokens × nHeads × headDim floats), position pos0 + t. */
export function rope(x: usize, nTokens: i32, pos0: i32, nHeads: i32, headDim: i32, ropeDims: i32, freqBase: f64, freqScale: f64): void {
  const rowLen = <usize>nHeads * <usize>headDim;
  for (let t = 0; t < nTokens; t++) {
    const pos = <f64>(pos0 + t) * freqScale;
    const row = x + ((<usize>t * rowLen) << 2);
    for (let i = 0; i < ropeDims; i += 2) {
      // One angle per pair index, shared by every head of the token.
      const theta = pos * Math.pow(freqBase, -<f64>i / <f64>ropeDims);
      const c = Math.cos(theta);
      const s = Math.sin(theta);
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
