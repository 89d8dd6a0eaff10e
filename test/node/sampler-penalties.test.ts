// Sampler penalties: repetition, frequency and presence penalties over the last penaltyLastN tokens, as llama.cpp applies them.
import { describe, expect, it } from "vitest";
import { Sampler, applyPenalties, type SamplerConfig } from "../../src/engine/sampler";

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
