// Causal attention over the f32 KV cache with GQA fused per KV head: the query heads sharing a KV head read it once.
import { hsum, madd } from "./common";
import { softmaxRow } from "./elementwise";

/** Σ a[d] b[d] over n floats. */
@inline function dotf(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= n; d += 4) acc = madd(v128.load(a + (<usize>d << 2)), v128.load(b + (<usize>d << 2)), acc);
  let s = hsum(acc);
  for (; d < n; d++) s += load<f32>(a + (<usize>d << 2)) * load<f32>(b + (<usize>d << 2));
  return s;
}

/** o[d] += a * v[d] over n floats. */
@inline function axpy(o: usize, a: f32, v: usize, n: i32): void {
  const va = f32x4.splat(a);
  let d = 0;
  for (; d + 4 <= n; d += 4) v128.store(o + (<usize>d << 2), madd(va, v128.load(v + (<usize>d << 2)), v128.load(o + (<usize>d << 2))));
  for (; d < n; d++) store<f32>(o + (<usize>d << 2), load<f32>(o + (<usize>d << 2)) + a * load<f32>(v + (<usize>d << 2)));
}

/**
 * out[t, h, :] = softmax_p(q[t, h]·k[p, g] / sqrt(headDim)) · v[p, g] over p ≤ pos0 + t, with g = h / (nHeads / nKvHeads).
 * k and v are one layer's caches, [nCtx][nKvHeads][headDim]. scores: scratch of (nHeads / nKvHeads) × (pos0 + nTokens) floats.
 */
export function attention(out: usize, q: usize, k: usize, v: usize, scores: usize, pos0: i32, nTokens: i32, nHeads: i32, nKvHeads: i32, headDim: i32): void {
  const group = nHeads / nKvHeads;
  const kvDim = <usize>nKvHeads * <usize>headDim;
  const qDim = <usize>nHeads * <usize>headDim;
  const hBytes = <usize>headDim << 2;
  const scale = <f32>(1.0 / Math.sqrt(<f64>headDim));
  for (let t = 0; t < nTokens; t++) {
    const nPos = pos0 + t + 1;
    const rowBytes = <usize>nPos << 2;
    for (let g = 0; g < nKvHeads; g++) {
      const q0 = q + ((<usize>t * qDim + <usize>g * <usize>group * <usize>headDim) << 2);
      const o0 = out + ((<usize>t * qDim + <usize>g * <usize>group * <usize>headDim) << 2);
      // Scores: each cached key is read once and dotted with every query head of the group.
      for (let p = 0; p < nPos; p++) {
        const kp = k + ((<usize>p * kvDim) << 2) + <usize>g * hBytes;
        for (let j = 0; j < group; j++) {
          store<f32>(scores + <usize>j * rowBytes + (<usize>p << 2), dotf(q0 + <usize>j * hBytes, kp, headDim) * scale);
        }
      }
      for (let j = 0; j < group; j++) softmaxRow(scores + <usize>j * rowBytes, nPos);
      memory.fill(o0, 0, <usize>group * hBytes);
      // Weighted sum of values: each cached value row is read once for the whole group.
      for (let p = 0; p < nPos; p++) {
        const vp = v + ((<usize>p * kvDim) << 2) + <usize>g * hBytes;
        for (let j = 0; j < group; j++) axpy(o0 + <usize>j * hBytes, load<f32>(scores + <usize>j * rowBytes + (<usize>p << 2)), vp, headDim);
      }
    }
  }
}
