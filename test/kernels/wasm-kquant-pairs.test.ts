// Q4_K / Q5_K prefill on the relaxed build runs two 4-row panels per tile (kernels/wasm/prefill-q45.ts); a panel's
// outputs must be the bits the one-panel tile gives it (the same integer sums, the same f32 steps in the same order).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { GGML_TYPES, GgmlType } from "../../src/gguf/ggml-types";
import { runMatmul } from "../helpers/backend-ops";
import { randomArray, seededRandom } from "./expected";
import { randomBlocks } from "./random-blocks";

const builds = [
  ["wasm-simd128", () => new WasmBackend(kernelModules().simd128)],
  ["wasm-relaxed", () => new WasmBackend(kernelModules().relaxed!)],
] as const;

const FORMATS = [
  ["Q4_K", GgmlType.Q4_K],
  ["Q5_K", GgmlType.Q5_K],
] as const;

/** Rows r0..r0+n of a matmul's [token][row] outputs. */
function rowsOf(out: Float32Array, rows: number, nTokens: number, r0: number, n: number): number[] {
  const got: number[] = [];
  for (let t = 0; t < nTokens; t++) got.push(...out.subarray(t * rows + r0, t * rows + r0 + n));
  return got;
}

describe.each(builds)("%s: a panel inside a two-panel prefill tile gives the bits it gets alone", (_label, make) => {
  it.each(FORMATS)("%s", async (_name, type) => {
    const rand = seededRandom(0x9a125 + type);
    const cols = 512, nTokens = 9; // two 4-token tiles and one token on the decode path
    const rowBytes = (cols / 256) * GGML_TYPES.get(type)!.typeSize;
    const x = randomArray(rand, nTokens * cols);
    const wasm = make();
    // 11 rows: panels 0 and 1 share tiles, panel 2 (three rows) has none to pair with; 7 rows: a pair whose second
    // panel has three rows. Each panel alone (4 or 3 rows) takes the one-panel tile.
    for (const rows of [11, 7]) {
      const bytes = randomBlocks(rand, type, rows, cols);
      const all = await runMatmul(wasm, type, bytes, rows, cols, x, nTokens);
      expect(all.every((v) => Number.isFinite(v))).toBe(true);
      for (let r0 = 0; r0 < rows; r0 += 4) {
        const n = Math.min(4, rows - r0);
        const alone = await runMatmul(wasm, type, bytes.subarray(r0 * rowBytes, (r0 + n) * rowBytes), n, cols, x, nTokens);
        expect(rowsOf(all, rows, nTokens, r0, n)).toEqual(Array.from(alone));
      }
    }
  });
});
