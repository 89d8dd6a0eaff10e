// Attention straight off an f16 or q8_0 KV cache: keys, then values, decoded a run of positions at a time into an L1-sized buffer.
import { dot4, dotf } from "./common";
import { dot4x2, softmaxWeights, weightedSum } from "./attention-steps";
import { decodeRows } from "./kv-convert";

/** The buffer a run of positions of one KV head is decoded into: 16 KiB stays in L1 beside the query and the scores. */
const RUN_BYTES: i32 = 16384;
const RUN: usize = memory.data(RUN_BYTES, 16);

/** Positions per run for a head of headDim floats: a multiple of 4 (the kernel's key blocks), at least 4 up to headDim 1024. */
@inline function runPositions(headDim: i32): i32 {
  return (RUN_BYTES / (headDim << 2)) & ~3;
}

/**
 * attendGroup (attention.ts) for the group's query heads on one KV head of a typed cache, for nT consecutive
 * tokens at once (token i at q0 + i·qRowBytes sees nPos0 + i positions): the keys at kg, kg + srcStride, ... decoded
 * run by run, each run dotted with every token as attendGroup dots f32 keys (four-key blocks up to that token's
 * nPos & ~3, then single keys); each token's softmax (f16-rounded weights on an f16 cache); then the values decoded run
 * by run and summed into each token's outputs. Every score, weight and output takes the same operations in the same
 * order as attendGroup on the decoded layer: the same bits. Scores: token i's group rows at scores + i·tokBytes.
 */
@inline function attendTypedTile(o0: usize, q0: usize, qRowBytes: usize, kg: usize, vg: usize, scores: usize, rowBytes: usize, tokBytes: usize, group: i32, headDim: i32, srcStride: usize, nPos0: i32, nT: i32, type: i32): void {
  const hBytes = <usize>headDim << 2;
  const scale = <f32>(1.0 / Math.sqrt(<f64>headDim));
  const vscale = f32x4.splat(scale);
  const run = runPositions(headDim);
  if (run < 4) unreachable();
  const nAll = nPos0 + nT - 1;
  for (let c0 = 0; c0 < nAll; c0 += run) {
    const end = min(c0 + run, nAll);
    decodeRows(RUN, hBytes, kg + <usize>c0 * srcStride, srcStride, end - c0, headDim, type);
    for (let i = 0; i < nT; i++) {
      const nPos = nPos0 + i;
      const e = min(end, nPos);
      const nBlk = (headDim & 3) == 0 ? nPos & ~3 : 0;
      const sc = scores + <usize>i * tokBytes, q = q0 + <usize>i * qRowBytes;
      let p = c0;
      for (; p + 4 <= min(e, nBlk); p += 4) {
        const kp = RUN + <usize>(p - c0) * hBytes;
        let j = 0;
        for (; j + 2 <= group; j += 2) dot4x2(sc + <usize>j * rowBytes + (<usize>p << 2), rowBytes, q + <usize>j * hBytes, hBytes, kp, hBytes, headDim, vscale);
        for (; j < group; j++) v128.store(sc + <usize>j * rowBytes + (<usize>p << 2), f32x4.mul(dot4(q + <usize>j * hBytes, kp, hBytes, headDim), vscale));
      }
      for (; p < e; p++) {
        const kp = RUN + <usize>(p - c0) * hBytes;
        for (let j = 0; j < group; j++) store<f32>(sc + <usize>j * rowBytes + (<usize>p << 2), dotf(q + <usize>j * hBytes, kp, headDim) * scale);
      }
    }
  }
  for (let i = 0; i < nT; i++) softmaxWeights(scores + <usize>i * tokBytes, rowBytes, group, nPos0 + i, type == 1);
  for (let c0 = 0; c0 < nAll; c0 += run) {
    const end = min(c0 + run, nAll);
    decodeRows(RUN, hBytes, vg + <usize>c0 * srcStride, srcStride, end - c0, headDim, type);
    for (let i = 0; i < nT; i++) {
      const e = min(end, nPos0 + i);
      if (e > c0) weightedSum(o0 + <usize>i * qRowBytes, hBytes, scores + <usize>i * tokBytes + (<usize>c0 << 2), rowBytes, group, RUN, hBytes, e - c0, headDim, c0 > 0);
    }
  }
}

/**
 * attention (attention.ts) on one layer of an f16 (type 1) or q8_0 (type 2) cache: k and v are its stored rows,
 * rowBytes apart ([nCtx][nKvHeads × headDim] as f16 or q8_0 blocks); q is the query as the K type's dot takes it
 * (f16-rounded, or q8_0 and back). No f32 copy of the cache: each run of positions is decoded into a 16 KiB buffer
 * as it is used, once per `tile` tokens (tile ≥ 1). headDim ≤ 1024 (and % 32 = 0 for q8_0); scores: min(nTokens,
 * tile) × (nHeads / nKvHeads) × (pos0 + nTokens) floats.
 */
export function attention_typed(out: usize, q: usize, k: usize, v: usize, scores: usize, pos0: i32, nTokens: i32, nHeads: i32, nKvHeads: i32, headDim: i32, rowBytes: i32, type: i32, tile: i32): void {
  const group = nHeads / nKvHeads;
  const qRow = (<usize>nHeads * <usize>headDim) << 2;
  const headBytes: usize = type == 1 ? <usize>headDim << 1 : <usize>(headDim >> 5) * 34;
  const srows = <usize>(pos0 + nTokens) << 2;
  if (tile < 1) unreachable();
  for (let t0 = 0; t0 < nTokens; t0 += tile) {
    const nT = min(tile, nTokens - t0);
    for (let g = 0; g < nKvHeads; g++) {
      const at = <usize>t0 * qRow + ((<usize>g * <usize>group * <usize>headDim) << 2);
      attendTypedTile(out + at, q + at, qRow, k + <usize>g * headBytes, v + <usize>g * headBytes, scores, srows, <usize>group * srows, group, headDim, <usize>rowBytes, pos0 + t0 + 1, nT, type);
    }
  }
}
