// Greedy generation to completion, the step every llama.cpp-parity test shares.
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import type { LlamaModel } from "../../src/engine/model";
import { Sampler } from "../../src/engine/sampler";

/** Generates `maxTokens` greedy tokens after `promptTokens` in a fresh 256-token context; `onToken` sees each step's index. */
export async function greedyTokens(model: LlamaModel, promptTokens: number[], maxTokens: number, onToken?: (i: number) => void): Promise<number[]> {
  const ctx = new LlamaContext(model, { nCtx: 256 });
  const run = generate(ctx, new Sampler({ temperature: 0 }), { input: promptTokens, maxTokens });
  let step = await run.next();
  for (let i = 0; !step.done; i++) {
    onToken?.(i);
    step = await run.next();
  }
  return step.value.tokens;
}
