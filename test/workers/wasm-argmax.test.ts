// Greedy picks inside workerd: the argmax kernel (both builds) against the TS pick, and picked generations equal whole-row ones.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-workers";
import { createBackend } from "../../src/backends/select";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import { LlamaModel } from "../../src/engine/model";
import { Sampler } from "../../src/engine/sampler";
import { bestOf, useArgmaxLogits } from "../../src/shard/greedy";
import { argmaxRow, ROW_KINDS, rowRng } from "../kernels/argmax-rows";

interface Reference {
  models: { file: string; runs: { promptTokens: number[]; generatedTokens: number[] }[] }[];
}

describe.each(["wasm-simd128", "wasm-relaxed"])("%s in workerd", (name) => {
  it("argmax_f32 picks as the sampler does on rows of every kind, lengths 1..37 and 49,152", () => {
    const backend = createBackend(name) as WasmBackend;
    const rand = rowRng(5);
    const check = (row: Float32Array, offset: number) => {
      const buf = backend.createBuffer(offset + row.length);
      backend.write(buf, row, offset);
      const got = backend.argmax(buf, offset, row.length);
      backend.release(buf);
      expect({ token: got.index, logit: got.value }).toEqual(bestOf(row, 0));
    };
    for (const kind of ROW_KINDS) {
      for (let n = 1; n <= 37; n++) for (let rep = 0; rep < 3; rep++) check(argmaxRow(kind, n, rand), rep);
      check(argmaxRow(kind, 49_152, rand), 1);
    }
  });

  it("greedy picks give llama.cpp's 64 tokens on stories260K, as whole rows do, without reading a row", async () => {
    const reference = JSON.parse(env.TEST_REFERENCE_OUTPUTS) as Reference;
    const model = LlamaModel.load(new Uint8Array(env.TEST_MODEL_STORIES260K), createBackend(name));
    const b = model.backend;
    const read = b.read.bind(b);
    let rowReads = 0;
    b.read = (src, off, n) => {
      if (n === model.config.vocabSize) rowReads++;
      return read(src, off, n);
    };
    for (const run of reference.models.find((m) => m.file === "stories260K.gguf")!.runs) {
      for (const picks of [false, true]) {
        const ctx = new LlamaContext(model, { nCtx: 128 });
        useArgmaxLogits(ctx, picks);
        rowReads = 0;
        const gen = generate(ctx, new Sampler({ temperature: 0 }), { input: run.promptTokens, maxTokens: 64 });
        let step = await gen.next();
        while (!step.done) step = await gen.next();
        expect(step.value.tokens).toEqual(run.generatedTokens);
        expect(rowReads).toBe(picks ? 0 : 64);
        ctx.dispose();
      }
    }
  });
});
