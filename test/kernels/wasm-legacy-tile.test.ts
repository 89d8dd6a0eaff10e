// Q4_1 / Q5_0 / Q5_1 wasm matmuls at the edges of their 4-token prefill tile and 4-row panels: a token's outputs are
// the same bits alone as inside any batch, they match the ref backend's ggml mode, and Inf/NaN or subnormal scales
// (the kernels' rare full f16 conversion) stay non-finite / exact. kernels/bench/legacy-ab.mjs checks the same cases bit
// for bit against the previous kernels.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { GGML_TYPES, GgmlType } from "../../src/gguf/ggml-types";
import { runMatmul } from "../helpers/backend-ops";
import { nmse, randomArray, seededRandom } from "./expected";
import { randomBlocks } from "./random-blocks";

const builds = [
  ["wasm-simd128", () => new WasmBackend(kernelModules().simd128)],
  ["wasm-relaxed", () => new WasmBackend(kernelModules().relaxed!)],
] as const;

const FORMATS = [
  ["Q4_1", GgmlType.Q4_1],
  ["Q5_0", GgmlType.Q5_0],
  ["Q5_1", GgmlType.Q5_1],
] as const;

/** (rows, cols): one row, a panel and a half, panels plus 1..3 rows; one block, three, eighteen (SmolLM2's 576). */
const SHAPES = [
  [1, 32],
  [6, 96],
  [9, 32],
  [70, 576],
  [131, 64],
] as const;

describe.each(builds)("%s legacy formats", (_label, make) => {
  describe.each(FORMATS)("%s", (_name, type) => {
    it.each(SHAPES)("%i×%i: 1..9 tokens, each the bits it gets alone, near the ref backend's ggml mode", async (rows, cols) => {
      const rand = seededRandom(0x1e9ac7 + type * 1000 + rows + cols);
      const bytes = randomBlocks(rand, type, rows, cols);
      const x = randomArray(rand, 9 * cols);
      const wasm = make();
      const ref = new RefBackend({ activations: "ggml" });
      const alone: Float32Array[] = [];
      for (let t = 0; t < 9; t++) alone.push(await runMatmul(wasm, type, bytes, rows, cols, x.subarray(t * cols, (t + 1) * cols), 1));
      for (let n = 1; n <= 9; n++) {
        const batch = await runMatmul(wasm, type, bytes, rows, cols, x.subarray(0, n * cols), n);
        for (let t = 0; t < n; t++) expect(Array.from(batch.subarray(t * rows, (t + 1) * rows))).toEqual(Array.from(alone[t]!));
        const want = await runMatmul(ref, type, bytes, rows, cols, x.subarray(0, n * cols), n);
        expect(batch.every((v) => Number.isFinite(v))).toBe(true);
        expect(nmse(batch, want)).toBeLessThanOrEqual(1e-10);
      }
    });

    it("Inf, NaN and subnormal block scales convert as ggml's f16 does, in the tile and alone", async () => {
      const [rows, cols, n] = [8, 64, 5];
      const rand = seededRandom(0x5ca1e + type);
      const bytes = randomBlocks(rand, type, rows, cols);
      const block = GGML_TYPES.get(type)!.typeSize;
      const nb = cols / 32;
      const setF16 = (row: number, b: number, field: number, h: number) => {
        bytes[(row * nb + b) * block + field] = h & 0xff;
        bytes[(row * nb + b) * block + field + 1] = h >> 8;
      };
      setF16(1, 0, 0, 0x7c00); // d = +Inf
      setF16(2, 1, 0, 0xfe00); // d = NaN
      setF16(3, 0, 0, 0x0003); // d = a subnormal
      if (type !== GgmlType.Q5_0) setF16(5, 1, 2, 0xfc00); // m = −Inf
      const x = randomArray(rand, n * cols);
      const wasm = make();
      const got = await runMatmul(wasm, type, bytes, rows, cols, x, n);
      const want = await runMatmul(new RefBackend({ activations: "ggml" }), type, bytes, rows, cols, x, n);
      for (let t = 0; t < n; t++) {
        const alone = await runMatmul(wasm, type, bytes, rows, cols, x.subarray(t * cols, (t + 1) * cols), 1);
        expect(Array.from(got.subarray(t * rows, (t + 1) * rows))).toEqual(Array.from(alone));
        for (let r = 0; r < rows; r++) {
          const g = got[t * rows + r]!, w = want[t * rows + r]!;
          if (Number.isFinite(w)) expect(Math.abs(g - w)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(w)));
          else expect(Number.isFinite(g)).toBe(false); // ggml's d·dx·Σ: ±Inf (or NaN); the ref's dequantized products may give NaN instead
        }
      }
      // The special rows really are special, the others are not.
      expect(Number.isFinite(got[1]!)).toBe(false);
      expect(Number.isNaN(got[2]!)).toBe(true);
      expect(Number.isFinite(got[3]!)).toBe(true);
      if (type !== GgmlType.Q5_0) expect(Number.isFinite(got[5]!)).toBe(false);
    });
  });
});
