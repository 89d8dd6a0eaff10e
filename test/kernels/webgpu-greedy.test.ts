// Greedy generation on the webgpu backend reproduces llama.cpp's tokens (stories260K F32, Q8_0; Q4_0 up to its
// smallest-margin step); a lost device fails over to wasm mid-generation with a warning, and the tokens still match.
import { describe, expect, it } from "vitest";
import { greedyTokens } from "../helpers/greedy";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { createBackendAsync } from "../../src/backends/select";
import { FailoverBackend } from "../../src/backends/webgpu/failover-backend";
import { WebGpuBackend } from "../../src/backends/webgpu/webgpu-backend";
import { readFixture } from "../helpers/fixtures";
import { referenceFor } from "../helpers/reference";
import { webGpuForTests } from "../helpers/webgpu";

const gpu = await webGpuForTests();

if (gpu.backend) {
  const models = new Map<string, LlamaModel>();
  const load = async (file: string) => {
    let m = models.get(file);
    if (!m) models.set(file, (m = LlamaModel.load(readFixture(file), await createBackendAsync("webgpu"))));
    return m;
  };

  describe.each(["stories260K.gguf", "stories260K-Q8_0.gguf"])("webgpu greedy on %s", (file) => {
    const reference = referenceFor(file);
    it.each(reference.runs.map((r) => [r.prompt, r] as const))("%s: 64 tokens identical to llama.cpp", async (_prompt, run) => {
      const model = await load(file);
      expect(model.backend.name).toBe("webgpu");
      expect(await greedyTokens(model, run.promptTokens, 64)).toEqual(run.generatedTokens);
    });
  });

  // As in the wasm and ref tests: llama.cpp's own Q4_0 run is decided by noise past its smallest-margin step.
  describe("webgpu greedy on stories260K-Q4_0.gguf", () => {
    const reference = referenceFor("stories260K-Q4_0.gguf");
    it.each(reference.runs.map((r) => [r.prompt, r] as const))("%s: identical up to llama.cpp's smallest-margin step", async (_prompt, run) => {
      const tokens = await greedyTokens(await load("stories260K-Q4_0.gguf"), run.promptTokens, 64);
      expect(tokens.slice(0, run.minMarginAtGeneratedIndex)).toEqual(run.generatedTokens.slice(0, run.minMarginAtGeneratedIndex));
    });
  });

  it("prefill in batches gives the same logits as one token at a time (allLogits over several batches)", async () => {
    const model = await load("stories260K-Q8_0.gguf");
    const ids = referenceFor("stories260K-Q8_0.gguf").runs[0]!.promptTokens;
    const batched = await new LlamaContext(model, { nCtx: 64, maxBatch: 3 }).evaluateAsync(ids, { allLogits: true });
    const single = new LlamaContext(model, { nCtx: 64, maxBatch: 1 });
    const vocab = model.config.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const row = await single.evaluateAsync([ids[i]!]);
      let maxDiff = 0;
      for (let j = 0; j < vocab; j++) maxDiff = Math.max(maxDiff, Math.abs(row[j]! - batched[i * vocab + j]!));
      expect(maxDiff).toBeLessThan(1e-4);
    }
  });

  it("a lost device falls back to wasm with a warning and the generation continues with llama.cpp's tokens", async () => {
    const run = referenceFor("stories260K-Q8_0.gguf").runs[0]!;
    const warnings: string[] = [];
    const backend = await createBackendAsync("webgpu", { warn: (m) => warnings.push(m) });
    expect(backend).toBeInstanceOf(FailoverBackend);
    const model = LlamaModel.load(readFixture("stories260K-Q8_0.gguf"), backend);
    const device = ((backend as FailoverBackend).active as WebGpuBackend);
    // The weights kept in JS for the failover are isolate memory, so they are counted (as scratch) on top of the GPU's.
    const kept = backend.memory().scratchBytes - device.memory().scratchBytes;
    const fileBytes = readFixture("stories260K-Q8_0.gguf").byteLength;
    expect(kept).toBeLessThanOrEqual(fileBytes);
    expect(kept).toBeGreaterThan(fileBytes - 64 * 1024); // all tensor data; the header is what is left
    const tokens = await greedyTokens(model, run.promptTokens, 64, (i) => {
      if (i === 20) device.destroy();
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/device was lost.*continuing on the wasm-(relaxed|simd128) backend/);
    expect(backend.name).toMatch(/^wasm-/);
    expect(tokens).toEqual(run.generatedTokens);
  });
} else {
  describe.skip(`webgpu greedy — SKIPPED: ${gpu.reason}`, () => {
    it("needs a WebGPU adapter", () => {});
  });
}
