// Logits of both wasm builds on the K-quant and legacy oracle files against llama.cpp's native kernels (Q8_K/Q8_0/Q8_1 activations).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { readGguf } from "../../src/gguf/index";
import { wasmMatrixBytes } from "../../src/backends/wasm/formats";
import { optionalFixtures, readFixture, readFixtureText } from "../helpers/fixtures";
import type { LogitOracle } from "../helpers/reference";
import { maxAbsDiff } from "../helpers/reference";

/** Oracle files whose weight types were added to the wasm format table by the K-quant work (BF16, legacy, K-quants). */
const RUNS = ["BF16", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K", "Q4_K_M", "Q5_K_M"].map((t) => `kquant-gqa-${t}`);
const set = optionalFixtures(RUNS.flatMap((f) => [`oracle/${f}.gguf`, `oracle/${f}.logits.json`]));

// As engine-oracle.test.ts holds the ref backend's ggml mode, in units of S = max(1, max |reference logit|): the wasm
// kernels quantize activations to Q8_K / Q8_0 / Q8_1 as llama.cpp does and sum each block in exact integers, so they agree with
// llama.cpp's native kernels (and with the ref backend) to float rounding: 1e-5·S (measured ≤ 4.8e-7·S on both builds).
// One exception is physics, not a bug: a float rounding difference of an ulp can move a near-tie activation across a
// Q8_K rounding boundary, which shifts later logits by a whole quant step (the oracle README's "single-step flips",
// 1-2 % of S). ggml accumulates blocks with FMA; the relaxed build does too (relaxed_madd), the SIMD128 build cannot
// (mul, then add), and on Q5_K that flips one activation of token 1 (6.9e-3·S at position 1 only; positions 0, 2-4
// agree to 2.3e-7·S). So: at most one prompt position may exceed 1e-5·S, and none the README's 3e-2·S for such engines.
// Q5_1: an early activation of this file is a near-tie that flips with the f32 summation order of the Q5_1 dot:
// ggml sums eight lanes per block, wasm four rows' exact integers per block, so every position moves by 5.8e-3 to
// 7.0e-3·S (the ref backend shows the same flip unless it emulates ggml's lane order op for op). Held at the README's
// 3e-2·S at every position, against llama.cpp and the ref backend alike.
const FLIPS = new Set(["kquant-gqa-Q5_1"]);
const EXACT_TOL = 1e-5;
const FLIP_TOL = 3e-2;

/** Max |Δ| per prompt position (rows of `vocab` logits). */
function positionDiffs(got: Float32Array, want: ArrayLike<number>, vocab: number): number[] {
  return Array.from({ length: got.length / vocab }, (_, p) => maxAbsDiff(got.subarray(p * vocab, (p + 1) * vocab), Array.prototype.slice.call(want, p * vocab, (p + 1) * vocab)));
}

function expectCloseOrOneFlip(diffs: number[], s: number): void {
  expect(Math.max(...diffs)).toBeLessThanOrEqual(FLIP_TOL * s);
  expect(diffs.filter((d) => d > EXACT_TOL * s).length).toBeLessThanOrEqual(1);
}

function scaleOf(rows: number[][]): number {
  return Math.max(1, ...rows.map((r) => Math.max(...r.map(Math.abs))));
}

describe.skipIf(!set.available).each(["wasm-simd128", "wasm-relaxed"])("%s on the K-quant oracle files", (backend) => {
  describe.each(RUNS)("%s", (name) => {
    it("logits at every prompt position match llama.cpp's native kernels (kvF32) and the ref backend", () => {
      const oracle = JSON.parse(readFixtureText(`oracle/${name}.logits.json`)) as LogitOracle;
      const model = LlamaModel.load(readFixture(`oracle/${name}.gguf`), createBackend(backend));
      const got = new LlamaContext(model, { nCtx: 64 }).evaluate(oracle.promptIds, { allLogits: true });
      const expected = oracle.kvF32.logitsAllPositions;
      const vocab = expected[0]!.length;
      const s = scaleOf(expected);
      const diffs = positionDiffs(got, expected.flat(), vocab);
      // The ref backend's ggml mode is the same computation in plain TS.
      const ref = new LlamaContext(LlamaModel.load(readFixture(`oracle/${name}.gguf`), new RefBackend({ activations: "ggml" })), { nCtx: 64 });
      const refDiffs = positionDiffs(got, ref.evaluate(oracle.promptIds, { allLogits: true }), vocab);
      const show = (d: number[]) => d.map((x) => (x / s).toExponential(1)).join(" ");
      console.log(`${backend} ${name}: max |Δlogit|/S per position vs llama.cpp ${show(diffs)}; vs ref ${show(refDiffs)}`);
      for (const d of [diffs, refDiffs]) {
        if (FLIPS.has(name)) expect(Math.max(...d)).toBeLessThanOrEqual(FLIP_TOL * s);
        else expectCloseOrOneFlip(d, s);
      }
    });

    // The budget check before a ranged load (src/protocol/model-file.ts estimatedWeightBytes) sizes matrices from the
    // header with the format table's packed sizes, vectors as f32: exactly what loading takes.
    it("the format table's packed sizes are the loaded weights' size", () => {
      const bytes = readFixture(`oracle/${name}.gguf`);
      const model = LlamaModel.load(bytes, createBackend(backend));
      const tensors = readGguf(bytes).tensors;
      const tensorBytes = tensors.reduce((n, t) => n + t.nBytes, 0);
      const estimate = tensors.reduce((n, t) => n + (t.dims.length === 1 ? t.nElements * 4 : wasmMatrixBytes(t.type, t.nElements / t.dims[0]!, t.dims[0]!, t.nBytes)), 0);
      const loaded = model.backend.memory().weightsBytes;
      console.log(`${backend} ${name}: weights ${loaded} bytes, tensors in the file ${tensorBytes}`);
      expect(loaded).toBe(estimate);
    });
  });
});
