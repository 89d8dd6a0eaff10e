// Logit adjustments before sampling: llama.cpp's repetition/frequency/presence penalties and OpenAI's logit_bias.
import type { SamplerConfig } from "./sampler-config";

export type PenaltyConfig = Pick<SamplerConfig, "repetitionPenalty" | "frequencyPenalty" | "presencePenalty">;

// Largest finite float32: +Infinity logits are clamped to it so softmax never computes Infinity - Infinity.
export const MAX_F32 = 3.4028234663852886e38;

/**
 * Applies llama.cpp's penalties in place to the tokens of `window` (entries that are not ids of the logits are
 * ignored): for a token seen `count` times, logit = logit > 0 ? logit / rep : logit * rep, then
 * logit -= count * freq + presence. Arithmetic is rounded to float32 like llama.cpp's float fields. `counts` is
 * zeroed scratch of at least logits.length entries; it is zero again on return.
 */
export function applyPenalties(logits: Float32Array, window: ArrayLike<number>, penalties: PenaltyConfig, counts = new Int32Array(logits.length)): void {
  const { repetitionPenalty, frequencyPenalty, presencePenalty } = penalties;
  if (window.length === 0 || (repetitionPenalty === 1 && frequencyPenalty === 0 && presencePenalty === 0)) return;
  const n = logits.length;
  const rep = Math.fround(repetitionPenalty);
  const freq = Math.fround(frequencyPenalty);
  const presence = Math.fround(presencePenalty);
  for (let i = 0; i < window.length; i++) {
    const t = window[i]!;
    if (t >= 0 && t < n && Number.isInteger(t)) counts[t]!++;
  }
  // Second pass: the first visit of each distinct token applies its penalty once and clears its count.
  for (let i = 0; i < window.length; i++) {
    const t = window[i]!;
    if (!(t >= 0 && t < n && Number.isInteger(t))) continue;
    const count = counts[t]!;
    if (count === 0) continue;
    counts[t] = 0;
    let v = logits[t]!;
    // Multiplying negatives (rather than dividing everything, as in the CTRL paper) keeps a penalty a penalty.
    v = v <= 0 ? Math.fround(v * rep) : Math.fround(v / rep);
    v = Math.fround(v - Math.fround(Math.fround(count * freq) + presence));
    // Absurd penalties (rep near 0) can overflow; keep the logits orderable.
    logits[t] = v !== v ? -Infinity : v === Infinity ? MAX_F32 : v;
  }
}

/** OpenAI's logit_bias: [token id, bias] pairs added to the logits before everything else (llama.cpp's order). */
export type LogitBias = readonly (readonly [number, number])[];

/** The bias OpenAI documents as a ban: -100 makes the token impossible (-Infinity), whatever its logit. */
export const BAN_BIAS = -100;

/** Checks a logit_bias against a vocabulary of `vocab` tokens: ids must be in it, biases finite numbers in [-100, 100]. */
export function checkLogitBias(bias: LogitBias, vocab: number): string | null {
  const banned = new Set<number>();
  for (const [id, b] of bias) {
    if (b <= BAN_BIAS) banned.add(id);
    if (!Number.isInteger(id) || id < 0 || id >= vocab) return `token id ${id} is not in this model's vocabulary (0..${vocab - 1})`;
    if (typeof b !== "number" || !(b >= -100 && b <= 100)) return `the bias of token ${id} must be a number in [-100, 100], got ${b}`;
  }
  return banned.size >= vocab ? "logit_bias bans every token of the vocabulary" : null;
}

/** Adds each bias to its token's logit in place (float32 arithmetic, like llama.cpp); -100 bans the token. */
export function applyLogitBias(logits: Float32Array, bias: LogitBias): void {
  for (const [id, b] of bias) {
    if (id < 0 || id >= logits.length) continue;
    logits[id] = b <= BAN_BIAS ? -Infinity : Math.fround(logits[id]! + b);
  }
}
