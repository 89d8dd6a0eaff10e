// The f32 attention kernel's stages as separate exports (kernels/wasm/attention.ts's own helpers), for kernels/bench/attention.mjs.
import { dot4, dotf } from "../wasm/common";
import { dot4x2, softmaxWeights, weightedSum } from "../wasm/attention-steps";

export function heap_base(): usize {
  return __heap_base;
}

/** attendGroup's scores (keys at kp, rows stride bytes apart) for group heads at q into rows rowBytes apart at scores. */
export function scores_only(scores: usize, q: usize, kp: usize, nPos: i32, group: i32, headDim: i32, rowBytes: i32, stride: usize): void {
  const hBytes = <usize>headDim << 2;
  const scale = <f32>(1.0 / Math.sqrt(<f64>headDim));
  const vscale = f32x4.splat(scale);
  const rb = <usize>rowBytes;
  let p = 0;
  for (; p + 4 <= nPos; p += 4) {
    const k = kp + <usize>p * stride;
    let j = 0;
    for (; j + 2 <= group; j += 2) dot4x2(scores + <usize>j * rb + (<usize>p << 2), rb, q + <usize>j * hBytes, hBytes, k, stride, headDim, vscale);
    for (; j < group; j++) v128.store(scores + <usize>j * rb + (<usize>p << 2), f32x4.mul(dot4(q + <usize>j * hBytes, k, stride, headDim), vscale));
  }
  for (; p < nPos; p++) {
    for (let j = 0; j < group; j++) store<f32>(scores + <usize>j * rb + (<usize>p << 2), dotf(q + <usize>j * hBytes, kp + <usize>p * stride, headDim) * scale);
  }
}

/** attendGroup's softmax of the group's rows, with (f16) their rounding. */
export function softmax_only(scores: usize, nPos: i32, group: i32, rowBytes: i32, f16: i32): void {
  softmaxWeights(scores, <usize>rowBytes, group, nPos, f16 != 0);
}

/** attendGroup's weighted sum of the values at vp (rows stride bytes apart). */
export function vsum_only(out: usize, scores: usize, vp: usize, nPos: i32, group: i32, headDim: i32, rowBytes: i32, stride: usize): void {
  const hBytes = <usize>headDim << 2;
  weightedSum(out, hBytes, scores, <usize>rowBytes, group, vp, stride, nPos, headDim);
}
