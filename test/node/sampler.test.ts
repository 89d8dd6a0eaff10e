// Sampler: each stage of the chain on hand-made logits, the sampled distribution, and the API's validation and logprobs (penalties and determinism: sampler-penalties, sampler-determinism).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Sampler, type SamplerConfig } from "../../src/engine/sampler";

const fromProbs = (probs: number[]) => Float32Array.from(probs, Math.log);

/** The set of tokens (and their counts) drawn over `n` samples, each from a fresh sampler with its own seed. */
function drawCounts(config: Partial<SamplerConfig>, logits: Float32Array, n: number): number[] {
  const counts = new Array<number>(logits.length).fill(0);
  const sampler = new Sampler({ ...config, seed: 99 });
  for (let i = 0; i < n; i++) counts[sampler.sample(logits)]!++;
  return counts;
}

const support = (counts: number[]) => counts.flatMap((c, i) => (c > 0 ? [i] : []));

function chiSquare(counts: number[], probs: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((acc, c, i) => acc + (c - n * probs[i]!) ** 2 / (n * probs[i]!), 0);
}

const softmax = (logits: number[], t = 1) => {
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp((l - max) / t));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
};

describe("Sampler stages", () => {
  it("greedy is the argmax, ties to the lowest id, and draws no random number", () => {
    const s = new Sampler({ temperature: 0, seed: 5 });
    const rngBefore = s.state().rng;
    expect(s.sample(Float32Array.from([0.1, 2, -1, 1.9]))).toBe(1);
    expect(s.sample(Float32Array.from([0, 3, 1, 3, 3]))).toBe(1);
    expect(s.sample(Float32Array.from([-Infinity, NaN, -5, -5]))).toBe(2);
    expect(s.sample(Float32Array.from([Infinity, Infinity]))).toBe(0);
    expect(s.state().rng).toEqual(rngBefore);
    // Greedy ignores the other filters.
    expect(new Sampler({ temperature: 0, topK: 1, topP: 0.1, minP: 0.9 }).sample(Float32Array.from([1, 5, 2]))).toBe(1);
  });

  it("switching to greedy and back has no hidden effect on the random stream", () => {
    const logits = fromProbs([0.3, 0.3, 0.4]);
    const plain = new Sampler({ seed: 11 });
    const a = Array.from({ length: 20 }, () => plain.sample(logits));
    // Same seed, but before every draw a greedy sampler takes a step from the same state (penalties are off).
    let current = new Sampler({ seed: 11 });
    const b: number[] = [];
    for (let i = 0; i < 20; i++) {
      const greedy = Sampler.fromState({ ...current.state(), config: { ...current.config, temperature: 0 } });
      expect(greedy.sample(logits)).toBe(2);
      current = Sampler.fromState({ ...greedy.state(), config: { ...current.config } });
      b.push(current.sample(logits));
    }
    expect(b).toEqual(a);
  });

  it("topK = 1 equals greedy for any temperature", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 1, maxLength: 30 }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        fc.integer(),
        (values, temperature, seed) => {
          const logits = Float32Array.from(values, (v) => v / 2);
          const greedy = new Sampler({ temperature: 0 }).sample(logits);
          expect(new Sampler({ temperature, topK: 1, seed }).sample(logits)).toBe(greedy);
        },
      ),
    );
  });

  it("top-k keeps the k highest logits (ties to the lowest id)", () => {
    const logits = Float32Array.from([1, 3, 2, 3, 0, 2.5]);
    expect(support(drawCounts({ topK: 2 }, logits, 2000))).toEqual([1, 3]);
    expect(support(drawCounts({ topK: 3 }, logits, 2000))).toEqual([1, 3, 5]);
    expect(support(drawCounts({ topK: 4, temperature: 5 }, logits, 4000))).toEqual([1, 2, 3, 5]);
    // Tie at the boundary: of the two 2.0s... ids 2 and 6 tie, the lower id is kept.
    expect(support(drawCounts({ topK: 2, temperature: 50 }, Float32Array.from([0, 1, 2, 0, 0, 0, 2, 1]), 2000))).toEqual([2, 6]);
    expect(support(drawCounts({ topK: 1, temperature: 50 }, Float32Array.from([0, 1, 2, 0, 0, 0, 2, 1]), 500))).toEqual([2]);
  });

  it("top-p keeps the minimal most-likely prefix whose probability reaches p", () => {
    const logits = fromProbs([0.15, 0.5, 0.05, 0.3]);
    expect(support(drawCounts({ topP: 0.4 }, logits, 2000))).toEqual([1]);
    expect(support(drawCounts({ topP: 0.79 }, logits, 2000))).toEqual([1, 3]);
    expect(support(drawCounts({ topP: 0.81 }, logits, 4000))).toEqual([0, 1, 3]);
    expect(support(drawCounts({ topP: 0.96 }, logits, 6000))).toEqual([0, 1, 2, 3]);
    // Top-p works on the temperature-1 probabilities even when sampling at another temperature (llama.cpp order).
    expect(support(drawCounts({ topP: 0.79, temperature: 20 }, logits, 2000))).toEqual([1, 3]);
    // After top-k: renormalised over the k kept (0.5 / 0.8 = 0.625 >= 0.6).
    expect(support(drawCounts({ topK: 2, topP: 0.6 }, logits, 2000))).toEqual([1]);
    expect(support(drawCounts({ topK: 2, topP: 0.65 }, logits, 2000))).toEqual([1, 3]);
  });

  it("top-p over a large vocabulary selects far past the first partial sort (nucleus of ~900 tokens)", () => {
    // 1000 equally likely tokens hold 90% of the mass; 4000 others share 10%. Ties rank by id, so topP = 0.85
    // keeps exactly ids 0..K-1 with K = ceil(0.85 / p) where p = 0.9 / 1000.
    const n = 5000;
    const logits = new Float32Array(n);
    for (let i = 0; i < n; i++) logits[i] = i < 1000 ? Math.log(0.9 / 1000) : Math.log(0.1 / 4000);
    const probs = softmax(Array.from(logits));
    let cum = 0;
    let k = 0;
    while (cum < 0.85) cum += probs[k++]!;
    expect(k).toBe(945);
    const counts = drawCounts({ topP: 0.85 }, logits, 20_000);
    const drawn = support(counts);
    expect(drawn.at(-1)).toBe(k - 1);
    expect(drawn.length).toBeGreaterThan(930);
    // Uniform over the kept 945.
    expect(chiSquare(counts.slice(0, k), new Array<number>(k).fill(1 / k))).toBeLessThan(1100);
  });

  it("min-p keeps tokens with p >= minP * pMax", () => {
    const logits = fromProbs([0.1, 0.4, 0.2, 0.3]);
    expect(support(drawCounts({ minP: 0.8 }, logits, 2000))).toEqual([1]);
    expect(support(drawCounts({ minP: 0.6 }, logits, 2000))).toEqual([1, 3]);
    expect(support(drawCounts({ minP: 0.3 }, logits, 4000))).toEqual([1, 2, 3]);
    expect(support(drawCounts({ minP: 0.2 }, logits, 6000))).toEqual([0, 1, 2, 3]);
    expect(support(drawCounts({ minP: 1, temperature: 10 }, Float32Array.from([1, 2, 0, 2]), 1000))).toEqual([1, 3]);
    // After top-p, relative to the best kept token.
    expect(support(drawCounts({ topP: 0.75, minP: 0.7 }, logits, 2000))).toEqual([1, 3]);
  });

  it("the sampled distribution matches softmax(logits / T), also after top-k", () => {
    const values = [1.2, -0.3, 0.4, 2.0, 0.0, -1.0];
    const logits = Float32Array.from(values);
    for (const temperature of [1, 0.7, 2.5]) {
      const counts = drawCounts({ temperature }, logits, 60_000);
      // 5 degrees of freedom: P(chi2 > 30) < 2e-5.
      expect(chiSquare(counts, softmax(values, temperature))).toBeLessThan(30);
    }
    const top3 = drawCounts({ temperature: 0.9, topK: 3 }, logits, 60_000);
    expect(support(top3)).toEqual([0, 2, 3]);
    const p = softmax([values[0]!, values[2]!, values[3]!], 0.9);
    expect(chiSquare([top3[0]!, top3[2]!, top3[3]!], p)).toBeLessThan(25);
  });
});

describe("Sampler API", () => {
  it("does not modify the caller's logits", () => {
    const logits = Float32Array.from([1, NaN, Infinity, -2, 0.5]);
    const copy = Array.from(logits);
    const s = new Sampler({ repetitionPenalty: 1.3, frequencyPenalty: 1, topK: 3, topP: 0.9, minP: 0.1 });
    s.accept(0);
    s.accept(4);
    s.sample(logits);
    s.sampleWithLogprobs(logits, 3);
    expect(Array.from(logits)).toEqual(copy);
  });

  it("rejects empty logits, all -Infinity, bad token ids and bad topN", () => {
    expect(() => new Sampler({}).sample(new Float32Array(0))).toThrow(/empty/);
    expect(() => new Sampler({}).sample(Float32Array.from([-Infinity, NaN]))).toThrow(/finite/);
    expect(() => new Sampler({ temperature: 0 }).sample(Float32Array.from([-Infinity]))).toThrow(/finite/);
    expect(() => new Sampler({}).accept(-1)).toThrow(RangeError);
    expect(() => new Sampler({}).accept(1.5)).toThrow(RangeError);
    expect(() => new Sampler({}).sampleWithLogprobs(Float32Array.from([1]), -1)).toThrow(RangeError);
  });

  it("handles vocabularies of different sizes with one sampler", () => {
    const s = new Sampler({ temperature: 0 });
    expect(s.sample(Float32Array.from([0, 1, 5, 2]))).toBe(2);
    expect(s.sample(Float32Array.from([9, 1]))).toBe(0);
    expect(s.sample(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]))).toBe(7);
  });

  it("sampleWithLogprobs picks the same token as sample and reports log-softmax(penalised logits / T)", () => {
    const values = [0.5, 2, -1, 2, 1, -Infinity];
    const logits = Float32Array.from(values);
    for (const config of [{ temperature: 0.8, seed: 3 }, { temperature: 0, seed: 3 }, { temperature: 1.5, topK: 2, seed: 8 }]) {
      const a = new Sampler(config);
      const b = new Sampler(config);
      for (let i = 0; i < 20; i++) {
        const r = b.sampleWithLogprobs(logits, 3);
        expect(r.token).toBe(a.sample(logits));
        const t = config.temperature || 1;
        const lp = softmax(values.slice(0, 5), t).map(Math.log);
        expect(r.logprob).toBeCloseTo(lp[r.token]!, 10);
        expect(r.top.map((x) => x.token)).toEqual([1, 3, 4]);
        r.top.forEach((x) => expect(x.logprob).toBeCloseTo(lp[x.token]!, 10));
      }
      expect(b.state()).toEqual(a.state());
    }
    // topN larger than the tokens with non-zero probability; topN 0.
    expect(new Sampler({}).sampleWithLogprobs(logits, 10).top.map((x) => x.token)).toEqual([1, 3, 4, 0, 2]);
    expect(new Sampler({}).sampleWithLogprobs(logits, 0).top).toEqual([]);
  });
});
