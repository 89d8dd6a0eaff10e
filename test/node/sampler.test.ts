// Sampler: each stage of the chain on hand-made logits, the sampled distribution, validation, and exact resume through JSON.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Sampler, applyPenalties, type SamplerConfig } from "../../src/engine/sampler";

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

describe("penalties", () => {
  it("applyPenalties changes exactly the windowed tokens, as llama.cpp does", () => {
    const logits = Float32Array.from([2, -2, 0.5, 1, 3, 0]);
    const counts = new Int32Array(6);
    applyPenalties(logits, [0, 1, 0, 4, 5, 99, -1, 2.5, NaN], { repetitionPenalty: 2, frequencyPenalty: 0.5, presencePenalty: 0.25 }, counts);
    // token 0 (x2): 2/2 - (2*0.5 + 0.25); token 1: -2*2 - 0.75; token 4: 3/2 - 0.75; token 5: 0 is "<= 0" -> 0*2 - 0.75.
    expect(Array.from(logits)).toEqual([-0.25, -4.75, 0.5, 1, 0.75, -0.75]);
    expect(Array.from(counts)).toEqual([0, 0, 0, 0, 0, 0]);
    const untouched = Float32Array.from([1, 2]);
    applyPenalties(untouched, [0, 1], { repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0 });
    expect(Array.from(untouched)).toEqual([1, 2]);
    // Float32 arithmetic like llama.cpp's float fields.
    const f = Float32Array.from([1]);
    applyPenalties(f, [0], { repetitionPenalty: 1.1, frequencyPenalty: 0, presencePenalty: 0 });
    expect(f[0]).toBe(Math.fround(1 / Math.fround(1.1)));
  });

  const greedyAfter = (config: Partial<SamplerConfig>, history: number[], logits: number[]) => {
    const s = new Sampler({ temperature: 0, ...config });
    for (const t of history) s.accept(t);
    return s.sample(Float32Array.from(logits));
  };

  it("repetition penalty divides positive and multiplies negative logits", () => {
    expect(greedyAfter({ repetitionPenalty: 1.2 }, [0], [1, 0.9])).toBe(1); // 1/1.2 = 0.83 < 0.9
    expect(greedyAfter({ repetitionPenalty: 1.05 }, [0], [1, 0.9])).toBe(0); // 0.95 > 0.9
    expect(greedyAfter({ repetitionPenalty: 1.5 }, [0], [-1, -1.4])).toBe(1); // -1.5 < -1.4
    expect(greedyAfter({ repetitionPenalty: 0.5 }, [1], [1, 0.9])).toBe(1); // a penalty < 1 encourages: 1.8
  });

  it("frequency penalty scales with the count, presence penalty does not", () => {
    expect(greedyAfter({ frequencyPenalty: 0.3 }, [0], [1, 0.5])).toBe(0); // 0.7
    expect(greedyAfter({ frequencyPenalty: 0.3 }, [0, 0], [1, 0.5])).toBe(1); // 0.4
    expect(greedyAfter({ presencePenalty: 0.4 }, [0], [1, 0.5])).toBe(0); // 0.6
    expect(greedyAfter({ presencePenalty: 0.4 }, [0, 0, 0], [1, 0.5])).toBe(0); // still 0.6
    expect(greedyAfter({ presencePenalty: 0.6 }, [0], [1, 0.5])).toBe(1); // 0.4
    expect(greedyAfter({ frequencyPenalty: -1 }, [1], [1, 0.5])).toBe(1); // negative values encourage
  });

  it("penalties look only at the last penaltyLastN tokens (-1 = all, 0 = none), sampled tokens included", () => {
    expect(greedyAfter({ presencePenalty: 2, penaltyLastN: 2 }, [0, 1, 2], [1, 0.5, 0.4, 0.3])).toBe(0); // 0 left the window
    expect(greedyAfter({ presencePenalty: 2, penaltyLastN: 3 }, [0, 1, 2], [1, 0.5, 0.4, 0.3])).toBe(3);
    expect(greedyAfter({ presencePenalty: 2, penaltyLastN: 0 }, [0], [1, 0.5])).toBe(0);
    expect(greedyAfter({ presencePenalty: 2, penaltyLastN: -1 }, [0, ...new Array<number>(500).fill(1)], [1, 0.5, 0])).toBe(2);
    const s = new Sampler({ temperature: 0, presencePenalty: 2, penaltyLastN: 3 });
    const logits = Float32Array.from([3, 2.5, 2]);
    // Each pick is penalised next time: 0 (3), then 1 (2.5 vs 1), then 2 (2 vs 1, 0.5), then 0 again (window [0,1,2] all -2: 1 > 0.5 > 0).
    expect([s.sample(logits), s.sample(logits), s.sample(logits), s.sample(logits)]).toEqual([0, 1, 2, 0]);
    expect(s.state().history).toEqual([1, 2, 0]);
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

describe("determinism", () => {
  it("the same seed and logits give the same tokens; other seeds differ", () => {
    const logits = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i) * 2);
    const run = (seed: number) => {
      const s = new Sampler({ seed, temperature: 1.3 });
      return Array.from({ length: 50 }, () => s.sample(logits));
    };
    expect(run(2024)).toEqual(run(2024));
    expect(run(2024)).not.toEqual(run(2025));
  });

  const configArb: fc.Arbitrary<Partial<SamplerConfig>> = fc.record({
    temperature: fc.oneof(fc.constant(0), fc.double({ min: 0.05, max: 3, noNaN: true })),
    topK: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })),
    topP: fc.oneof(fc.constant(1), fc.double({ min: 0.05, max: 1, noNaN: true })),
    minP: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
    repetitionPenalty: fc.oneof(fc.constant(1), fc.double({ min: 0.5, max: 2, noNaN: true })),
    frequencyPenalty: fc.double({ min: -2, max: 2, noNaN: true }),
    presencePenalty: fc.double({ min: -2, max: 2, noNaN: true }),
    penaltyLastN: fc.integer({ min: -1, max: 20 }),
    seed: fc.maxSafeInteger().chain((s) => fc.constantFrom(s, -s)),
  });

  it("split-and-resume through state()/JSON equals an uninterrupted run (random configs and logits streams)", () => {
    fc.assert(
      fc.property(
        configArb,
        fc.integer({ min: 1, max: 80 }),
        fc.array(fc.nat(79), { maxLength: 10 }),
        fc.array(fc.array(fc.double({ min: -8, max: 8, noNaN: true }), { minLength: 80, maxLength: 80 }), { minLength: 2, maxLength: 25 }),
        fc.nat(),
        fc.array(fc.boolean(), { minLength: 25, maxLength: 25 }),
        (config, vocab, prompt, stream, splitAt, withLogprobs) => {
          const steps = stream.map((row) => Float32Array.from(row.slice(0, vocab)));
          const promptIds = prompt.map((t) => t % vocab);
          const step = (s: Sampler, i: number) => (withLogprobs[i] ? s.sampleWithLogprobs(steps[i]!, 3).token : s.sample(steps[i]!));

          const whole = new Sampler(config);
          promptIds.forEach((t) => whole.accept(t));
          const expected = steps.map((_, i) => step(whole, i));

          const cut = splitAt % (steps.length + 1);
          let part = new Sampler(config);
          promptIds.forEach((t) => part.accept(t));
          const got: number[] = [];
          for (let i = 0; i < steps.length; i++) {
            if (i === cut) part = Sampler.fromState(JSON.parse(JSON.stringify(part.state())));
            got.push(step(part, i));
          }
          expect(got).toEqual(expected);
          expect(part.state()).toEqual(whole.state());
        },
      ),
      { numRuns: 300 },
    );
  });

  it("samples a 50k vocabulary with top-k 40 / top-p 0.95 quickly", () => {
    const n = 50_000;
    const logits = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 4 + (i % 97) / 30);
    const s = new Sampler({ topK: 40, topP: 0.95, minP: 0.05, temperature: 0.8, repetitionPenalty: 1.1, seed: 1 });
    const free = new Sampler({ topP: 0.95, temperature: 0.8, seed: 1 });
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) {
      s.sample(logits);
      free.sample(logits);
    }
    const ms = (performance.now() - t0) / 200;
    // Generous bound (CI noise); the point is no full sort and no per-call allocation of vocab-sized arrays.
    expect(ms).toBeLessThan(20);
  });
});
