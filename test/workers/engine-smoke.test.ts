// The engine runs unchanged inside workerd: greedy tokens from stories260K equal llama.cpp's (and so Node's).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LlamaModel } from "../../src/engine/model";
import { LlamaContext } from "../../src/engine/context";
import { Sampler } from "../../src/engine/sampler";
import { generate } from "../../src/engine/generate";
import { createBackend } from "../../src/backends/select";

interface Reference {
  models: { file: string; runs: { prompt: string; promptTokens: number[]; generatedTokens: number[]; generatedText: string }[] }[];
}

describe("engine inside workerd", () => {
  it("generates llama.cpp's greedy tokens for stories260K", async () => {
    const reference = JSON.parse(env.TEST_REFERENCE_OUTPUTS) as Reference;
    const run = reference.models.find((m) => m.file === "stories260K.gguf")!.runs[0]!;
    const model = LlamaModel.load(new Uint8Array(env.TEST_MODEL_STORIES260K), createBackend("ref"));
    const prompt = model.tokenizer.encode(run.prompt);
    expect(prompt).toEqual(run.promptTokens);
    const ctx = new LlamaContext(model, { nCtx: 128 });
    const gen = generate(ctx, new Sampler({ temperature: 0 }), { input: prompt, maxTokens: 24 });
    let text = "";
    let step = await gen.next();
    while (!step.done) {
      text += step.value.text;
      step = await gen.next();
    }
    expect(step.value.tokens).toEqual(run.generatedTokens.slice(0, 24));
    expect(run.generatedText.startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(20);
  });
});
