// Logits of both wasm builds on the K-quant oracle files against llama.cpp's native kernels (Q8_K activations).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { ModelError } from "../../src/engine/errors";
import { LlamaModel } from "../../src/engine/model";
import { optionalFixtures, readFixture, readFixtureText } from "../helpers/fixtures";
import type { LogitOracle } from "../helpers/reference";
import { maxAbsDiff } from "../helpers/reference";

/** Files whose every weight type is in the wasm format table, and files with a type it lacks (refused at load). */
const RUNS = ["Q4_K", "Q6_K", "Q4_K_M"].map((t) => `kquant-gqa-${t}`);
const REFUSED = [["Q5_K", "Q5_K"], ["Q5_K_M", "Q5_K"], ["Q4_1", "Q4_1"], ["Q5_0", "Q5_0"], ["Q5_1", "Q5_1"]].map(([f, t]) => [`kquant-gqa-${f}`, t!] as const);
const set = optionalFixtures([...RUNS, ...REFUSED.map(([f]) => f)].flatMap((f) => [`oracle/${f}.gguf`, `oracle/${f}.logits.json`]));

// As engine-oracle.test.ts holds the ref backend's ggml mode, in units of S = max(1, max |reference logit|): the wasm
// kernels quantize activations to Q8_K as llama.cpp does, so where llama.cpp's 5-token batch runs the same arithmetic
// (Q4_K, Q4_K_M) they must agree to 1e-5·S; for Q6_K llama.cpp's batch takes another kernel path (the ref backend
// measured 1.3e-2..2.1e-2·S there), so the oracle README's 3e-2·S. Both builds must also agree with the ref backend,
// as tightly, except on Q6_K: wasm's rmsnorm rounds as f64 (the ref backend's now rounds as ggml's f32 ops), which moves
// a near-tie of one Q8_K activation of token 0 across a rounding boundary (Δ = one quant step from position 1 on,
// measured 2.4e-2; position 0 agrees to 6e-8). Matching ggml's rmsnorm rounding in wasm removes it.
const EXACT_TOL = 1e-5;
const LOOSE_TOL = 3e-2;
const LOOSE = new Set(["kquant-gqa-Q6_K"]);

function scaleOf(rows: number[][]): number {
  return Math.max(1, ...rows.map((r) => Math.max(...r.map(Math.abs))));
}

describe.skipIf(!set.available).each(["wasm-simd128", "wasm-relaxed"])("%s on the K-quant oracle files", (backend) => {
  describe.each(RUNS)("%s", (name) => {
    it("logits at every prompt position match llama.cpp's native kernels (kvF32)", () => {
      const oracle = JSON.parse(readFixtureText(`oracle/${name}.logits.json`)) as LogitOracle;
      const model = LlamaModel.load(readFixture(`oracle/${name}.gguf`), createBackend(backend));
      const got = new LlamaContext(model, { nCtx: 64 }).evaluate(oracle.promptIds, { allLogits: true });
      const expected = oracle.kvF32.logitsAllPositions;
      const diff = maxAbsDiff(got, expected.flat());
      console.log(`${backend} ${name}: max |Δlogit| ${diff.toExponential(2)} (S = ${scaleOf(expected).toFixed(2)})`);
      expect(diff).toBeLessThanOrEqual((LOOSE.has(name) ? LOOSE_TOL : EXACT_TOL) * scaleOf(expected));
      // The ref backend's ggml mode is the same computation in plain TS: agreement within summation order.
      const ref = new LlamaContext(LlamaModel.load(readFixture(`oracle/${name}.gguf`), new RefBackend({ activations: "ggml" })), { nCtx: 64 });
      const refDiff = maxAbsDiff(got, ref.evaluate(oracle.promptIds, { allLogits: true }));
      console.log(`${backend} ${name}: max |Δlogit| vs ref ${refDiff.toExponential(2)}`);
      expect(refDiff).toBeLessThanOrEqual((LOOSE.has(name) ? LOOSE_TOL : EXACT_TOL) * scaleOf(expected));
    });
  });

  it.each(REFUSED)("%s is refused at load with a ModelError naming a %s tensor", (name, type) => {
    const load = () => LlamaModel.load(readFixture(`oracle/${name}.gguf`), createBackend(backend));
    expect(load).toThrow(ModelError);
    expect(load).toThrow(new RegExp(`tensor \\S+ has type ${type}, which the ${backend} backend cannot use`));
  });
});
