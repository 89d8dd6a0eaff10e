// Token sampler: penalties, greedy or top-k/top-p/min-p/temperature sampling, seeded and resumable through plain JSON state.
import { Rng, type RngState } from "./rng";
import { DEFAULT_SAMPLER_CONFIG, validateSamplerConfig, SamplerConfigError, type SamplerConfig } from "./sampler-config";
import { applyLogitBias, applyPenalties, MAX_F32, type LogitBias } from "./sampler-logits";
import { selectBest } from "./select-best";

export { DEFAULT_SAMPLER_CONFIG, SamplerConfigError, validateSamplerConfig } from "./sampler-config";
export type { SamplerConfig } from "./sampler-config";
export { applyLogitBias, applyPenalties, checkLogitBias, type LogitBias, type PenaltyConfig } from "./sampler-logits";
export { selectBest } from "./select-best";

/**
 * A per-request constraint on the generated tokens (constrained decoding: a grammar or JSON Schema). mask() sets the
 * logits of the tokens it does not allow to -Infinity (after logit_bias and the penalties, before any selection, greedy
 * or sampled); the decode loop calls accept() with each sampled token and ends the generation once isDone().
 */
export interface TokenConstraint {
  mask(logits: Float32Array): void;
  accept(token: number): void;
  isDone(): boolean;
}

/** Everything a sampler needs to continue exactly where it stopped; plain numbers and arrays (JSON round-trips exactly). */
export interface SamplerState {
  readonly config: SamplerConfig;
  readonly rng: RngState;
  /** The last max(penaltyLastN, 0) accepted tokens, oldest first (all of them when penaltyLastN is -1). */
  readonly history: readonly number[];
}

export interface TokenLogprob {
  token: number;
  logprob: number;
}

/**
 * Order of operations (llama.cpp's common sampler chain, with the stages this sampler supports):
 *   0. logit_bias, when a request set one (setLogitBias: per request, not part of state());
 *   1. penalties (repetition, frequency, presence) over the last penaltyLastN accepted tokens, prompt included;
 *   1b. the request's constraint (setConstraint: a grammar), which sets disallowed tokens to -Infinity;
 *   2. temperature 0: argmax, ties to the lowest id. Greedy draws NO random number, so the RNG stream (and
 *      everything sampled after) is the same whether or not some steps were greedy;
 *   3. top-k; 4. top-p (on the softmax at temperature 1 of what top-k kept); 5. min-p (relative to the best kept);
 *   6. temperature; 7. softmax; 8. exactly one rng.nextFloat() picks a token by cumulative probability.
 * Tokens with logit -Infinity (or NaN) are never candidates. Ties in every ranking go to the lowest id, and every
 * step is a deterministic function of logits, config, history and RNG state: same seed + same logits = same tokens,
 * and a sampler restored from state() continues exactly like the original.
 */
export class Sampler {
  readonly config: SamplerConfig;
  private rng: Rng;
  private history: number[] = [];
  private bias: LogitBias | null = null;
  private constraintOf: TokenConstraint | null = null;

  // Scratch reused across calls, grown to the vocabulary size: penalised logits, candidate ids, per-token counts for
  // the penalties, and per-token weights (probabilities for top-p, then unnormalised softmax for the draw).
  private work = new Float32Array(0);
  private idx = new Int32Array(0);
  private counts = new Int32Array(0);
  private weights = new Float64Array(0);

  constructor(config: Partial<SamplerConfig> = {}) {
    this.config = Object.freeze(validateSamplerConfig(config));
    this.rng = new Rng(this.config.seed);
  }

  /** Restores a sampler saved with state() (possibly through JSON); validates every part. */
  static fromState(state: SamplerState): Sampler {
    const config = state?.config as Partial<SamplerConfig> | undefined;
    if (config === null || typeof config !== "object") throw new SamplerConfigError("config", "sampler state has no config object");
    for (const field of Object.keys(DEFAULT_SAMPLER_CONFIG) as (keyof SamplerConfig)[]) {
      // A saved config is complete; a missing field would silently fall back to a default and change the stream.
      if (config[field] === undefined) throw new SamplerConfigError(field, `sampler state config is missing ${field}`);
    }
    const sampler = new Sampler(config);
    sampler.rng = Rng.fromState(state.rng);
    const history: unknown = state.history;
    const limit = sampler.config.penaltyLastN;
    if (!Array.isArray(history) || !history.every((t) => Number.isSafeInteger(t) && t >= 0)) {
      throw new RangeError("sampler state history must be an array of token ids");
    }
    if (limit >= 0 && history.length > limit) {
      throw new RangeError(`sampler state history has ${history.length} tokens, more than penaltyLastN = ${limit}`);
    }
    sampler.history = history.slice();
    return sampler;
  }

  /** A snapshot of config, RNG and penalty window; plain data, unaffected by later calls. */
  state(): SamplerState {
    return { config: { ...this.config }, rng: this.rng.state(), history: this.history.slice() };
  }

  /** OpenAI's logit_bias for the following samples (null: none); ids are checked by the caller (checkLogitBias). */
  setLogitBias(bias: LogitBias | null): void {
    this.bias = bias && bias.length > 0 ? bias : null;
  }

  /** A constraint for the following samples (null: none); per request, like logit_bias, and not part of state(). */
  setConstraint(constraint: TokenConstraint | null): void {
    this.constraintOf = constraint;
  }

  get constraint(): TokenConstraint | null {
    return this.constraintOf;
  }

  /** Records a token the model has seen (prompt or generated) so penalties apply to it. */
  accept(token: number): void {
    if (!Number.isSafeInteger(token) || token < 0) throw new RangeError(`token id must be a non-negative integer, got ${token}`);
    const limit = this.config.penaltyLastN;
    if (limit === 0) return;
    this.history.push(token);
    if (limit > 0 && this.history.length > limit) this.history.shift();
  }

  /** Picks the next token (the caller's logits are not modified), then accept()s it. */
  sample(logits: Float32Array): number {
    const n = this.prepare(logits);
    const token = this.select(n);
    this.accept(token);
    return token;
  }

  /**
   * Whether sample() takes the argmax of the raw row: temperature 0, no logit_bias, no constraint, and no penalty
   * that changes a logit. Then a greedy pick found elsewhere (LlamaContext.nextPick) is what sample() would return.
   */
  get argmaxSuffices(): boolean {
    const c = this.config;
    const neutral = c.penaltyLastN === 0 || (c.repetitionPenalty === 1 && c.frequencyPenalty === 0 && c.presencePenalty === 0);
    return c.temperature === 0 && this.bias === null && this.constraintOf === null && neutral;
  }

  /**
   * sample() for a sampler whose argmaxSuffices, given the row's greedy pick instead of the row (token -1 when no
   * logit is finite): it throws where sample() would (RangeError, nothing accepted), else accept()s the token.
   */
  samplePick(token: number): number {
    if (!this.argmaxSuffices) throw new Error("samplePick: this sampler's pick depends on more than the argmax of the row; use sample()");
    if (token < 0) throw new RangeError("no token has a finite logit");
    this.accept(token);
    return token;
  }

  /**
   * Same selection and RNG use as sample(), plus log-probabilities from the distribution after penalties and
   * temperature, over the whole vocabulary (before top-k/top-p/min-p, like OpenAI's logprobs). Greedy uses
   * temperature 1 for them. `top` holds up to topN tokens, most likely first (ties: lowest id), and leaves out
   * tokens of probability zero (logit -Infinity), so it can be shorter than topN.
   */
  sampleWithLogprobs(logits: Float32Array, topN: number): { token: number; logprob: number; top: TokenLogprob[] } {
    if (!Number.isSafeInteger(topN) || topN < 0) throw new RangeError(`topN must be a non-negative integer, got ${topN}`);
    const n = this.prepare(logits);
    const token = this.select(n);
    const { work, idx } = this;
    const t = this.config.temperature > 0 ? this.config.temperature : 1;
    const m = this.finiteCandidates(n);
    let max = -Infinity;
    for (let i = 0; i < m; i++) max = Math.max(max, work[idx[i]!]!);
    let sum = 0;
    for (let i = 0; i < m; i++) sum += Math.exp((work[idx[i]!]! - max) / t);
    const logSum = Math.log(sum);
    const logprob = (id: number) => (work[id]! - max) / t - logSum;
    const r = selectBest(work, idx, m, null, Math.min(topN, m));
    const best = Array.from(idx.subarray(0, r)).sort((a, b) => work[b]! - work[a]! || a - b);
    this.accept(token);
    return { token, logprob: logprob(token), top: best.map((id) => ({ token: id, logprob: logprob(id) })) };
  }

  /** Copies logits into scratch (NaN -> -Infinity, +Infinity -> max float), applies logit_bias and the penalties; returns the vocab size. */
  private prepare(logits: Float32Array): number {
    const n = logits.length;
    if (n === 0) throw new RangeError("logits must not be empty");
    if (this.work.length < n) {
      this.work = new Float32Array(n);
      this.idx = new Int32Array(n);
      this.counts = new Int32Array(n);
      this.weights = new Float64Array(n);
    }
    const work = this.work;
    for (let i = 0; i < n; i++) {
      const v = logits[i]!;
      work[i] = v !== v ? -Infinity : v === Infinity ? MAX_F32 : v;
    }
    if (this.bias) applyLogitBias(n === work.length ? work : work.subarray(0, n), this.bias);
    if (this.history.length > 0) applyPenalties(n === work.length ? work : work.subarray(0, n), this.history, this.config, this.counts);
    if (this.constraintOf) this.constraintOf.mask(n === work.length ? work : work.subarray(0, n));
    return n;
  }

  /** Puts every token with a finite logit into idx, in id order; returns how many (throws when none). */
  private finiteCandidates(n: number): number {
    const { work, idx } = this;
    let m = 0;
    for (let i = 0; i < n; i++) if (work[i]! > -Infinity) idx[m++] = i;
    if (m === 0) throw new RangeError("no token has a finite logit");
    return m;
  }

  /** Steps 2-8 of the chain on the prepared logits. */
  private select(n: number): number {
    const { temperature, topK, topP, minP } = this.config;
    const { work, idx, weights } = this;
    if (temperature === 0) {
      let best = -1;
      let bestV = -Infinity;
      for (let i = 0; i < n; i++) {
        if (work[i]! > bestV) {
          bestV = work[i]!;
          best = i;
        }
      }
      if (best < 0) throw new RangeError("no token has a finite logit");
      return best;
    }

    // Candidates are idx[0..m), in no particular (but deterministic) order.
    let m = this.finiteCandidates(n);
    if (topK > 0 && topK < m) m = selectBest(work, idx, m, null, topK);
    if (topP < 1) {
      let max = -Infinity;
      for (let i = 0; i < m; i++) max = Math.max(max, work[idx[i]!]!);
      let z = 0;
      for (let i = 0; i < m; i++) z += weights[idx[i]!] = Math.exp(work[idx[i]!]! - max);
      for (let i = 0; i < m; i++) weights[idx[i]!]! /= z;
      m = selectBest(work, idx, m, weights, topP);
    }
    if (minP > 0) {
      let max = -Infinity;
      for (let i = 0; i < m; i++) max = Math.max(max, work[idx[i]!]!);
      // p >= minP * pMax  <=>  logit >= maxLogit + ln(minP) (llama.cpp's form; no exp per token).
      const threshold = max + Math.log(minP);
      let kept = 0;
      for (let i = 0; i < m; i++) if (work[idx[i]!]! >= threshold) idx[kept++] = idx[i]!;
      m = kept;
    }

    let max = -Infinity;
    for (let i = 0; i < m; i++) max = Math.max(max, work[idx[i]!]!);
    let sum = 0;
    for (let i = 0; i < m; i++) sum += weights[idx[i]!] = Math.exp((work[idx[i]!]! - max) / temperature);
    const r = this.rng.nextFloat() * sum;
    let cum = 0;
    let last = idx[0]!;
    for (let i = 0; i < m; i++) {
      const w = weights[idx[i]!]!;
      if (w === 0) continue;
      cum += w;
      last = idx[i]!;
      if (r < cum) return last;
    }
    return last; // r within rounding of the total: the last token with non-zero probability
  }
}
