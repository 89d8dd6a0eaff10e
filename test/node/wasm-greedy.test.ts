// Greedy generation on both wasm builds reproduces llama.cpp's token ids on stories260K (F32, Q8_0; Q4_0 as ref does).
import { describe, expect, it } from "vitest";
import { greedyTokens } from "../helpers/greedy";
import { LlamaContext } from "../../src/engine/context";
import "../../src/backends/wasm/load-node";
import { LlamaModel } from "../../src/engine/model";
import { createBackend } from "../../src/backends/select";
import { readFixture } from "../helpers/fixtures";
import { referenceFor } from "../helpers/reference";

const models = new Map<string, LlamaModel>();
function load(file: string, backend: string): LlamaModel {
  const key = `${file}:${backend}`;
  let m = models.get(key);
  if (!m) models.set(key, (m = LlamaModel.load(readFixture(file), createBackend(backend))));
  return m;
}

describe.each(["wasm-simd128", "wasm-relaxed"])("%s", (backend) => {
  describe.each(["stories260K.gguf", "stories260K-Q8_0.gguf"])("greedy on %s", (file) => {
    const reference = referenceFor(file);
    it.each(reference.runs.map((r) => [r.prompt, r] as const))("%s: 64 tokens identical to llama.cpp", async (_prompt, run) => {
      const tokens = await greedyTokens(load(file, backend), run.promptTokens, 64);
      expect(tokens).toEqual(run.generatedTokens);
    });
  });

  // As in engine-greedy.test.ts: llama.cpp's own run is decided by noise past its smallest-margin step on Q4_0.
  describe("greedy on stories260K-Q4_0.gguf", () => {
    const reference = referenceFor("stories260K-Q4_0.gguf");
    it.each(reference.runs.map((r) => [r.prompt, r] as const))("%s: identical up to llama.cpp's smallest-margin step", async (_prompt, run) => {
      const tokens = await greedyTokens(load("stories260K-Q4_0.gguf", backend), run.promptTokens, 64);
      const mustMatch = run.minMarginAtGeneratedIndex;
      expect(tokens.slice(0, mustMatch)).toEqual(run.generatedTokens.slice(0, mustMatch));
      if (run.prompt === "Once upon a time") expect(tokens).toEqual(run.generatedTokens);
    });
  });

  it("memory() reports the model's weights and the context's KV cache", () => {
    const model = load("stories260K-Q8_0.gguf", backend);
    const ctx = new LlamaContext(model, { nCtx: 64 });
    const mem = model.backend.memory();
    expect(mem.weightsBytes).toBeGreaterThan(100_000);
    expect(mem.kvBytes).toBeGreaterThanOrEqual(5 * 2 * 64 * 32 * 4);
    expect(ctx).toBeTruthy();
  });
});
