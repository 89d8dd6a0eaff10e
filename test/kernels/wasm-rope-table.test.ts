// The wasm backend reuses one rope angle table across calls while positions and params stay the same: a call that
// changes any one of them (positions, count, rotated dims, base, scale, factors) gets the table of its own params,
// the same bits as a fresh backend computes for it.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import type { RopeParams } from "../../src/backends/backend";
import { randomArray, seededRandom } from "./expected";

const [nHeads, headDim] = [2, 16];

/** The rotated bits of x (nTokens rows) at pos0 through backend b. */
function rotate(b: WasmBackend, x: Float32Array, nTokens: number, pos0: number, p: RopeParams): Uint32Array {
  const buf = b.createBuffer(x.length);
  b.write(buf, x);
  b.rope(buf, nTokens, pos0, p);
  const out = new Uint32Array(b.read(buf, 0, x.length).buffer);
  b.release(buf);
  return out;
}

describe.each([
  ["wasm-relaxed", () => new WasmBackend(kernelModules().relaxed!)],
  ["wasm-simd128", () => new WasmBackend(kernelModules().simd128)],
] as const)("%s rope table reuse", (_name, make) => {
  it("a change of any one position or param recomputes the table", () => {
    const rand = seededRandom(0x20be);
    const x = randomArray(rand, 3 * nHeads * headDim);
    const base: RopeParams = { nHeads, headDim, ropeDims: headDim, freqBase: 10000, freqScale: 1 };
    const factors = Float32Array.from({ length: headDim / 2 }, (_, i) => 1 + i * 0.5);
    // [label, nTokens, pos0, params]: each differs from the one before in one thing.
    const calls: [string, number, number, RopeParams][] = [
      ["first", 3, 5, base],
      ["same again", 3, 5, base],
      ["pos0", 3, 6, base],
      ["nTokens", 2, 6, base],
      ["freqBase", 2, 6, { ...base, freqBase: 500000 }],
      ["freqScale", 2, 6, { ...base, freqBase: 500000, freqScale: 0.25 }],
      ["ropeDims", 2, 6, { ...base, freqBase: 500000, freqScale: 0.25, ropeDims: 8 }],
      ["factors", 2, 6, { ...base, freqBase: 500000, freqScale: 0.25, freqFactors: factors }],
      ["back to the first", 3, 5, base],
    ];
    const shared = make();
    const seen = new Set<string>();
    for (const [label, nTokens, pos0, p] of calls) {
      const xs = x.subarray(0, nTokens * nHeads * headDim);
      const got = rotate(shared, xs, nTokens, pos0, p);
      const want = rotate(make(), xs, nTokens, pos0, p);
      expect(Array.from(got), label).toEqual(Array.from(want));
      seen.add(Array.from(got).join());
    }
    // The changes really change the rotation: 7 distinct results over the 9 calls ("same again" and "back" repeat the first).
    expect(seen.size).toBe(7);
  });
});
