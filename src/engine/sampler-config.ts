// Sampler settings: the config type, its defaults, and validation that names the offending field and its allowed range.

export interface SamplerConfig {
  /** 0 = greedy (argmax after penalties, ties to the lowest id, no randomness used); otherwise logits are divided by it. [0, 100]. */
  temperature: number;
  /** Keep only the k highest logits; 0 = disabled. Integer >= 0. */
  topK: number;
  /** Nucleus sampling: keep the smallest set of most likely tokens whose probability sums to >= topP; 1 = disabled. (0, 1]. */
  topP: number;
  /** Keep tokens with p >= minP * pMax; 0 = disabled. [0, 1]. */
  minP: number;
  /** llama.cpp style: a token in the penalty window gets logit > 0 ? logit / pen : logit * pen; 1 = disabled. > 0. */
  repetitionPenalty: number;
  /** logit -= count * frequencyPenalty, count = occurrences in the window; 0 = disabled. [-2, 2]. */
  frequencyPenalty: number;
  /** logit -= presencePenalty for every token present in the window; 0 = disabled. [-2, 2]. */
  presencePenalty: number;
  /** How many recent tokens (prompt and generated) the penalties look at; -1 = all, 0 = none. Integer >= -1. */
  penaltyLastN: number;
  /** Integer seed of the random generator (any safe integer). */
  seed: number;
}

/**
 * Every filter starts disabled (OpenAI-like: temperature 1, no truncation, no penalties), and the penalty window is
 * llama.cpp's 64. The default seed is fixed, so a sampler built without one is reproducible; a server that wants
 * different output for identical requests must pick a seed per request.
 */
export const DEFAULT_SAMPLER_CONFIG: Readonly<SamplerConfig> = Object.freeze({
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  penaltyLastN: 64,
  seed: 0,
});

/** A sampler setting outside its allowed range; `field` names it (e.g. "topP") so an API layer can report it. */
export class SamplerConfigError extends Error {
  override readonly name = "SamplerConfigError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

interface FieldRule {
  /** Human-readable allowed range, used verbatim in error messages. */
  readonly range: string;
  readonly integer?: boolean;
  readonly ok: (v: number) => boolean;
}

const RULES: { readonly [K in keyof SamplerConfig]: FieldRule } = {
  temperature: { range: "a number in [0, 100] (0 = greedy)", ok: (v) => v >= 0 && v <= 100 },
  topK: { range: "an integer >= 0 (0 = disabled)", integer: true, ok: (v) => v >= 0 && v <= Number.MAX_SAFE_INTEGER },
  topP: { range: "a number in (0, 1] (1 = disabled)", ok: (v) => v > 0 && v <= 1 },
  minP: { range: "a number in [0, 1] (0 = disabled)", ok: (v) => v >= 0 && v <= 1 },
  repetitionPenalty: { range: "a finite number > 0 (1 = disabled)", ok: (v) => v > 0 },
  frequencyPenalty: { range: "a number in [-2, 2] (0 = disabled)", ok: (v) => v >= -2 && v <= 2 },
  presencePenalty: { range: "a number in [-2, 2] (0 = disabled)", ok: (v) => v >= -2 && v <= 2 },
  penaltyLastN: { range: "an integer >= -1 (-1 = whole context, 0 = none)", integer: true, ok: (v) => v >= -1 && v <= Number.MAX_SAFE_INTEGER },
  seed: { range: "a safe integer (|seed| <= 2^53 - 1)", integer: true, ok: (v) => Number.isSafeInteger(v) },
};

const FIELDS = Object.keys(RULES) as (keyof SamplerConfig)[];

/**
 * Merges `partial` over DEFAULT_SAMPLER_CONFIG and checks every field. A field set to undefined counts as absent
 * (convenient for optional request parameters); unknown fields are rejected so a misspelt option ("top_k") cannot
 * silently do nothing. Returns a new object.
 */
export function validateSamplerConfig(partial: Partial<SamplerConfig>): SamplerConfig {
  if (partial === null || typeof partial !== "object" || Array.isArray(partial)) {
    throw new SamplerConfigError("config", `sampler config must be an object, got ${partial === null ? "null" : typeof partial}`);
  }
  for (const key of Object.keys(partial)) {
    if (!Object.hasOwn(RULES, key)) {
      throw new SamplerConfigError(key, `unknown sampler option "${key}"; expected one of ${FIELDS.join(", ")}`);
    }
  }
  const out = { ...DEFAULT_SAMPLER_CONFIG };
  for (const field of FIELDS) {
    const value: unknown = partial[field];
    if (value === undefined) continue;
    const rule = RULES[field];
    const describe = typeof value === "number" ? String(value) : `${typeof value} ${JSON.stringify(value)}`;
    // NaN and ±Infinity fail every rule: each one compares against finite bounds or requires an integer.
    if (typeof value !== "number" || !Number.isFinite(value) || (rule.integer && !Number.isInteger(value)) || !rule.ok(value)) {
      throw new SamplerConfigError(field, `${field} must be ${rule.range}, got ${describe}`);
    }
    // -0 becomes 0: it means the same, and JSON would not preserve it (state must round-trip exactly).
    out[field] = value === 0 ? 0 : value;
  }
  return out;
}
