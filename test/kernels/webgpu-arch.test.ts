// The webgpu backend on the llama 3 arch oracle: the engine hands the rope_freqs divisors to the backend as host floats,
// and they stay with the model when a lost device fails over to wasm.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { createBackendAsync } from "../../src/backends/select";
import { FailoverBackend } from "../../src/backends/webgpu/failover-backend";
import type { WebGpuBackend } from "../../src/backends/webgpu/webgpu-backend";
import { ARCH_CASES, type ArchOracle, type ArchRun, type ArchRunType } from "../../scripts/lib/arch-cases";
import { synthModel } from "../../scripts/lib/synth/model";
import { optionalFixtures, readFixture } from "../helpers/fixtures";
import { greedyTokens } from "../helpers/greedy";
import { webGpuForTests } from "../helpers/webgpu";

const CASE = ARCH_CASES.find((c) => c.name === "llama3-rope-freqs")!;
const set = optionalFixtures([CASE.vocab]);
const gpu = await webGpuForTests();
// As engine-architectures.test.ts: in units of S = max(1, max |llama.cpp logit| of the row). Measured on the software
// adapter: 5e-7·S with the divisors; without them the worst row is off by 1.7e-3·S (F32) and 4.7e-3·S (Q8_0).
const TOL = 1e-4;

/** The worst logit error, in units of the row's S, over every teacher-forced position of the text (one prefill). */
async function worstError(model: LlamaModel, run: ArchRun): Promise<{ row: number; err: number }> {
  const ctx = new LlamaContext(model, { nCtx: 256 });
  try {
    const all = await ctx.evaluateAsync(run.textIds, { allLogits: true });
    const vocab = all.length / run.textIds.length;
    expect(run.rows.length).toBe(run.textIds.length);
    let worst = { row: -1, err: 0 };
    run.rows.forEach((r, p) => {
      r.cols.forEach((c, j) => {
        const err = Math.abs(all[p * vocab + c]! - r.logits[j]!) / r.scale;
        if (err > worst.err) worst = { row: p, err };
      });
    });
    return worst;
  } finally {
    ctx.dispose();
  }
}

describe.skipIf(!set.available || !gpu.backend)("webgpu on the llama 3 rope_freqs oracle", () => {
  const oracle = JSON.parse(readFileSync(new URL(`../fixtures/arch-oracles/${CASE.name}.json`, import.meta.url), "utf8")) as ArchOracle;
  const file = (type: ArchRunType) => synthModel({ ...CASE.synth, type, vocabFrom: readFixture(CASE.vocab) });

  it.each(["f32", "q8_0"] as const)("%s weights: logits at every position of the text within 1e-4·S of llama.cpp", async (type) => {
    const worst = await worstError(LlamaModel.load(file(type), gpu.backend!), oracle.runs[type]);
    expect(worst.err, `row ${worst.row}`).toBeLessThanOrEqual(TOL);
  });

  it("a device lost mid-generation fails over to wasm, which rotates by the same divisors", async () => {
    const run = oracle.runs.q8_0;
    const warnings: string[] = [];
    const backend = await createBackendAsync("webgpu", { warn: (m) => warnings.push(m) });
    expect(backend).toBeInstanceOf(FailoverBackend);
    const model = LlamaModel.load(file("q8_0"), backend);
    const device = (backend as FailoverBackend).active as WebGpuBackend;
    const tokens = await greedyTokens(model, run.promptIds, run.generatedIds.length, (i) => {
      if (i === 5) device.destroy();
    });
    expect(warnings).toHaveLength(1);
    expect(backend.name).toMatch(/^wasm-/);
    expect(tokens).toEqual(run.generatedIds);
    // Greedy tokens alone would survive dropped divisors on this model: the logits would not.
    const worst = await worstError(model, run);
    expect(worst.err, `row ${worst.row}`).toBeLessThanOrEqual(TOL);
  });
});
