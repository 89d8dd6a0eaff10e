// The choices of one generate request: n continuations of one prompt evaluation, each with its own sampler stream and the request's logit_bias.
import { generate } from "../engine/generate";
import type { GenerateRequest } from "../protocol/generate";
import type { Choices } from "./event-stream";
import type { Live } from "./live-state";
import { constraintFor } from "./grammar-constraint";
import { resumeSampler } from "./sampling";
import { argmaxSuffices, useArgmaxLogits } from "../shard/greedy";

/** Choice i samples with seed + i (seed - i where that would leave the safe integers): distinct, reproducible streams. */
export function choiceSeed(seed: number, i: number): number {
  return Number.isSafeInteger(seed + i) ? seed + i : seed - i;
}

/**
 * The prompt is appended and evaluated once, by choice 0. Every later choice cuts the sequence back to the prompt:
 * the prompt's KV rows stay in the cache (only the last prompt token is evaluated again to get its logits back), so
 * n choices cost one prefill, like a fork of the prompt's KV state but without copying it.
 */
export function requestChoices(live: Live, req: GenerateRequest, input: readonly number[], stop: readonly string[], signal: AbortSignal): Choices {
  const { llm } = live;
  const count = req.n ?? 1;
  const base = live.sampler.state();
  const promptLength = llm.length + input.length;
  const maxTokens = Math.min(req.maxTokens, live.state.settings.nCtx);
  // The engine computes log-probabilities only when asked for at least one alternative; 0 keeps the chosen token's.
  const topLogprobs = req.logprobs !== undefined ? Math.max(1, req.logprobs) : req.choiceLogprob ? 1 : 0;
  return {
    count,
    sumLogprobs: req.choiceLogprob === true,
    start: (i) => {
      if (i > 0) {
        llm.truncate(promptLength);
        live.sampler = resumeSampler(base, llm.tokens, { seed: choiceSeed(base.config.seed, i) });
      }
      // Per request: a session's next request without logit_bias samples without it.
      live.sampler.setLogitBias(req.logitBias ?? null);
      // So is a grammar: each choice starts a fresh matcher over its own generated tokens.
      live.sampler.setConstraint(constraintFor(live.model.tokenizer, req));
      // A sharded model's classifier shards send only their best logit when the sampler needs no more (greedy.ts).
      useArgmaxLogits(llm, argmaxSuffices(live.sampler, { logitBias: req.logitBias ?? null, topLogprobs }));
      return generate(llm, live.sampler, { input: i === 0 ? input : [], maxTokens, stop, signal, topLogprobs });
    },
  };
}
