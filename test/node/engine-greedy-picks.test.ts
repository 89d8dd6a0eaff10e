// Greedy picks (LlamaContext.nextPick: the backend's argmax, no row read out) give the tokens and sampler state of whole rows.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { generate, type GenerateResult } from "../../src/engine/generate";
import { LlamaModel } from "../../src/engine/model";
import { Sampler, type SamplerState } from "../../src/engine/sampler";
import { useArgmaxLogits } from "../../src/shard/greedy";
import { optionalFixtures, readFixture } from "../helpers/fixtures";
import { referenceFor } from "../helpers/reference";

const models = new Map<string, LlamaModel>();
function load(file: string, backend: string): LlamaModel {
  const key = `${file}:${backend}`;
  let m = models.get(key);
  if (!m) models.set(key, (m = LlamaModel.load(readFixture(file), createBackend(backend))));
  return m;
}

/** A greedy generation with picks on or off; counts the backend's reads of logits rows during it. */
async function run(model: LlamaModel, prompt: readonly number[], maxTokens: number, picks: boolean, sampler = new Sampler({ temperature: 0, penaltyLastN: 16 })) {
  const ctx = new LlamaContext(model, { nCtx: 256 });
  useArgmaxLogits(ctx, picks);
  const backend = model.backend;
  const read = backend.read.bind(backend);
  let rowReads = 0;
  backend.read = (src, off, n) => {
    if (n === model.config.vocabSize) rowReads++;
    return read(src, off, n);
  };
  try {
    const gen = generate(ctx, sampler, { input: prompt, maxTokens });
    let step = await gen.next();
    while (!step.done) step = await gen.next();
    return { result: step.value as GenerateResult, state: sampler.state() as SamplerState, rowReads, ctx };
  } finally {
    backend.read = read;
  }
}

describe.each(["wasm-simd128", "wasm-relaxed", "ref"])("%s", (backend) => {
  describe.each(["stories260K.gguf", "stories260K-Q8_0.gguf"])("greedy picks on %s", (file) => {
    it.each(referenceFor(file).runs.map((r) => [r.prompt, r] as const))("%s: llama.cpp's 64 tokens, as with whole rows", async (_p, ref) => {
      const model = load(file, backend);
      const rows = await run(model, ref.promptTokens, 64, false);
      const picks = await run(model, ref.promptTokens, 64, true);
      expect(rows.result.tokens).toEqual(ref.generatedTokens);
      expect(picks.result.tokens).toEqual(ref.generatedTokens);
      expect(picks.result.text).toBe(rows.result.text);
      expect(picks.result.finishReason).toBe(rows.result.finishReason);
      // The sampler recorded the same tokens (its penalty window) either way.
      expect(picks.state).toEqual(rows.state);
      expect(picks.state.history.length).toBe(16);
      expect(picks.ctx.tokens).toEqual(rows.ctx.tokens);
      expect(rows.rowReads).toBe(64);
      // wasm finds the pick in linear memory; ref has no Backend.argmax and reads the row.
      expect(picks.rowReads).toBe(backend === "ref" ? 64 : 0);
    });
  });
});

describe("when the greedy picks apply", () => {
  const ref = referenceFor("stories260K.gguf").runs[0]!;

  it("logprobs, sampling or a penalty take whole rows even when switched on", async () => {
    const model = load("stories260K.gguf", "wasm-relaxed");
    for (const sampler of [new Sampler({ temperature: 0.8, seed: 3 }), new Sampler({ temperature: 0, repetitionPenalty: 1.3 })]) {
      expect(sampler.argmaxSuffices).toBe(false);
      const on = await run(model, ref.promptTokens, 8, true, sampler);
      expect(on.rowReads).toBe(8);
    }
    const ctx = new LlamaContext(model, { nCtx: 64 });
    useArgmaxLogits(ctx, true);
    const gen = generate(ctx, new Sampler({ temperature: 0 }), { input: ref.promptTokens, maxTokens: 3, topLogprobs: 2 });
    const first = await gen.next();
    expect(first.done).toBe(false);
    expect(first.value).toMatchObject({ token: ref.generatedTokens[0], topLogprobs: [{ token: ref.generatedTokens[0] }, {}] });
  });

  it("no finite logit: the same RangeError at the same step, nothing recorded, the evaluated tokens kept", async () => {
    const model = LlamaModel.load(readFixture("stories260K.gguf"), createBackend("wasm-relaxed"));
    const b = model.backend;
    // Every logit NaN: the row the sampler sees, and the row the kernel scans.
    const matmul = b.matmul.bind(b);
    b.matmul = (out, w, x, n) => {
      matmul(out, w, x, n);
      if (w === model.weights.output) b.write(out, new Float32Array(n * w.rows).fill(NaN));
    };
    const outcome = async (picks: boolean) => {
      const sampler = new Sampler({ temperature: 0, penaltyLastN: 8 });
      const r = await run(model, ref.promptTokens, 4, picks, sampler).catch((e: unknown) => e);
      return { error: r instanceof Error ? `${r.name}: ${r.message}` : "none", state: sampler.state() };
    };
    const rows = await outcome(false);
    const picks = await outcome(true);
    expect(rows.error).toBe("RangeError: no token has a finite logit");
    expect(picks).toEqual(rows);
    expect(picks.state.history).toEqual(ref.promptTokens.slice(-8));
  });

  it("a backend that reads back asynchronously (as webgpu) gives its picks from the row it reads", async () => {
    const model = LlamaModel.load(readFixture("stories260K.gguf"), createBackend("ref"));
    const b = model.backend;
    let asyncReads = 0;
    b.readAsync = async (src, off, n) => {
      asyncReads++;
      return b.read(src, off, n);
    };
    const picks = await run(model, ref.promptTokens, 64, true);
    expect(picks.result.tokens).toEqual(ref.generatedTokens);
    expect(asyncReads).toBe(64);
  });

  it("samplePick throws where sample would, and only for a sampler whose pick is the argmax", () => {
    const s = new Sampler({ temperature: 0, penaltyLastN: 4 });
    expect(() => s.samplePick(-1)).toThrowError(RangeError);
    expect(s.state().history).toEqual([]);
    expect(s.samplePick(7)).toBe(7);
    expect(s.state().history).toEqual([7]);
    s.setLogitBias([[1, 5]]);
    expect(s.argmaxSuffices).toBe(false);
    expect(() => s.samplePick(7)).toThrowError(/samplePick/);
  });
});

// A larger oracle model (GQA, K-quant mix; not shipped): picks and rows agree over a longer run.
const oracle = optionalFixtures(["oracle/kquant-gqa-Q4_K_M.gguf"]);
describe.skipIf(!oracle.available)("greedy picks on oracle/kquant-gqa-Q4_K_M.gguf", () => {
  it.each(["wasm-simd128", "wasm-relaxed"])("%s: 48 tokens identical with and without picks", async (backend) => {
    const model = load("oracle/kquant-gqa-Q4_K_M.gguf", backend);
    const prompt = [1, 403, 407, 261, 378]; // the oracle's prompt ids
    const rows = await run(model, prompt, 48, false);
    const picks = await run(model, prompt, 48, true);
    expect(picks.result.tokens).toEqual(rows.result.tokens);
    expect(picks.result.tokens.length).toBeGreaterThan(0);
    expect(picks.rowReads).toBe(0);
  });
});
