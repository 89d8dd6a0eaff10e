// The wasm backends inside workerd: kernels imported statically as compiled modules, greedy tokens equal llama.cpp's.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-workers";
import { relaxedSimdSupported } from "../../src/backends/wasm/kernel-modules";
import { LlamaModel } from "../../src/engine/model";
import { LlamaContext } from "../../src/engine/context";
import { Sampler } from "../../src/engine/sampler";
import { generate } from "../../src/engine/generate";
import { createBackend } from "../../src/backends/select";

interface Reference {
  models: { file: string; runs: { prompt: string; promptTokens: number[]; generatedTokens: number[] }[] }[];
}

describe("wasm backends inside workerd", () => {
  it("workerd validates relaxed SIMD, so \"wasm\" picks the relaxed build", () => {
    expect(relaxedSimdSupported()).toBe(true);
    expect(createBackend("wasm").name).toBe("wasm-relaxed");
  });

  // F32 and Q8_0 weights (Q8_0 runs the integer-dot matmul kernels), on both builds.
  const models = [
    ["stories260K.gguf", () => env.TEST_MODEL_STORIES260K],
    ["stories260K-Q8_0.gguf", () => env.TEST_MODEL_STORIES260K_Q8_0],
  ] as const;
  const cases = models.flatMap(([file, bytes]) => ["wasm-simd128", "wasm-relaxed"].map((name) => [name, file, bytes] as const));

  it.each(cases)("%s generates llama.cpp's 64 greedy tokens for %s", async (name, file, bytes) => {
    const reference = JSON.parse(env.TEST_REFERENCE_OUTPUTS) as Reference;
    const model = LlamaModel.load(new Uint8Array(bytes()), createBackend(name));
    expect(model.backend.name).toBe(name);
    const runs = reference.models.find((m) => m.file === file)!.runs;
    expect(runs.length).toBe(2);
    for (const run of runs) {
      const ctx = new LlamaContext(model, { nCtx: 128 });
      const gen = generate(ctx, new Sampler({ temperature: 0 }), { input: run.promptTokens, maxTokens: 64 });
      let step = await gen.next();
      while (!step.done) step = await gen.next();
      expect(step.value.tokens).toEqual(run.generatedTokens);
    }
  });
});
