// The wasm attention kernel serves two query heads of a GQA group per pass (kernels/wasm/attention-steps.ts dot4x2 and the
// paired weighted sum): each head must get the bits it gets when attended alone (a group of one).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels } from "../../src/backends/wasm/kernel-exports";
import { randomArray, seededRandom } from "./expected";

const builds = [
  ["wasm-simd128", () => kernelModules().simd128],
  ["wasm-relaxed", () => kernelModules().relaxed!],
] as const;

describe.each(builds)("%s: paired query heads", (_label, module) => {
  // group 3 (a pair and a single), group 2; head sizes with and without a 16-float tail; decode and a 5-token batch.
  it.each([
    [3, 64, 37, 1],
    [3, 64, 37, 5],
    [2, 40, 50, 1],
    [2, 40, 50, 5],
  ])("group %i, headDim %i, %i positions, %i tokens: each head as alone", (group, headDim, nPos, nTokens) => {
    const k = instantiateKernels(module());
    const rand = seededRandom(group * 1000 + headDim + nTokens);
    const base = (k.heap_base() + 15) & ~15;
    const f32 = () => new Float32Array(k.memory.buffer);
    const need = base + 4 * (2 * nPos * headDim + 3 * nTokens * group * headDim + group * nPos) + 64;
    if (need > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
    const kp = base, vp = kp + 4 * nPos * headDim, qp = vp + 4 * nPos * headDim;
    const out = qp + 4 * nTokens * group * headDim, one = out + 4 * nTokens * group * headDim;
    const scores = one + 4 * nTokens * group * headDim;
    f32().set(randomArray(rand, nPos * headDim), kp / 4);
    f32().set(randomArray(rand, nPos * headDim), vp / 4);
    f32().set(randomArray(rand, nTokens * group * headDim), qp / 4);
    const pos0 = nPos - nTokens;
    k.attention(out, qp, kp, vp, scores, pos0, nTokens, group, 1, headDim, 0, 1); // touching the cache first
    const grouped = f32().slice(out / 4, out / 4 + nTokens * group * headDim);
    for (let j = 0; j < group; j++) {
      // Head j alone: its query rows gathered into a one-head layout, attended with a group of one.
      const q1 = new Float32Array(nTokens * headDim);
      for (let t = 0; t < nTokens; t++) q1.set(f32().subarray(qp / 4 + (t * group + j) * headDim, qp / 4 + (t * group + j + 1) * headDim), t * headDim);
      f32().set(q1, one / 4);
      k.attention(out, one, kp, vp, scores, pos0, nTokens, 1, 1, headDim, 0, 0);
      for (let t = 0; t < nTokens; t++) {
        const alone = Array.from(f32().subarray(out / 4 + t * headDim, out / 4 + (t + 1) * headDim));
        const inGroup = Array.from(grouped.subarray((t * group + j) * headDim, (t * group + j + 1) * headDim));
        expect(alone.every((v) => Number.isFinite(v))).toBe(true);
        expect(inGroup).toEqual(alone);
      }
    }
  });
});
