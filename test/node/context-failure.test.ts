// A forward pass that throws loses nothing: pending tokens stay pending and the sequence continues as if it never failed.
import { describe, expect, it } from "vitest";
import { LlamaContext } from "../../src/engine/context";
import type { Backend } from "../../src/backends/backend";
import { loadRefModel, referenceFor } from "../helpers/reference";

const reference = () => referenceFor("stories260K.gguf").runs[0]!;

/** Calls ctx.nextLogits() with the backend's `failAt`-th matmul call throwing, and expects that error out of it. */
function failNextLogits(ctx: LlamaContext, failAt: number): void {
  const own = ctx.model.backend as { matmul: Backend["matmul"] };
  const original = own.matmul;
  let calls = 0;
  own.matmul = function (...args: Parameters<Backend["matmul"]>) {
    if (++calls === failAt) throw new Error("injected backend failure");
    return original.apply(this, args);
  };
  try {
    expect(() => ctx.nextLogits()).toThrowError(/injected backend failure/);
  } finally {
    delete (own as Partial<typeof own>).matmul;
  }
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

describe("LlamaContext after a failed evaluation", () => {
  it("keeps the pending prompt when the first batch fails, and the retry gives the same logits", () => {
    const model = loadRefModel("stories260K.gguf");
    const prompt = reference().promptTokens;
    const expected = new LlamaContext(model, { nCtx: 64 });
    expected.append(prompt);
    const want = expected.nextLogits();

    const ctx = new LlamaContext(model, { nCtx: 64 });
    ctx.append(prompt);
    failNextLogits(ctx, 1);
    expect(ctx.pending).toEqual(prompt);
    expect(ctx.nEvaluated).toBe(0);
    expect(ctx.tokens).toEqual(prompt);
    expect(Array.from(ctx.nextLogits())).toEqual(Array.from(want));
    expect(ctx.nEvaluated).toBe(prompt.length);
  });

  it("rolls back a partly evaluated batch run: a failure in the second batch leaves no token half-logged", () => {
    const model = loadRefModel("stories260K.gguf");
    const ids = reference().promptTokens.concat(reference().generatedTokens.slice(0, 10));
    const ctx = new LlamaContext(model, { nCtx: 64, maxBatch: 4 });
    ctx.append(ids);
    // Each batch runs several matmuls; failing well past the first batch's ones hits a later batch.
    failNextLogits(ctx, 40);
    expect(ctx.nEvaluated).toBe(0);
    expect(ctx.pending).toEqual(ids);
    // Greedy decoding from the recovered context is llama.cpp's.
    let next = argmax(ctx.nextLogits());
    const out = [next];
    for (let i = 0; i < 5; i++) {
      ctx.append([next]);
      next = argmax(ctx.nextLogits());
      out.push(next);
    }
    expect(out).toEqual(reference().generatedTokens.slice(10, 16));
  });

  it("a failed re-evaluation of the last token (nothing pending) keeps that token in the sequence", () => {
    const model = loadRefModel("stories260K.gguf");
    const prompt = reference().promptTokens;
    const ctx = new LlamaContext(model, { nCtx: 64 });
    ctx.evaluate(prompt);
    failNextLogits(ctx, 1);
    expect(ctx.tokens).toEqual(prompt);
    expect(argmax(ctx.nextLogits())).toBe(reference().generatedTokens[0]);
  });
});
