// Session sampling helpers: a random seed for a new session, and request overrides merged into a saved sampler.
import { Sampler, validateSamplerConfig, type SamplerConfig, type SamplerState } from "../engine/sampler";

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
