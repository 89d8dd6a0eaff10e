// Sampler settings as the API names them: the engine's config type and the snake_case request field of each setting.
import type { SamplerConfigError, SamplerConfig } from "../engine/sampler-config";

export type { SamplerConfig };

/** API (snake_case) name of each sampler field, so errors name the parameter the client sent. */
export const SAMPLER_PARAM: { readonly [K in keyof SamplerConfig]: string } = {
  temperature: "temperature",
  topK: "top_k",
  topP: "top_p",
  minP: "min_p",
  repetitionPenalty: "repetition_penalty",
  frequencyPenalty: "frequency_penalty",
  presencePenalty: "presence_penalty",
  penaltyLastN: "penalty_last_n",
  seed: "seed",
};

export function paramOf(e: SamplerConfigError): string {
  return (SAMPLER_PARAM as Record<string, string>)[e.field] ?? e.field;
}
