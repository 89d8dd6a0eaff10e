// The webgpu backend on the llama 3 arch oracle: the engine hands the rope_freqs divisors to the backend as host floats.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { ARCH_CASES, type ArchOracle, type ArchRunType } from "../../scripts/lib/arch-cases";
import { synthModel } from "../../scripts/lib/synth/model";
import { optionalFixtures, readFixture } from "../helpers/fixtures";
import { webGpuForTests } from "../helpers/webgpu";

const CASE = ARCH_CASES.find((c) => c.name === "llama3-rope-freqs")!;
const set = optionalFixtures([CASE.vocab]);
const gpu = await webGpuForTests();
// As engine-architectures.test.ts: in units of S = max(1, max |llama.cpp logit| of the row). Measured on the software
// adapter: 5e-7·S with the divisors; without them the worst row is off by 1.7e-3·S (F32) and 4.7e-3·S (Q8_0).
const TOL = 1e-4;

describe.skipIf(!set.available || !gpu.backend)("webgpu on the llama 3 rope_freqs oracle", () => {
  const oracle = JSON.parse(readFileSync(new URL(`../fixtures/arch-oracles/${CASE.name}.json`, import.meta.url), "utf8")) as ArchOracle;

  it.each(["f32", "q8_0"] as const)("%s weights: logits at every position of the text within 1e-4·S of llama.cpp", async (type: ArchRunType) => {
    const run = oracle.runs[type];
    const model = LlamaModel.load(synthModel({ ...CASE.synth, type, vocabFrom: readFixture(CASE.vocab) }), gpu.backend!);
    const ctx = new LlamaContext(model, { nCtx: 256 });
    try {
      const all = await ctx.evaluateAsync(run.textIds, { allLogits: true });
      const vocab = all.length / run.textIds.length;
      let worst = { row: -1, err: 0 };
      run.rows.forEach((r, p) => {
        r.cols.forEach((c, j) => {
          const err = Math.abs(all[p * vocab + c]! - r.logits[j]!) / r.scale;
          if (err > worst.err) worst = { row: p, err };
        });
      });
      expect(run.rows.length).toBe(run.textIds.length);
      expect(worst.err, `row ${worst.row}`).toBeLessThanOrEqual(TOL);
    } finally {
      ctx.dispose();
    }
  });
});
