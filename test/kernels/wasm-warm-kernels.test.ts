// kernels/bench/warm-kernels.ts (the load-time warm-up measured in docs/kernels.md "Tier-up"): it runs in its own
// instance, leaves results bit-identical, makes a fixed number of calls, and is bounded in time.
import { describe, expect, it } from "vitest";
import { loadNodeKernelModules } from "../../src/backends/wasm/load-node";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { GgmlType } from "../../src/gguf/ggml-types";
import { WARM_CALLS, warmKernels } from "../../kernels/bench/warm-kernels";
import { runMatmul } from "../helpers/backend-ops";
import { randomArray, seededRandom } from "./expected";
import { randomBlocks } from "./random-blocks";

const FORMATS = [
  ["Q4_0", GgmlType.Q4_0, 512],
  ["Q4_K", GgmlType.Q4_K, 512],
  ["Q6_K", GgmlType.Q6_K, 512],
] as const;

describe.each(["simd128", "relaxed"] as const)("%s: warmKernels", (build) => {
  it("leaves matmul outputs bit-identical to a module that was never warmed, in decode and prefill", async () => {
    const cold = new WasmBackend(loadNodeKernelModules()[build]!); // a separately compiled module: its own code
    const warmModule = loadNodeKernelModules()[build]!;
    const before = new WasmBackend(warmModule); // an instance that exists while the warm-up runs
    expect(warmKernels(warmModule)).toBe(2 * 18 * WARM_CALLS);
    const after = new WasmBackend(warmModule);
    for (const [, type, cols] of FORMATS) {
      const rand = seededRandom(0x7a9e + type);
      const rows = 96;
      const bytes = randomBlocks(rand, type, rows, cols);
      for (const nTokens of [1, 9]) {
        const x = randomArray(rand, nTokens * cols);
        const want = Array.from(await runMatmul(cold, type, bytes, rows, cols, x, nTokens));
        expect(want.every((v) => Number.isFinite(v) && v !== 0)).toBe(true);
        expect(Array.from(await runMatmul(before, type, bytes, rows, cols, x, nTokens))).toEqual(want);
        expect(Array.from(await runMatmul(after, type, bytes, rows, cols, x, nTokens))).toEqual(want);
      }
    }
  });

  it("is bounded in time (a fixed call count on 64x256 shapes)", () => {
    const t0 = performance.now();
    warmKernels(loadNodeKernelModules()[build]!);
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});
