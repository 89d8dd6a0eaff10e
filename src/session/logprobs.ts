// Log-probabilities of a generated token as the API reports them: ids with their text and UTF-8 bytes, top alternatives.
import type { GenerateStep } from "../engine/generate";
import type { Tokenizer } from "../tokenizer/index";
import { decodeUtf8 } from "../tokenizer/utf8";
import type { TokenChoice, TokenLogprobs } from "../protocol/generate";

/** Most alternatives a request may ask for (OpenAI's limit). */
export const MAX_TOP_LOGPROBS = 20;

function choice(tokenizer: Tokenizer, token: number, logprob: number): TokenChoice {
  const bytes = tokenizer.tokenBytes(token);
  // A token holding part of a multi-byte character reads as U+FFFD; `bytes` keeps the exact value.
  return { token, text: decodeUtf8(bytes), bytes: Array.from(bytes), logprob };
}

/**
 * The step's log-probabilities with `top` alternatives (the engine is asked for at least one so that it computes
 * them at all; a request for 0 alternatives gets the chosen token's only). Undefined for steps without a token.
 */
export function stepLogprobs(tokenizer: Tokenizer, step: GenerateStep, top: number): TokenLogprobs | undefined {
  if (step.token === null || step.logprob === undefined) return undefined;
  return { ...choice(tokenizer, step.token, step.logprob), top: (step.topLogprobs ?? []).slice(0, top).map((t) => choice(tokenizer, t.token, t.logprob)) };
}
