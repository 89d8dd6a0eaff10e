// The wasm integer dots at their extremes: every weight value at its maximum against |q| = 127 activations, where
// the relaxed build's i16 partial sums (kernels/wasm/kquant-common.ts dotStep) come closest to overflowing.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { GGML_TYPES, GgmlType } from "../../src/gguf/ggml-types";
import { runMatmul } from "../helpers/backend-ops";
import { nmse } from "./expected";
import { F16_FIELDS } from "./random-blocks";

/** The quantized weight formats (Q8_1 and Q8_K are activation types); their f16 fields come from random-blocks.ts. */
const WEIGHT_TYPES = [GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

/**
 * Blocks whose every other byte is 0xff: all quants, high bits and sub-block scales at their maximum (Q6_K's i8
 * scales at −1, Q8_0's quants at −1), and the f16 fields at 0.5 so the sums stay finite.
 */
function maxBlocks(type: GgmlType, fields: readonly number[], rows: number, cols: number): Uint8Array {
  const info = GGML_TYPES.get(type)!;
  const nBlocks = (rows * cols) / info.blockSize;
  const bytes = new Uint8Array(nBlocks * info.typeSize).fill(0xff);
  for (let b = 0; b < nBlocks; b++) {
    for (const f of fields) {
      bytes[b * info.typeSize + f] = 0x00;
      bytes[b * info.typeSize + f + 1] = 0x38; // f16 0.5
    }
  }
  return bytes;
}

/**
 * The relaxed build with its dots as fused i32 dot-adds (what it runs where the engine makes them one VNNI instruction,
 * kernels/wasm/matmul-quant.ts dot_add_fused), whatever this engine answers: the kernels' own instance, probe set.
 */
function fusedRelaxed(): WasmBackend {
  const b = new WasmBackend(kernelModules().relaxed!);
  (b as unknown as { k: { set_dot_add_fused(v: number): void } }).k.set_dot_add_fused(1);
  return b;
}

const builds = [
  ["wasm-simd128", () => new WasmBackend(kernelModules().simd128)],
  ["wasm-relaxed", () => new WasmBackend(kernelModules().relaxed!)],
  ["wasm-relaxed with fused dot-adds", fusedRelaxed],
] as const;

describe.each(builds)("%s: extreme weights against extreme activations", (_label, make) => {
  const ref = new RefBackend({ activations: "ggml" });
  const wasm = make();
  // 9 tokens: the prefill tiles and a leftover token (decode's path); 8 rows of two 256-blocks; 12 rows: Q4_K/Q5_K's
  // relaxed tiles of two panels (kernels/wasm/prefill-q45.ts) beside a one-panel tile.
  it.each(WEIGHT_TYPES.flatMap((type) => [8, 12].map((rows) => [GGML_TYPES.get(type)!.name, rows, type, F16_FIELDS.get(type)!] as const)))(
    "%s, %i rows, matches the ref backend for x = +1 and x = −1",
    async (_name, rows, type, fields) => {
      const cols = 512, nTokens = 9;
      const bytes = maxBlocks(type, fields, rows, cols);
      for (const sign of [1, -1]) {
        // Constant rows quantize to |q| = 127 in every element (Q8_0: 127/amax; Q8_K: −127/max).
        const x = new Float32Array(nTokens * cols).fill(sign);
        const want = await runMatmul(ref, type, bytes, rows, cols, x, nTokens);
        const got = await runMatmul(wasm, type, bytes, rows, cols, x, nTokens);
        expect(want.every((v) => Number.isFinite(v) && v !== 0)).toBe(true);
        // A lane that wrapped past i16 would be off by 65536·d·dx: far outside this bound.
        expect(nmse(got, want)).toBeLessThanOrEqual(1e-10);
      }
    },
  );
});
