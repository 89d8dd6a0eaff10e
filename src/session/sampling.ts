// Session sampling helpers: settings for a new session, request overrides merged into a saved sampler, API names of fields.
import { Sampler, SamplerConfigError, validateSamplerConfig, type SamplerConfig, type SamplerState } from "../engine/sampler";

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

/** A random seed (identical requests to two new sessions should not produce the same story). */
export function randomSeed(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2)) as unknown as [number, number];
  return (hi & 0x1fffff) * 0x100000000 + lo;
}

/** The penalty window the sampler holds after `tokens`: every token of a session went through accept(). */
function window(tokens: readonly number[], penaltyLastN: number): number[] {
  if (penaltyLastN === 0) return [];
  return penaltyLastN < 0 ? tokens.slice() : tokens.slice(Math.max(0, tokens.length - penaltyLastN));
}

/**
 * The sampler for the next request: the saved one, with `overrides` merged into its config when given. The RNG
 * stream continues unless the seed changes (a new seed starts its stream afresh), and the penalty window is rebuilt
 * from the token log, so it follows a changed penaltyLastN or a rewind.
 */
export function resumeSampler(saved: SamplerState, tokens: readonly number[], overrides: Partial<SamplerConfig> = {}): Sampler {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<SamplerConfig>;
  const config = validateSamplerConfig({ ...saved.config, ...defined });
  const reseed = defined.seed !== undefined && defined.seed !== saved.config.seed;
  const rng = reseed ? new Sampler(config).state().rng : saved.rng;
  return Sampler.fromState({ config, rng, history: window(tokens, config.penaltyLastN) });
}
