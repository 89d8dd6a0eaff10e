// Causal attention over the f32 KV cache with GQA fused per KV head: the query heads sharing a KV head read it once.
import { dot4, dotf } from "./common";
import { dot4x2, weightedSum, softmaxWeights } from "./attention-steps";

/**
 * One token's attention for the query heads of one KV head (group of them, q and out rows hBytes apart): scores of
 * q·k[p] / sqrt(headDim) over the nPos keys at kg, kg + stride, ..., softmax, optionally f16-rounded weights, then
 * the weighted sum of the values at vg with the same stride.
 */
@inline function attendGroup(o0: usize, q0: usize, kg: usize, vg: usize, scores: usize, rowBytes: usize, group: i32, headDim: i32, stride: usize, nPos: i32, weightsF16: i32): void {
  const hBytes = <usize>headDim << 2;
  const scale = <f32>(1.0 / Math.sqrt(<f64>headDim));
  const vscale = f32x4.splat(scale);
  // Scores: four keys at a time, dotted with every query head of the group while they are in L1.
  let p = 0;
  if ((headDim & 3) == 0) {
    for (; p + 4 <= nPos; p += 4) {
      const kp = kg + <usize>p * stride;
      let j = 0;
      for (; j + 2 <= group; j += 2) dot4x2(scores + <usize>j * rowBytes + (<usize>p << 2), rowBytes, q0 + <usize>j * hBytes, hBytes, kp, stride, headDim, vscale);
      for (; j < group; j++) v128.store(scores + <usize>j * rowBytes + (<usize>p << 2), f32x4.mul(dot4(q0 + <usize>j * hBytes, kp, stride, headDim), vscale));
    }
  }
  for (; p < nPos; p++) {
    const kp = kg + <usize>p * stride;
    for (let j = 0; j < group; j++) store<f32>(scores + <usize>j * rowBytes + (<usize>p << 2), dotf(q0 + <usize>j * hBytes, kp, headDim) * scale);
  }
  softmaxWeights(scores, rowBytes, group, nPos, weightsF16 != 0);
  weightedSum(o0, hBytes, scores, rowBytes, group, vg, stride, nPos, headDim);
}

/**
 * attendGroup for two consecutive tokens of a batch at once (t with nPos positions, t + 1 with nPos + 1; q and out rows
 * of t + 1 are qRow bytes after t's): each four-key block both tokens score is loaded once for both (dot4x2 pairs
 * head j of t with head j of t + 1), and each 16-dim value slice once for both in the weighted sums. Scores: t's group
 * rows at scores, t + 1's group rows right after them (2·group rows). Every score, weight and output takes the
 * operations attendGroup gives it, in the same order (blocks, tails, softmax, the chain over positions): the same bits.
 */
@inline function attendPair(o0: usize, q0: usize, qRow: usize, kg: usize, vg: usize, scores: usize, rowBytes: usize, group: i32, headDim: i32, stride: usize, nPos: i32, weightsF16: i32): void {
  const hBytes = <usize>headDim << 2;
  const scale = <f32>(1.0 / Math.sqrt(<f64>headDim));
  const vscale = f32x4.splat(scale);
  const s1 = scores + <usize>group * rowBytes, q1 = q0 + qRow, o1 = o0 + qRow;
  // Positions each token scores in four-key blocks (attendGroup's split); the rest go one key at a time.
  const b0 = (headDim & 3) == 0 ? nPos & ~3 : 0, b1 = (headDim & 3) == 0 ? (nPos + 1) & ~3 : 0;
  for (let p = 0; p + 4 <= b0; p += 4) {
    const kp = kg + <usize>p * stride, sp = scores + (<usize>p << 2);
    for (let j = 0; j < group; j++) dot4x2(sp + <usize>j * rowBytes, <usize>group * rowBytes, q0 + <usize>j * hBytes, qRow, kp, stride, headDim, vscale);
  }
  for (let p = b0; p < nPos; p++) {
    const kp = kg + <usize>p * stride;
    for (let j = 0; j < group; j++) store<f32>(scores + <usize>j * rowBytes + (<usize>p << 2), dotf(q0 + <usize>j * hBytes, kp, headDim) * scale);
  }
  for (let p = b0; p + 4 <= b1; p += 4) {
    const kp = kg + <usize>p * stride;
    for (let j = 0; j < group; j++) v128.store(s1 + <usize>j * rowBytes + (<usize>p << 2), f32x4.mul(dot4(q1 + <usize>j * hBytes, kp, stride, headDim), vscale));
  }
  for (let p = b1; p < nPos + 1; p++) {
    const kp = kg + <usize>p * stride;
    for (let j = 0; j < group; j++) store<f32>(s1 + <usize>j * rowBytes + (<usize>p << 2), dotf(q1 + <usize>j * hBytes, kp, headDim) * scale);
  }
  softmaxWeights(scores, rowBytes, group, nPos, weightsF16 != 0);
  softmaxWeights(s1, rowBytes, group, nPos + 1, weightsF16 != 0);
  // A 16-dim slice at a time (a shorter last one takes weightedSum's one-float path, as in attendGroup): head j of both
  // tokens over t's positions, then t + 1's last position added to its sums (the same chain of adds).
  const vLast = vg + <usize>nPos * stride, wLast = s1 + (<usize>nPos << 2);
  for (let d = 0; d < headDim; d += 16) {
    const n = min(16, headDim - d), od = <usize>d << 2;
    for (let j = 0; j < group; j++) {
      weightedSum(o0 + <usize>j * hBytes + od, qRow, scores + <usize>j * rowBytes, <usize>group * rowBytes, 2, vg + od, stride, nPos, n);
    }
    weightedSum(o1 + od, hBytes, wLast, rowBytes, group, vLast + od, stride, 1, n, true);
  }
}

/**
 * Loads one v128 from each 64-byte line of n bytes at p, in address order, OR-ed into acc: a tight run of independent
 * loads keeps many cache misses in flight (wasm has no prefetch), so a KV chunk comes in from memory several times faster
 * than the attention's own strided loads would bring it, and those then hit the cache.
 */
@inline function touchLines(p: usize, n: usize, acc: v128): v128 {
  for (let o: usize = 0; o < n; o += 64) acc = v128.or(acc, v128.load(p + o));
  return acc;
}

/** Bytes of key (or value) rows, all KV heads, per chunk of positions: a chunk stays in L2 while every head reads it. */
const CHUNK_BYTES: usize = 65536;

/**
 * One token's attention for all query heads (q and out rows hBytes apart; head h uses KV head h / group; KV head g's
 * keys and values at k, v + g·hBytes, positions stride bytes apart) on a cache cold in memory: scores q·k[p] /
 * sqrt(headDim) into head h's row at scores + h·rowBytes, softmax (f16-rounded weights with weightsF16), then the
 * weighted sums of the values. Keys, then values, go a chunk of positions at a time for every KV head (a multiple of 4
 * positions: the four-key blocks fall where attendGroup puts them), each chunk first touched in address order. Every
 * score, weight and output takes the same operations in the same order as attendGroup: the same bits. sink: 16 bytes
 * the touches' loads are stored to.
 */
@inline function attendToken(o: usize, q: usize, k: usize, v: usize, scores: usize, rowBytes: usize, nKvHeads: i32, group: i32, headDim: i32, stride: usize, nPos: i32, weightsF16: i32, sink: usize): void {
  const hBytes = <usize>headDim << 2;
  const gBytes = <usize>group * hBytes; // q and out: between KV head groups
  const gRows = <usize>group * rowBytes; // scores: between KV head groups
  const scale = <f32>(1.0 / Math.sqrt(<f64>headDim));
  const vscale = f32x4.splat(scale);
  const chunk = <i32>max<usize>(4, (CHUNK_BYTES / stride) & ~3);
  const nBlk = (headDim & 3) == 0 ? nPos & ~3 : 0; // positions scored in four-key blocks
  let acc = v128.splat<i32>(0);
  for (let c0 = 0; c0 < nPos; c0 += chunk) {
    const c1 = min(c0 + chunk, nPos);
    acc = touchLines(k + <usize>c0 * stride, <usize>(c1 - c0) * stride, acc);
    for (let g = 0; g < nKvHeads; g++) {
      const kg = k + <usize>g * hBytes, q0 = q + <usize>g * gBytes, s0 = scores + <usize>g * gRows;
      let p = c0;
      for (; p + 4 <= min(c1, nBlk); p += 4) {
        const kp = kg + <usize>p * stride, sp = s0 + (<usize>p << 2);
        let j = 0;
        for (; j + 2 <= group; j += 2) dot4x2(sp + <usize>j * rowBytes, rowBytes, q0 + <usize>j * hBytes, hBytes, kp, stride, headDim, vscale);
        for (; j < group; j++) v128.store(sp + <usize>j * rowBytes, f32x4.mul(dot4(q0 + <usize>j * hBytes, kp, stride, headDim), vscale));
      }
      for (; p < c1; p++) {
        const kp = kg + <usize>p * stride;
        for (let j = 0; j < group; j++) store<f32>(s0 + <usize>j * rowBytes + (<usize>p << 2), dotf(q0 + <usize>j * hBytes, kp, headDim) * scale);
      }
    }
  }
  softmaxWeights(scores, rowBytes, nKvHeads * group, nPos, weightsF16 != 0);
  for (let c0 = 0; c0 < nPos; c0 += chunk) {
    const n = min(chunk, nPos - c0);
    const vr = v + <usize>c0 * stride, sc = scores + (<usize>c0 << 2);
    acc = touchLines(vr, <usize>n * stride, acc);
    for (let g = 0; g < nKvHeads; g++) {
      weightedSum(o + <usize>g * gBytes, hBytes, sc + <usize>g * gRows, rowBytes, group, vr + <usize>g * hBytes, stride, n, headDim, c0 > 0);
    }
  }
  v128.store(sink, acc);
}

/**
 * out[t, h, :] = softmax_p(q[t, h]·k[p, g] / sqrt(headDim)) · v[p, g] over p ≤ pos0 + t, with g = h / (nHeads / nKvHeads).
 * k and v are one layer's caches, [nCtx][nKvHeads][headDim]. scores: scratch of nHeads × (pos0 + nTokens) + 4 floats
 * (one token without touch: (nHeads / nKvHeads) × (pos0 + nTokens)).
 * weightsF16 ≠ 0 rounds the softmax weights to f16 before they weight V (llama.cpp's non-flash attention on an F16 cache).
 * touch ≠ 0 (a cache cold in memory: a decode step whose weights and KV outgrow the last-level cache): the first token
 * goes through attendToken, touching the layer chunk by chunk ahead of use; later tokens of a batch find it in cache
 * and take attendGroup, as every token does without touch (on a cache-resident layer each KV head's long strided
 * walk is the faster one, and touches would only add reads); with two KV heads or more, consecutive tokens of a batch
 * go two at a time (attendPair: the keys and values loaded once for both). Same bits either way.
 */
export function attention(out: usize, q: usize, k: usize, v: usize, scores: usize, pos0: i32, nTokens: i32, nHeads: i32, nKvHeads: i32, headDim: i32, weightsF16: i32, touch: i32): void {
  const group = nHeads / nKvHeads;
  const qRow = (<usize>nHeads * <usize>headDim) << 2;
  const stride = (<usize>nKvHeads * <usize>headDim) << 2; // bytes between consecutive positions of one KV head
  const rowBytes = <usize>(pos0 + nTokens) << 2;
  const sink = scores + <usize>nHeads * rowBytes;
  const hBytes = <usize>headDim << 2;
  let t = 0;
  if (nTokens > 0 && touch != 0) {
    attendToken(out, q, k, v, scores, rowBytes, nKvHeads, group, headDim, stride, pos0 + 1, weightsF16, sink);
    t = 1;
  }
  // Two tokens at a time where their 2·group score rows fit the nHeads rows of scratch (two KV heads or more).
  if (nKvHeads >= 2) {
    for (; t + 2 <= nTokens; t += 2) {
      const at = <usize>t * qRow;
      for (let g = 0; g < nKvHeads; g++) {
        const ag = at + ((<usize>g * <usize>group * <usize>headDim) << 2);
        attendPair(out + ag, q + ag, qRow, k + <usize>g * hBytes, v + <usize>g * hBytes, scores, rowBytes, group, headDim, stride, pos0 + t + 1, weightsF16);
      }
    }
  }
  for (; t < nTokens; t++) {
    const at = <usize>t * qRow;
    for (let g = 0; g < nKvHeads; g++) {
      const ag = at + ((<usize>g * <usize>group * <usize>headDim) << 2);
      attendGroup(out + ag, q + ag, k + <usize>g * hBytes, v + <usize>g * hBytes, scores, rowBytes, group, headDim, stride, pos0 + t + 1, weightsF16);
    }
  }
}
