// The wasm decode path (one token: blocks written out in kernels/wasm/decode-legacy.ts, matmul-q6k.ts) takes the same
// integer sums and the same f32 steps as the prefill tiles, so a token's outputs are the same bits either way.
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

// Formats whose tile and decode apply a block's scales in the same order (Q4_K/Q5_K's tiles add the mins first).
const FORMATS = [
  ["Q8_0", GgmlType.Q8_0, 288],
  ["Q4_0", GgmlType.Q4_0, 288],
  ["Q6_K", GgmlType.Q6_K, 512],
] as const;

describe.each(builds)("%s: one token alone gives the bits it gets inside a prefill batch", (_label, make) => {
  it.each(FORMATS)("%s", async (_name, type, cols) => {
    const rand = seededRandom(0xdec0de + type);
    const rows = 172; // a last panel of two rows
    const nTokens = 9; // two 4-token tiles and one token on the decode path
    const bytes = randomBlocks(rand, type, rows, cols);
    const x = randomArray(rand, nTokens * cols);
    const wasm = make();
    const batch = await runMatmul(wasm, type, bytes, rows, cols, x, nTokens);
    for (let t = 0; t < nTokens; t++) {
      const alone = await runMatmul(wasm, type, bytes, rows, cols, x.subarray(t * cols, (t + 1) * cols), 1);
      const want = batch.subarray(t * rows, (t + 1) * rows);
      expect(alone.every((v) => Number.isFinite(v))).toBe(true);
      expect(Array.from(alone)).toEqual(Array.from(want));
    }
  });
});
