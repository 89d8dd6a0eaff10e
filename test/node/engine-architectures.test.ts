// Each model family (llama 3 RoPE divisors, qwen2, qwen3, SmolLM2's vocabulary) against llama.cpp's logits on a tiny synthetic model with a real vocabulary.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { ARCH_CASES, type ArchOracle, type ArchRun, type ArchRunType } from "../../scripts/lib/arch-cases";
import { synthModel } from "../../scripts/lib/synth/model";
import { optionalFixtures, readFixture } from "../helpers/fixtures";

const oracleOf = (name: string): ArchOracle =>
  JSON.parse(readFileSync(new URL(`../fixtures/arch-oracles/${name}.json`, import.meta.url), "utf8")) as ArchOracle;

// Tolerance in units of S = max(1, max |llama.cpp logit| of the row). F32 weights: both sides compute in float32 and
// differ only in summation order and RoPE angle precision (llama.cpp's angle is float32); a wrong switch (bias missing,
// NeoX pairs rotated as adjacent, q/k norm skipped, rope_freqs ignored) moves logits by 1e-2·S and more.
const F32_TOL = 1e-4;

/** Logits after every prefix of `ids`, one token per forward pass as the oracle was made. */
function teacherForced(model: LlamaModel, ids: readonly number[]): Float32Array[] {
  const ctx = new LlamaContext(model, { nCtx: 256 });
  try {
    return ids.map((id) => ctx.evaluate([id]).slice());
  } finally {
    ctx.dispose();
  }
}

/** Greedy ids compared up to (and including) the first step where llama.cpp's top-1/top-2 margin was below `floor`. */
function greedy(model: LlamaModel, run: ArchRun): number[] {
  const ctx = new LlamaContext(model, { nCtx: 256 });
  try {
    let logits = ctx.evaluate(run.promptIds);
    const out: number[] = [];
    for (let s = 0; s < run.generatedIds.length; s++) {
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
      out.push(best);
      logits = ctx.evaluate([best]);
    }
    return out;
  } finally {
    ctx.dispose();
  }
}

function worstRow(got: Float32Array[], run: ArchRun): { row: number; err: number } {
  let worst = { row: -1, err: 0 };
  run.rows.forEach((r, p) => {
    r.cols.forEach((c, j) => {
      const err = Math.abs(got[p]![c]! - r.logits[j]!) / r.scale;
      if (err > worst.err) worst = { row: p, err };
    });
  });
  return worst;
}

for (const c of ARCH_CASES) {
  const set = optionalFixtures([c.vocab]);
  describe.skipIf(!set.available)(`${c.name} (${c.vocab})`, () => {
    const oracle = oracleOf(c.name);
    const vocab = set.available ? readFixture(c.vocab) : new Uint8Array();
    const bytesOf = (type: ArchRunType) => synthModel({ ...c.synth, type, vocabFrom: vocab });
    const files = new Map<ArchRunType, Uint8Array>();
    const file = (type: ArchRunType) => files.get(type) ?? files.set(type, bytesOf(type)).get(type)!;

    it("the generator writes the very files the oracle was made from", () => {
      for (const type of ["f32", "q8_0"] as const) {
        expect(createHash("sha256").update(file(type)).digest("hex"), type).toBe(oracle.runs[type].modelSha256);
      }
    });

    it("our tokenizer gives llama.cpp's ids for the prompt and the text", () => {
      const model = LlamaModel.load(file("q8_0"), createBackend("ref"));
      const bos = oracle.runs.q8_0.textIds[0]!;
      expect([bos, ...model.tokenizer.encode(c.text, { addBos: false })]).toEqual(oracle.runs.q8_0.textIds);
      expect([bos, ...model.tokenizer.encode(c.prompt, { addBos: false })]).toEqual(oracle.runs.q8_0.promptIds);
    });

    describe.each(["ref", "wasm-simd128", "wasm-relaxed"])("%s", (backend) => {
      it(`F32 weights: logits at every position of the text within ${F32_TOL}·S of llama.cpp`, () => {
        const run = oracle.runs.f32;
        const got = teacherForced(LlamaModel.load(file("f32"), createBackend(backend)), run.textIds);
        const worst = worstRow(got, run);
        expect(worst.err, `row ${worst.row}`).toBeLessThanOrEqual(F32_TOL);
      });

      it("Q8_0 weights: greedy continuation equals llama.cpp's, logits within the same bound", () => {
        const run = oracle.runs.q8_0;
        const model = LlamaModel.load(file("q8_0"), createBackend(backend));
        expect(greedy(model, run)).toEqual(run.generatedIds);
        const worst = worstRow(teacherForced(model, run.textIds), run);
        expect(worst.err, `row ${worst.row}`).toBeLessThanOrEqual(F32_TOL);
      });
    });
  });
}
