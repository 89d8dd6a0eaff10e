// Logits of the ref backend against llama.cpp's oracles for the stories260K files and the kquant-gqa oracle set (all weight types).
import { describe, expect, it } from "vitest";
import { LlamaContext } from "../../src/engine/context";
import { optionalFixtures } from "../helpers/fixtures";
import { loadRefModel, logitOracle, maxAbsDiff } from "../helpers/reference";

const KQUANT = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K", "Q4_K_M", "Q5_K_M"].map((t) => `kquant-gqa-${t}`);
const STORIES = ["stories260K", "stories260K-Q8_0", "stories260K-Q4_0"];

/** Logits at every prompt position, flattened [pos × vocab]. */
function promptLogits(file: string, activations: "ggml" | "f32", promptIds: number[]): Float32Array {
  const ctx = new LlamaContext(loadRefModel(`${file}`, { activations }), { nCtx: 64 });
  return ctx.evaluate(promptIds, { allLogits: true });
}

function scaleOf(rows: number[][]): number {
  return Math.max(1, ...rows.map((r) => Math.max(...r.map(Math.abs))));
}

// Tolerances, in units of S = max(1, max |reference logit|) (see models/oracle/README.md for llama.cpp's floors):
// - "f32" activations are exact float math on the stored weights, the computation of llama.cpp's dequantF32 (and,
//   for F32 files, kvF32) runs, whose own float64 re-check agrees to 7.5e-6. We allow 1e-4·S: room for summation
//   order and exp/sin/cos, 100x below the smallest planted-bug effect. Measured: ≤ 4.4e-7·S on all 16 files.
// - "ggml" activations compute what llama.cpp's CPU backend computes (see test/node/engine-teacher-forced.test.ts,
//   where ref is exact on 128-token runs), so they are compared with llama.cpp's native kvF32 logits. These
//   oracles were made with ggml's AVX2 "haswell" kernels on one 5-token batch, while the ref backend reproduces the
//   single-token AVX-512 path (zen4/icelake builds). Every file but two measures ≤ 4e-7·S, and we assert 1e-5·S.
//   Held near their measured distance instead (1e-3·S and 1e-2·S, tighter than the oracle README's 3e-2·S): F16
//   (3.07e-4·S) and Q6_K (6.67e-3·S), because these two oracles record the
//   haswell build's 5-token batch path, not a computation the ref backend models: llama.cpp itself, run here with
//   the same haswell build one token per decode, is 1.42e-4·S (F16) and 6.67e-3·S (Q6_K) away from them, and with
//   the zen4 build (batch or token by token) 3.07e-4·S and 6.67e-3·S, the ref backend's figures (a batch takes
//   other kernels, e.g. llamafile's F16 GEMM for n ≥ 2 tokens, and one activation rounding lands on the other
//   side). Both files are held to 1e-5·S against the zen4 build's own 128-token runs in
//   test/node/engine-teacher-forced.test.ts, where ref is bit-identical to llama.cpp on every row.
const F32_TOL = 1e-4;
const GGML_EXACT_TOL = 1e-5;
/** The two haswell-batch oracles above: about 3x their measured distance, so a new error of that size still fails. */
const GGML_LOOSE_TOL = new Map([["kquant-gqa-F16", 1e-3], ["kquant-gqa-Q6_K", 1e-2]]);

// The kquant-gqa models are a larger fixture set (not shipped): present in the model directory, or skipped loudly.
const kquantSet = optionalFixtures(KQUANT.flatMap((n) => [`oracle/${n}.gguf`, `oracle/${n}.logits.json`]));
const NAMES = kquantSet.available ? [...KQUANT, ...STORIES] : STORIES;

describe.each(NAMES)("%s logits", (name) => {
  const file = name.startsWith("kquant") ? `oracle/${name}.gguf` : `${name}.gguf`;
  const oracle = logitOracle(name);

  it("f32 activations match llama.cpp's dequantized-F32 logits at every prompt position", () => {
    const expected = (oracle.dequantF32 ?? oracle.kvF32).logitsAllPositions;
    const got = promptLogits(file, "f32", oracle.promptIds);
    const diff = maxAbsDiff(got, expected.flat());
    expect(diff).toBeLessThanOrEqual(F32_TOL * scaleOf(expected));
  });

  it("ggml-style activations match llama.cpp's native kernels (kvF32) at every prompt position", () => {
    const expected = oracle.kvF32.logitsAllPositions;
    const got = promptLogits(file, "ggml", oracle.promptIds);
    const diff = maxAbsDiff(got, expected.flat());
    expect(diff).toBeLessThanOrEqual((GGML_LOOSE_TOL.get(name) ?? GGML_EXACT_TOL) * scaleOf(expected));
  });
});
