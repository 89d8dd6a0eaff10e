// Q4_0 prefill inside workerd, where the relaxed build may run its tiles with fused i32 dot-adds (kernels/wasm
// matmul-quant.ts dot_add_fused): each token of a batch gets the bits it gets alone (one-token steps stay i16).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-workers";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels } from "../../src/backends/wasm/kernel-exports";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { GgmlType } from "../../src/gguf/ggml-types";
import { runMatmul } from "../helpers/backend-ops";
import { randomArray, seededRandom } from "../kernels/expected";
import { randomBlocks } from "../kernels/random-blocks";

describe("wasm-relaxed Q4_0 prefill in workerd", () => {
  it("the fused-dot probe answers 0 or 1", () => {
    const k = instantiateKernels(kernelModules().relaxed!) as unknown as { dot_add_fused(): number };
    const fused = k.dot_add_fused();
    console.log(`workerd: dot_add_fused() = ${fused}`);
    expect([0, 1]).toContain(fused);
  });

  it.each([
    [38, 288],
    [71, 160],
  ])("%i×%i: batches of 4..11 tokens give each token its one-token bits", async (rows, cols) => {
    const rand = seededRandom(0x3f05ed + rows + cols);
    const bytes = randomBlocks(rand, GgmlType.Q4_0, rows, cols);
    const x = randomArray(rand, 11 * cols);
    const wasm = new WasmBackend(kernelModules().relaxed!);
    const alone: Float32Array[] = [];
    for (let t = 0; t < 11; t++) alone.push(await runMatmul(wasm, GgmlType.Q4_0, bytes, rows, cols, x.subarray(t * cols, (t + 1) * cols), 1));
    expect(new Set(alone[0]).size).toBeGreaterThan(rows / 2);
    for (let n = 4; n <= 11; n++) {
      const batch = await runMatmul(wasm, GgmlType.Q4_0, bytes, rows, cols, x.subarray(0, n * cols), n);
      for (let t = 0; t < n; t++) expect(Array.from(batch.subarray(t * rows, (t + 1) * rows)), `${n} tokens, token ${t}`).toEqual(Array.from(alone[t]!));
    }
  });
});
