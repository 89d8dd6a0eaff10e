// Attention straight off an f16 or q8_0 KV cache: keys, then values, decoded a run of positions at a time into an L1-sized buffer.
import { dot4 } from "./common";
import { dot4x2, dotf, softmaxWeights, weightedSum } from "./attention";
import { decodeRows } from "./kv-convert";

/** The buffer a run of positions of one KV head is decoded into: 16 KiB stays in L1 beside the query and the scores. */
const RUN_BYTES: i32 = 16384;
const RUN: usize = memory.data(RUN_BYTES, 16);

/** Positions per run for a head of headDim floats: a multiple of 4 (the kernel's key blocks), at least 4 up to headDim 1024. */
@inline function runPositions(headDim: i32): i32 {
  return (RUN_BYTES / (headDim << 2)) & ~3;
}

/**
 * attendGroup (attention.ts) for the group's query heads on one KV head of a typed cache: the keys at kg, kg + srcStride, ...
 * decoded run by run and dotted as attendGroup dots f32 keys (four-key blocks up to nPos & ~3, then single keys), the
 * softmax (f16-rounded weights on an f16 cache), then the values decoded run by run and summed into the outputs. Every
 * score, weight and output takes the same operations in the same order as attendGroup on the decoded layer: the same bits.
 */
@inline function attendTypedGroup(o0: usize, q0: usize, kg: usize, vg: usize, scores: usize, rowBytes: usize, group: i32, headDim: i32, srcStride: usize, nPos: i32, type: i32): void {
  const hBytes = <usize>headDim << 2;
  const scale = <f32>(1.0 / Math.sqrt(<f64>headDim));
  const vscale = f32x4.splat(scale);
  const run = runPositions(headDim);
  if (run < 4) unreachable();
  const nBlk = (headDim & 3) == 0 ? nPos & ~3 : 0;
  for (let c0 = 0; c0 < nPos; c0 += run) {
    const end = min(c0 + run, nPos);
    decodeRows(RUN, hBytes, kg + <usize>c0 * srcStride, srcStride, end - c0, headDim, type);
    let p = c0;
    for (; p + 4 <= min(end, nBlk); p += 4) {
      const kp = RUN + <usize>(p - c0) * hBytes;
      let j = 0;
      for (; j + 2 <= group; j += 2) dot4x2(scores + <usize>j * rowBytes + (<usize>p << 2), rowBytes, q0 + <usize>j * hBytes, hBytes, kp, hBytes, headDim, vscale);
      for (; j < group; j++) v128.store(scores + <usize>j * rowBytes + (<usize>p << 2), f32x4.mul(dot4(q0 + <usize>j * hBytes, kp, hBytes, headDim), vscale));
    }
    for (; p < end; p++) {
      const kp = RUN + <usize>(p - c0) * hBytes;
      for (let j = 0; j < group; j++) store<f32>(scores + <usize>j * rowBytes + (<usize>p << 2), dotf(q0 + <usize>j * hBytes, kp, headDim) * scale);
    }
  }
  softmaxWeights(scores, rowBytes, group, nPos, type == 1);
  for (let c0 = 0; c0 < nPos; c0 += run) {
    const end = min(c0 + run, nPos);
    decodeRows(RUN, hBytes, vg + <usize>c0 * srcStride, srcStride, end - c0, headDim, type);
    weightedSum(o0, hBytes, scores + (<usize>c0 << 2), rowBytes, group, RUN, hBytes, end - c0, headDim, c0 > 0);
  }
}

/**
 * attention (attention.ts) on one layer of an f16 (type 1) or q8_0 (type 2) cache: k and v are its stored rows,
 * rowBytes apart ([nCtx][nKvHeads × headDim] as f16 or q8_0 blocks); q is the query as the K type's dot takes it
 * (f16-rounded, or q8_0 and back). No f32 copy of the cache: each run of positions is decoded into a 16 KiB buffer
 * as it is used. headDim ≤ 1024 (and % 32 = 0 for q8_0); scores: (nHeads / nKvHeads) × (pos0 + nTokens) floats.
 */
export function attention_typed(out: usize, q: usize, k: usize, v: usize, scores: usize, pos0: i32, nTokens: i32, nHeads: i32, nKvHeads: i32, headDim: i32, rowBytes: i32, type: i32): void {
  const group = nHeads / nKvHeads;
  const qDim = <usize>nHeads * <usize>headDim;
  const headBytes: usize = type == 1 ? <usize>headDim << 1 : <usize>(headDim >> 5) * 34;
  const srows = <usize>(pos0 + nTokens) << 2;
  for (let t = 0; t < nTokens; t++) {
    for (let g = 0; g < nKvHeads; g++) {
      const at = (<usize>t * qDim + <usize>g * <usize>group * <usize>headDim) << 2;
      attendTypedGroup(out + at, q + at, k + <usize>g * headBytes, v + <usize>g * headBytes, scores, srows, group, headDim, <usize>rowBytes, pos0 + t + 1, type);
    }
  }
}
