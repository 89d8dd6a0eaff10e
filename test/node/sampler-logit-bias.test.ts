// OpenAI's logit_bias in the sampler: added before penalties, greedy included, -100 bans, per request (not in state()), checked ids.
import { describe, expect, it } from "vitest";
import { Sampler, applyLogitBias, checkLogitBias } from "../../src/engine/sampler";

const logits = () => Float32Array.from([1, 3, 2, 0.5]);

describe("logit_bias", () => {
  it("is added to the logits in float32; -100 makes the token impossible", () => {
    const l = logits();
    applyLogitBias(l, [[0, 2.5], [1, -100], [3, 0.1], [9, 5]]);
    expect(Array.from(l)).toEqual([3.5, -Infinity, 2, Math.fround(0.5 + 0.1)]);
  });

  it("steers greedy decoding: a bias overturns the argmax, a ban removes it", () => {
    const s = new Sampler({ temperature: 0 });
    expect(s.sample(logits())).toBe(1);
    s.setLogitBias([[1, -100]]);
    expect(s.sample(logits())).toBe(2);
    s.setLogitBias([[3, 10]]);
    expect(s.sample(logits())).toBe(3);
    s.setLogitBias(null);
    expect(s.sample(logits())).toBe(1);
  });

  it("a banned token is never sampled and has no probability in logprobs; +100 all but forces a token", () => {
    const s = new Sampler({ temperature: 1.5, seed: 7 });
    s.setLogitBias([[1, -100], [2, -100]]);
    for (let i = 0; i < 200; i++) expect([0, 3]).toContain(s.sample(logits()));
    const { top } = s.sampleWithLogprobs(logits(), 4);
    expect(top.map((t) => t.token).sort()).toEqual([0, 3]);
    s.setLogitBias([[3, 100]]);
    for (let i = 0; i < 50; i++) expect(s.sample(logits())).toBe(3);
  });

  it("is not part of the sampler's state: a restored sampler samples without it", () => {
    const s = new Sampler({ temperature: 0 });
    s.setLogitBias([[1, -100]]);
    expect(Sampler.fromState(JSON.parse(JSON.stringify(s.state()))).sample(logits())).toBe(1);
  });

  it("checks ids against the vocabulary, the bias range, and refuses banning every token", () => {
    expect(checkLogitBias([[3, -100], [0, 100]], 4)).toBeNull();
    expect(checkLogitBias([[4, 1]], 4)).toMatch(/token id 4 is not in this model's vocabulary \(0\.\.3\)/);
    expect(checkLogitBias([[1, 101]], 4)).toMatch(/\[-100, 100\]/);
    expect(checkLogitBias([[0, -100], [1, -100], [2, -100], [3, -100]], 4)).toMatch(/bans every token/);
  });
});
