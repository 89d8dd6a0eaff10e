// The f32-cache attention kernel walks the cache a chunk of positions at a time for all KV heads at once (with touch,
// touching each chunk first on a batch's first token): every head must get the bits it gets from its KV head alone
// (one KV head of a different row stride, so different chunk bounds), a batch the bits of one-token calls (touching or
// not), and the values must be attention's (float64 reference).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";
import { COLD_WORKING_SET_BYTES, touchKv } from "../../src/backends/wasm/attention-scratch";
import { randomArray, seededRandom } from "./expected";
import { attendF32 } from "./attention-f32-run";

const builds = [
  ["wasm-simd128", () => kernelModules().simd128],
  ["wasm-relaxed", () => kernelModules().relaxed!],
] as const;

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** attendF32 without f16-rounded weights (this file's calls take touch only). */
const attend = (k: KernelExports, q: Float32Array, kv: Float32Array, vv: Float32Array, nPos: number, nTokens: number, nHeads: number, nKvHeads: number, headDim: number, touch: number) =>
  attendF32(k, q, kv, vv, nPos, nTokens, nHeads, nKvHeads, headDim, 0, touch);

/** Float64 attention of token t (at position nPos - nTokens + t), head h. */
function reference(q: Float32Array, kv: Float32Array, vv: Float32Array, nPos: number, nTokens: number, nHeads: number, nKvHeads: number, headDim: number, t: number, h: number): Float64Array {
  const g = Math.floor(h / (nHeads / nKvHeads)), kvDim = nKvHeads * headDim, seen = nPos - nTokens + t + 1;
  const s = new Float64Array(seen);
  for (let p = 0; p < seen; p++) {
    let d = 0;
    for (let i = 0; i < headDim; i++) d += q[(t * nHeads + h) * headDim + i]! * kv[p * kvDim + g * headDim + i]!;
    s[p] = d / Math.sqrt(headDim);
  }
  const m = Math.max(...s);
  let sum = 0;
  for (let p = 0; p < seen; p++) sum += (s[p] = Math.exp(s[p]! - m));
  const o = new Float64Array(headDim);
  for (let p = 0; p < seen; p++) for (let i = 0; i < headDim; i++) o[i]! += (s[p]! / sum) * vv[p * kvDim + g * headDim + i]!;
  return o;
}

describe.each(builds)("%s: f32 attention in chunks of positions over all KV heads", (_label, module) => {
  // [nKvHeads, group, headDim, nPos]: groups 1/3/8, head sizes 48/64/128 (and 40: a tail of 8 floats past the
  // 16-float slices); nPos across a chunk bound that is no multiple of 4 away (chunks: 64 KiB of rows, 4-aligned).
  it.each([
    [6, 1, 48, 231],
    [3, 3, 64, 170],
    [3, 3, 64, 3],
    [4, 8, 128, 37],
    [2, 8, 128, 67],
    [1, 3, 40, 413],
    [8, 1, 64, 35],
  ])("%i KV heads, group %i, headDim %i, %i positions", (nKvHeads, group, headDim, nPos) => {
    const k = instantiateKernels(module());
    const rand = seededRandom(nKvHeads * 10007 + group * 101 + headDim + nPos);
    const nHeads = nKvHeads * group, kvDim = nKvHeads * headDim, nTokens = 3;
    const kv = randomArray(rand, nPos * kvDim, 3), vv = randomArray(rand, nPos * kvDim, 2);
    const q = randomArray(rand, nTokens * nHeads * headDim, 2);
    const batch = attend(k, q, kv, vv, nPos, nTokens, nHeads, nKvHeads, headDim, 1);
    for (let t = 0; t < nTokens; t++) {
      // The batch's token t as a one-token (decode) call over its positions, touching the cache first or not.
      const seen = nPos - nTokens + t + 1;
      const qt = q.slice(t * nHeads * headDim, (t + 1) * nHeads * headDim);
      const one = attend(k, qt, kv.slice(0, seen * kvDim), vv.slice(0, seen * kvDim), seen, 1, nHeads, nKvHeads, headDim, t % 2);
      expect(bits(one)).toEqual(bits(batch.subarray(t * nHeads * headDim, (t + 1) * nHeads * headDim)));
      for (let h = 0; h < nHeads; h++) {
        const want = reference(q, kv, vv, nPos, nTokens, nHeads, nKvHeads, headDim, t, h);
        const got = batch.subarray((t * nHeads + h) * headDim, (t * nHeads + h + 1) * headDim);
        for (let i = 0; i < headDim; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5 * 2 * 4);
      }
    }
    for (let g = 0; g < nKvHeads; g++) {
      // KV head g alone: its K and V rows gathered into a one-head cache (rows headDim apart), its group's queries.
      const plane = (x: Float32Array) => {
        const o = new Float32Array(nPos * headDim);
        for (let p = 0; p < nPos; p++) o.set(x.subarray(p * kvDim + g * headDim, p * kvDim + (g + 1) * headDim), p * headDim);
        return o;
      };
      const qg = new Float32Array(nTokens * group * headDim);
      for (let t = 0; t < nTokens; t++) qg.set(q.subarray((t * nHeads + g * group) * headDim, (t * nHeads + (g + 1) * group) * headDim), t * group * headDim);
      const alone = attend(k, qg, plane(kv), plane(vv), nPos, nTokens, group, 1, headDim, 0);
      for (let t = 0; t < nTokens; t++) {
        const inAll = batch.subarray((t * nHeads + g * group) * headDim, (t * nHeads + (g + 1) * group) * headDim);
        expect(bits(alone.subarray(t * group * headDim, (t + 1) * group * headDim))).toEqual(bits(inAll));
      }
    }
  });
});

describe("touchKv: the backend touches the cache only when weights and KV outgrow a last-level cache", () => {
  it("is 0 up to 32 MiB of weights + KV and 1 above", () => {
    const MiB = 2 ** 20;
    expect(COLD_WORKING_SET_BYTES).toBe(32 * MiB);
    expect(touchKv(15 * MiB, 3 * MiB)).toBe(0); // stories15M Q4_0 and a 256-position cache: stays in L3
    expect(touchKv(32 * MiB - 1024, 1024)).toBe(0);
    expect(touchKv(32 * MiB - 1024, 1025)).toBe(1);
    expect(touchKv(80 * MiB, 6 * MiB)).toBe(1); // SmolLM2-135M Q4_0: cold in memory each decode step
  });
});
