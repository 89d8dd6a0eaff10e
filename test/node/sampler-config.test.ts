// Sampler config validation (field named in every error) and validation of restored sampler state.
import { describe, expect, it } from "vitest";
import { DEFAULT_SAMPLER_CONFIG, Sampler, SamplerConfigError, validateSamplerConfig, type SamplerConfig } from "../../src/engine/sampler";

describe("validateSamplerConfig", () => {
  it("fills defaults and treats undefined as absent", () => {
    expect(validateSamplerConfig({})).toEqual(DEFAULT_SAMPLER_CONFIG);
    expect(validateSamplerConfig({ topK: undefined, temperature: 0.5 })).toEqual({ ...DEFAULT_SAMPLER_CONFIG, temperature: 0.5 });
    expect(DEFAULT_SAMPLER_CONFIG).toEqual({ temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, penaltyLastN: 64, seed: 0 });
  });

  it("accepts the edges of every range", () => {
    const edges: Partial<SamplerConfig>[] = [
      { temperature: 0 }, { temperature: 100 }, { topK: 0 }, { topK: 1_000_000 }, { topP: 1 }, { topP: 1e-9 }, { minP: 0 }, { minP: 1 },
      { repetitionPenalty: 1e-3 }, { repetitionPenalty: 10 }, { frequencyPenalty: -2 }, { frequencyPenalty: 2 }, { presencePenalty: -2 },
      { presencePenalty: 2 }, { penaltyLastN: -1 }, { penaltyLastN: 0 }, { seed: -(2 ** 53 - 1) }, { seed: 2 ** 53 - 1 },
    ];
    for (const c of edges) expect(() => validateSamplerConfig(c)).not.toThrow();
  });

  it("rejects NaN, Infinity, out-of-range and non-integer values, naming the field and its range", () => {
    const bad: [keyof SamplerConfig, unknown, RegExp][] = [
      ["temperature", NaN, /temperature must be a number in \[0, 100\].*got NaN/],
      ["temperature", -0.1, /temperature must be a number in \[0, 100\]/],
      ["temperature", 101, /\[0, 100\]/],
      ["temperature", Infinity, /got Infinity/],
      ["topK", 1.5, /topK must be an integer >= 0/],
      ["topK", -1, /topK must be an integer >= 0/],
      ["topP", 0, /topP must be a number in \(0, 1\]/],
      ["topP", 1.01, /topP/],
      ["minP", -0.01, /minP must be a number in \[0, 1\]/],
      ["minP", NaN, /minP/],
      ["repetitionPenalty", 0, /repetitionPenalty must be a finite number > 0/],
      ["repetitionPenalty", Infinity, /repetitionPenalty/],
      ["frequencyPenalty", 2.5, /frequencyPenalty must be a number in \[-2, 2\]/],
      ["presencePenalty", -3, /presencePenalty must be a number in \[-2, 2\]/],
      ["penaltyLastN", -2, /penaltyLastN must be an integer >= -1/],
      ["penaltyLastN", 3.5, /penaltyLastN/],
      ["seed", 0.5, /seed must be a safe integer/],
      ["seed", 2 ** 53, /seed/],
      ["seed", "42", /seed must be a safe integer.*got string "42"/],
      ["topP", null, /topP.*got object null/],
    ];
    for (const [field, value, message] of bad) {
      let error: unknown;
      try {
        validateSamplerConfig({ [field]: value } as Partial<SamplerConfig>);
      } catch (e) {
        error = e;
      }
      expect(error, `${field} = ${String(value)}`).toBeInstanceOf(SamplerConfigError);
      expect(error).toBeInstanceOf(Error);
      expect((error as SamplerConfigError).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    }
    expect(() => new Sampler({ topP: 2 })).toThrow(SamplerConfigError);
  });

  it("rejects unknown options", () => {
    expect(() => validateSamplerConfig({ top_k: 5 } as Partial<SamplerConfig>)).toThrow(/unknown sampler option "top_k"/);
  });
});

describe("Sampler state", () => {
  it("state() is a JSON-safe snapshot; fromState validates it", () => {
    const s = new Sampler({ seed: 1, penaltyLastN: 3, repetitionPenalty: 1.1 });
    for (const t of [5, 6, 7, 8]) s.accept(t);
    const state = s.state();
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    expect(state.history).toEqual([6, 7, 8]);
    s.sample(Float32Array.from([1, 2, 3]));
    expect(state.history).toEqual([6, 7, 8]);
    expect(Object.isFrozen(s.config)).toBe(true);

    const { seed: _, ...partial } = state.config;
    expect(() => Sampler.fromState({ ...state, config: partial as SamplerConfig })).toThrow(/missing seed/);
    expect(() => Sampler.fromState({ ...state, config: { ...state.config, topP: 7 } })).toThrow(SamplerConfigError);
    expect(() => Sampler.fromState({ ...state, history: [1, 2, 3, 4] })).toThrow(/more than penaltyLastN/);
    expect(() => Sampler.fromState({ ...state, history: [1, -2] })).toThrow(/token ids/);
    expect(() => Sampler.fromState({ ...state, rng: { s: [0, 0, 0, 0] } })).toThrow(/all zero/);
  });
});
