// LlamaContext and generate: limits, errors that lose nothing, stop strings, abort, and exact continuation across calls.
import { describe, expect, it } from "vitest";
import { LlamaContext } from "../../src/engine/context";
import { EngineError } from "../../src/engine/errors";
import { generate, type GenerateOptions, type GenerateResult } from "../../src/engine/generate";
import { Sampler } from "../../src/engine/sampler";
import { dirtyPages, joinPages, positionsPerPage, readPage } from "../../src/engine/kv-pages";
import { loadRefModel, maxAbsDiff, referenceFor } from "../helpers/reference";

const model = () => loadRefModel("stories260K.gguf");
const reference = () => referenceFor("stories260K.gguf").runs[0]!;

async function drain(ctx: LlamaContext, sampler: Sampler, options: GenerateOptions): Promise<{ result: GenerateResult; streamed: string }> {
  const run = generate(ctx, sampler, options);
  let streamed = "";
  let step = await run.next();
  while (!step.done) {
    streamed += step.value.text;
    step = await run.next();
  }
  return { result: step.value, streamed };
}

describe("LlamaContext", () => {
  it("a prompt over the context is refused with context_length_exceeded and changes nothing", () => {
    const ctx = new LlamaContext(model(), { nCtx: 8 });
    ctx.append([1, 403, 407]);
    expect(() => ctx.append([1, 2, 3, 4, 5, 6])).toThrowError(/exceed the context length of 8/);
    try {
      ctx.append(new Array(6).fill(5));
    } catch (e) {
      expect(e).toBeInstanceOf(EngineError);
      expect((e as EngineError).code).toBe("context_length_exceeded");
    }
    expect(ctx.tokens).toEqual([1, 403, 407]);
  });

  it("token ids outside the vocabulary are refused", () => {
    const ctx = new LlamaContext(model(), { nCtx: 8 });
    expect(() => ctx.append([1, 512])).toThrowError(/outside the vocabulary \(0\.\.511\)/);
    expect(() => ctx.append([1.5])).toThrowError(EngineError);
    expect(ctx.length).toBe(0);
  });

  it("batched prefill gives the same logits as one token at a time", () => {
    const ids = reference().promptTokens.concat(reference().generatedTokens.slice(0, 20));
    const batched = new LlamaContext(model(), { nCtx: 64, maxBatch: 8 }).evaluate(ids, { allLogits: true });
    const single = new LlamaContext(model(), { nCtx: 64, maxBatch: 1 });
    const rows = ids.map((t) => single.evaluate([t]));
    expect(maxAbsDiff(batched, rows.flatMap((r) => Array.from(r)))).toBeLessThan(1e-4);
  });
});

describe("generate", () => {
  it("streams exactly the returned text, which is llama.cpp's greedy text", async () => {
    const ctx = new LlamaContext(model(), { nCtx: 128 });
    const { result, streamed } = await drain(ctx, new Sampler({ temperature: 0 }), { input: reference().promptTokens, maxTokens: 64 });
    expect(result.finishReason).toBe("length");
    expect(streamed).toBe(result.text);
    expect(result.text).toBe(reference().generatedText);
    expect(ctx.length).toBe(reference().promptTokens.length + 64);
  });

  it("stops before a stop string and never leaks it", async () => {
    const ctx = new LlamaContext(model(), { nCtx: 128 });
    const { result, streamed } = await drain(ctx, new Sampler({ temperature: 0 }), { input: reference().promptTokens, maxTokens: 64, stop: [" named"] });
    expect(result.finishReason).toBe("stop");
    expect(result.text).toBe(", there was a little girl");
    expect(streamed).toBe(result.text);
  });

  it("an abort ends the generation and keeps what was generated", async () => {
    const ctx = new LlamaContext(model(), { nCtx: 128 });
    const controller = new AbortController();
    const run = generate(ctx, new Sampler({ temperature: 0 }), { input: reference().promptTokens, maxTokens: 64, signal: controller.signal });
    let n = 0;
    let step = await run.next();
    while (!step.done) {
      if (step.value.token !== null && ++n === 3) controller.abort();
      step = await run.next();
    }
    expect(step.value.finishReason).toBe("abort");
    expect(step.value.tokens).toEqual(reference().generatedTokens.slice(0, 3));
    expect(ctx.tokens).toEqual(reference().promptTokens.concat(reference().generatedTokens.slice(0, 3)));
  });

  it("a full context ends the generation with context_full", async () => {
    const ctx = new LlamaContext(model(), { nCtx: 10 });
    const { result } = await drain(ctx, new Sampler({ temperature: 0 }), { input: reference().promptTokens, maxTokens: 64 });
    expect(result.finishReason).toBe("context_full");
    expect(result.tokens.length).toBe(5);
  });

  it("a sampled generation split across calls, with state through JSON and KV pages, equals one uninterrupted run", async () => {
    const config = { temperature: 0.9, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: 1234 };
    const prompt = reference().promptTokens;
    const whole = await drain(new LlamaContext(model(), { nCtx: 128 }), new Sampler(config), { input: prompt, maxTokens: 40 });

    // First request: 15 tokens. Persist the sampler state, token log and KV pages (small pages to cross boundaries).
    const first = new LlamaContext(model(), { nCtx: 128 });
    const sampler1 = new Sampler(config);
    const part1 = await drain(first, sampler1, { input: prompt, maxTokens: 15 });
    const savedSampler = JSON.parse(JSON.stringify(sampler1.state()));
    const perPage = positionsPerPage(first.cache.layout, 3 * 5 * 2 * 32 * 4);
    expect(perPage).toBe(3);
    const pages = dirtyPages(0, first.nEvaluated, perPage).map((i) => readPage(first, i, perPage));
    const savedTokens = [...first.tokens];

    // Second request in a fresh context: restore, continue for the remaining 25 tokens.
    const second = new LlamaContext(model(), { nCtx: 128 });
    second.restore(savedTokens, first.nEvaluated, joinPages(pages, second.cache.layout, first.nEvaluated));
    const part2 = await drain(second, Sampler.fromState(savedSampler), { maxTokens: 25 });

    expect(part1.result.tokens.concat(part2.result.tokens)).toEqual(whole.result.tokens);
    expect(part1.result.text + part2.result.text).toBe(whole.result.text);
  });

  it("truncating (rewind) and generating again reproduces the greedy continuation", async () => {
    const ctx = new LlamaContext(model(), { nCtx: 128 });
    const prompt = reference().promptTokens;
    await drain(ctx, new Sampler({ temperature: 0 }), { input: prompt, maxTokens: 20 });
    ctx.truncate(prompt.length + 5);
    const again = await drain(ctx, new Sampler({ temperature: 0 }), { maxTokens: 10 });
    expect(again.result.tokens).toEqual(reference().generatedTokens.slice(5, 15));
  });

  it("dirtyPages rewrites only the partly filled last page and new ones", () => {
    expect(dirtyPages(0, 7, 3)).toEqual([0, 1, 2]);
    expect(dirtyPages(7, 8, 3)).toEqual([2]);
    expect(dirtyPages(9, 10, 3)).toEqual([3]);
    expect(dirtyPages(5, 5, 3)).toEqual([]);
  });
});
