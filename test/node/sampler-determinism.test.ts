// Sampler determinism: the same seed gives the same tokens, and a run split through state()/JSON resumes exactly.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Sampler, type SamplerConfig } from "../../src/engine/sampler";

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
