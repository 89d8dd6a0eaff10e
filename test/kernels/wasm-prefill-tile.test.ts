// Q8_0 / Q4_0 prefill on the wasm builds: for every batch size from 1 to 11 (4-token tiles plus 0–3 tokens on the
// one-token path) each token's outputs are the bits that token gets alone, with row counts that leave 1, 2 or 3 rows
// in the last 4-row panel and column counts of 1 and of an odd number of 32-blocks.
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

const FORMATS = [
  ["Q8_0", GgmlType.Q8_0],
  ["Q4_0", GgmlType.Q4_0],
] as const;

// [rows, cols]: last panels of 1, 2 and 3 rows; one 32-block, and 9 and 5 (odd counts of blocks).
const SHAPES = [
  [5, 32],
  [38, 288],
  [71, 160],
] as const;

describe.each(builds)("%s: Q8_0 / Q4_0 batches of 1..11 tokens give each token its one-token bits", (_label, make) => {
  for (const [name, type] of FORMATS) {
    it.each(SHAPES)(`${name} %i×%i`, async (rows, cols) => {
      const rand = seededRandom(0x7113 + type * 131 + rows * 7 + cols);
      const bytes = randomBlocks(rand, type, rows, cols);
      const maxTokens = 11;
      const x = randomArray(rand, maxTokens * cols);
      const wasm = make();
      const alone: Float32Array[] = [];
      for (let t = 0; t < maxTokens; t++) alone.push(await runMatmul(wasm, type, bytes, rows, cols, x.subarray(t * cols, (t + 1) * cols), 1));
      // The rows differ from one another (a kernel that wrote one row everywhere would fail here, not only below).
      expect(new Set(alone[0]).size).toBeGreaterThan(rows / 2);
      for (let n = 1; n <= maxTokens; n++) {
        const batch = await runMatmul(wasm, type, bytes, rows, cols, x.subarray(0, n * cols), n);
        expect(batch.length).toBe(n * rows);
        for (let t = 0; t < n; t++) {
          const got = batch.subarray(t * rows, (t + 1) * rows);
          expect(got.every((v) => Number.isFinite(v))).toBe(true);
          expect(Array.from(got), `${n} tokens, token ${t}`).toEqual(Array.from(alone[t]!));
        }
      }
    });
  }
});
