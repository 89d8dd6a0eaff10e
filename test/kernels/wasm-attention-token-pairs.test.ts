// The f32 attention kernel takes a batch's consecutive tokens two at a time (attendPair, with two KV heads or more):
// every output must carry the bits of that token's own one-token call, for odd and even batches, every position count
// mod 4 (where the four-key blocks of the two tokens split differently), head sizes with and without a four-float
// tail or a 16-float slice tail, f16-rounded weights, and a first token that touches the cache.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels } from "../../src/backends/wasm/kernel-exports";
import { randomArray, seededRandom } from "./expected";
import { attendF32 } from "./attention-f32-run";

const builds = [
  ["wasm-simd128", () => kernelModules().simd128],
  ["wasm-relaxed", () => kernelModules().relaxed!],
] as const;

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

const attend = attendF32;

describe.each(builds)("%s: f32 attention, a batch's tokens two at a time", (_label, module) => {
  // [nKvHeads, group, headDim]: groups 1/2/3/8; head sizes 64 (whole 16-float slices), 48, 40 (an 8-float tail past
  // the slices), 18 (no four-float blocks at all).
  it.each([
    [6, 1, 48],
    [4, 2, 64],
    [3, 3, 64],
    [2, 8, 40],
    [2, 3, 18],
  ])("%i KV heads, group %i, headDim %i", (nKvHeads, group, headDim) => {
    const k = instantiateKernels(module());
    const nHeads = nKvHeads * group, kvDim = nKvHeads * headDim;
    let checked = 0;
    // Batches of 1..6 tokens after 0..4 cached positions: both tokens of a pair see every position count mod 4.
    for (const [nTokens, pos0, f16, touch] of [[2, 0, 0, 0], [5, 0, 0, 0], [4, 1, 0, 0], [6, 2, 1, 0], [3, 3, 0, 0], [6, 4, 0, 1], [5, 7, 1, 1], [1, 5, 0, 0]] as const) {
      const rand = seededRandom(nKvHeads * 10007 + group * 101 + headDim * 7 + nTokens * 3 + pos0);
      const nPos = pos0 + nTokens;
      const kv = randomArray(rand, nPos * kvDim, 3), vv = randomArray(rand, nPos * kvDim, 2);
      const q = randomArray(rand, nTokens * nHeads * headDim, 2);
      const batch = attend(k, q, kv, vv, nPos, nTokens, nHeads, nKvHeads, headDim, f16, touch);
      expect(batch.some((x) => x !== 0)).toBe(true);
      for (let t = 0; t < nTokens; t++) {
        const seen = pos0 + t + 1;
        const qt = q.slice(t * nHeads * headDim, (t + 1) * nHeads * headDim);
        const one = attend(k, qt, kv.slice(0, seen * kvDim), vv.slice(0, seen * kvDim), seen, 1, nHeads, nKvHeads, headDim, f16, 0);
        expect(bits(batch.subarray(t * nHeads * headDim, (t + 1) * nHeads * headDim))).toEqual(bits(one));
        checked++;
      }
    }
    expect(checked).toBe(32);
  });
});
