// Q5_K panels hold d and dmin as f32, converted at load (repack-kquant.ts); Q4_K's kernels convert their f16 in-kernel.
// A Q5_K block whose high-bit plane is all zero holds Q4_K's values, and both run the same integer sums and float
// steps (matmul-q4k.ts), so its outputs must be Q4_K's bits, for every kind of f16 d and dmin (subnormal, largest,
// negative, signed zero, infinite).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { GgmlType } from "../../src/gguf/ggml-types";
import { runMatmul } from "../helpers/backend-ops";
import { randomArray, seededRandom } from "./expected";
import { randomBlocks } from "./random-blocks";

const builds = [
  ["wasm-simd128", () => new WasmBackend(kernelModules().simd128)],
  ["wasm-relaxed", () => new WasmBackend(kernelModules().relaxed!)],
] as const;

/** f16 bit patterns for d and dmin: subnormals, the largest finite, negative, −0, +Inf, and ordinary values. */
const F16S = [0x0001, 0x03ff, 0x0400, 0x7bff, 0xbc00, 0x8000, 0x7c00, 0x3c00, 0x2e66, 0x1234];

/** The Q5_K file bytes of Q4_K blocks q4 (d, dmin, scales, qs as they are; qh, the fifth bits, all zero). */
function q5FromQ4(q4: Uint8Array): Uint8Array {
  const n = q4.length / 144;
  const q5 = new Uint8Array(n * 176);
  for (let b = 0; b < n; b++) {
    q5.set(q4.subarray(b * 144, b * 144 + 16), b * 176);
    q5.set(q4.subarray(b * 144 + 16, b * 144 + 144), b * 176 + 48);
  }
  return q5;
}

describe.each(builds)("%s: Q5_K with zero high bits gives Q4_K's bits", (_label, make) => {
  it.each([1, 9])("%i token(s), every kind of f16 d and dmin", async (nTokens) => {
    const rand = seededRandom(0x5c4 + nTokens);
    const rows = 11, cols = 512; // two panels that share prefill tiles, then a three-row one
    const q4 = randomBlocks(rand, GgmlType.Q4_K, rows, cols);
    const view = new DataView(q4.buffer, q4.byteOffset, q4.length);
    for (let b = 0; b < q4.length / 144; b++) {
      view.setUint16(b * 144, F16S[b % F16S.length]!, true);
      view.setUint16(b * 144 + 2, F16S[(3 * b + 1) % F16S.length]!, true);
    }
    const x = randomArray(rand, nTokens * cols);
    const wasm = make();
    const want = await runMatmul(wasm, GgmlType.Q4_K, q4, rows, cols, x, nTokens);
    const got = await runMatmul(wasm, GgmlType.Q5_K, q5FromQ4(q4), rows, cols, x, nTokens);
    // The special values must reach the outputs (infinite and non-finite ones as well as ordinary ones).
    expect(want.some((v) => !Number.isFinite(v))).toBe(true);
    expect(want.some((v) => Number.isFinite(v) && v !== 0)).toBe(true);
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});
