// selectBest, the weighted quickselect behind top-k and top-p, against a full sort on random candidates.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { selectBest } from "../../src/engine/select-best";

describe("selectBest (partial selection behind top-k and top-p)", () => {
  it("keeps the minimal best-first prefix reaching the target, ties by lowest id (against a full sort)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ logit: fc.integer({ min: -3, max: 3 }), weight: fc.integer({ min: 0, max: 5 }) }), { minLength: 1, maxLength: 60 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 200 }),
        (tokens, weighted, target) => {
          // Integer weights keep every sum exact, so the boundary is unambiguous.
          const work = Float32Array.from(tokens, (t) => t.logit);
          const weight = weighted ? Float64Array.from(tokens, (t) => t.weight) : null;
          const order = tokens.map((_, i) => i).sort((a, b) => work[b]! - work[a]! || a - b);
          let cum = 0;
          let want = 0;
          for (; want < order.length && cum < target; want++) cum += weight ? weight[order[want]!]! : 1;
          const idx = Int32Array.from(tokens, (_, i) => i);
          const r = selectBest(work, idx, tokens.length, weight, target);
          expect(Array.from(idx.subarray(0, r)).sort((a, b) => a - b)).toEqual(order.slice(0, want).sort((a, b) => a - b));
          expect(Array.from(idx).sort((a, b) => a - b)).toEqual(tokens.map((_, i) => i)); // a permutation
        },
      ),
      { numRuns: 2000 },
    );
  });
});
