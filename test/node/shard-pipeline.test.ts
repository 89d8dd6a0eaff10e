// The layer pipeline in process: bit-identical logits and tokens against the single-object engine on the same backend, in ≥ 3 shards.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { createBackend } from "../../src/backends/select";
import { configFromGguf } from "../../src/engine/config";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import { LlamaModel } from "../../src/engine/model";
import { Sampler } from "../../src/engine/sampler";
import { readGguf } from "../../src/gguf/index";
import { inProcessShards } from "../../src/shard/in-process";
import { PipelineContext } from "../../src/shard/pipeline-context";
import { planShards } from "../../src/shard/plan";
import { readFixture } from "../helpers/fixtures";
import { referenceFor } from "../helpers/reference";

const MiB = 1 << 20;
const PLANS = [
  { name: "0.5 MiB (7 shards: embedding, one per layer, classifier)", budget: 0.5, maxBatch: 32, planCtx: 256 },
  { name: "0.24 MiB (embedding and classifier split by rows)", budget: 0.24, maxBatch: 4, planCtx: 16 },
  { name: "260 KiB (the classifier's first rows beside the last layer, the rest a slice)", budget: 260 / 1024, maxBatch: 4, planCtx: 16 },
];

async function greedy(ctx: LlamaContext, prompt: number[], n: number, onLogits?: (l: Float32Array) => void) {
  const g = generate(ctx, new Sampler({ temperature: 0 }), { input: prompt, maxTokens: n });
  let step = await g.next();
  while (!step.done) step = await g.next();
  void onLogits;
  return step.value.tokens;
}

describe.each(["ref", "wasm-simd128", "wasm-relaxed"])("%s backend", (backendName) => {
  describe.each(["stories260K.gguf", "stories260K-Q8_0.gguf"])("%s", (fileName) => {
    const file = readGguf(readFixture(fileName));
    const config = configFromGguf(file);
    const single = LlamaModel.load(file, createBackend(backendName));
    const reference = referenceFor(fileName);
    it.each(PLANS)("$name: logits of every prompt position bit-identical, greedy equal to llama.cpp", async ({ budget, maxBatch, planCtx }) => {
      const plan = planShards({ config, tensors: file.tensors }, { budgetBytes: budget * MiB, nCtx: planCtx, maxBatch });
      expect(plan.shards.length).toBeGreaterThanOrEqual(3);
      const shards = inProcessShards(file, config, plan, () => createBackend(backendName), maxBatch);
      const run = reference.runs[0]!;
      // All-position logits over the prompt, in the plan's batches.
      const a = new LlamaContext(single, { nCtx: 256, maxBatch });
      const { call, shards: hk } = shards.session("s1", 256);
      const b = new PipelineContext(single, 256, plan, call, hk, maxBatch);
      const la = a.evaluate(run.promptTokens, { allLogits: true });
      const lb = await b.evaluateAsync(run.promptTokens, { allLogits: true });
      expect(Buffer.from(lb.buffer).equals(Buffer.from(la.buffer))).toBe(true);
      // Greedy decode through the pipeline equals llama.cpp's stored run.
      const s2 = shards.session("s2", 256);
      const tokens = await greedy(new PipelineContext(single, 256, plan, s2.call, s2.shards, maxBatch).asContext(), run.promptTokens, 64);
      expect(tokens).toEqual(run.generatedTokens);
      // Every prompt position and every decoded one went through every layer shard exactly once.
      const layerShards = plan.shards.filter((s) => s.layers[1] > s.layers[0]).length;
      expect(shards.forwarded()).toBe(layerShards * (run.promptTokens.length + run.promptTokens.length + 63));
    });
  });
});

describe("rewind trims the shards: a rewound pipeline equals a fresh one", () => {
  it("decodes the same tokens after truncate as a fresh run over the kept tokens", async () => {
    const file = readGguf(readFixture("stories260K.gguf"));
    const config = configFromGguf(file);
    const model = LlamaModel.load(file, createBackend("ref"));
    const plan = planShards({ config, tensors: file.tensors }, { budgetBytes: 0.5 * MiB, nCtx: 128 });
    const shards = inProcessShards(file, config, plan, () => createBackend("ref"));
    const run = referenceFor("stories260K.gguf").runs[0]!;
    const s = shards.session("r", 128);
    const ctx = new PipelineContext(model, 128, plan, s.call, s.shards);
    const first = await greedy(ctx.asContext(), run.promptTokens, 20);
    const keep = run.promptTokens.length + 5;
    ctx.truncate(keep);
    const sampler = () => new Sampler({ temperature: 0.8, seed: 7 });
    const g = generate(ctx.asContext(), sampler(), { maxTokens: 15 });
    let step = await g.next();
    while (!step.done) step = await g.next();
    const fresh = new LlamaContext(model, { nCtx: 128 });
    fresh.append([...run.promptTokens, ...first.slice(0, 5)]);
    const h = generate(fresh, sampler(), { maxTokens: 15 });
    let st = await h.next();
    while (!st.done) st = await h.next();
    expect(step.value.tokens).toEqual(st.value.tokens);
  });
});

describe("a stories15M-shaped model (Q8_0, 32000-token vocabulary) at 8 MiB", () => {
  it("runs in ≥ 4 shards (embedding and classifier split by rows) with logits bit-identical to the single engine", async () => {
    const { synthModel } = await import("../../scripts/lib/synth/model");
    const file = readGguf(synthModel({ shape: "stories15M", type: "q8_0", seed: 1 }));
    const config = configFromGguf(file);
    const plan = planShards({ config, tensors: file.tensors }, { budgetBytes: 8 * MiB, nCtx: 256 });
    expect(plan.shards.length).toBeGreaterThanOrEqual(4);
    for (const s of plan.shards) expect(s.totalBytes).toBeLessThanOrEqual(8 * MiB);
    const single = LlamaModel.load(file, createBackend("ref"));
    const shards = inProcessShards(file, config, plan, () => createBackend("ref"));
    const prompt = single.tokenizer.encode("Once upon a time there was", { addBos: true });
    const a = new LlamaContext(single, { nCtx: 64 });
    const s = shards.session("s15", 64);
    const b = new PipelineContext(single, 64, plan, s.call, s.shards);
    const la = a.evaluate(prompt, { allLogits: true });
    const lb = await b.evaluateAsync(prompt, { allLogits: true });
    expect(Buffer.from(lb.buffer).equals(Buffer.from(la.buffer))).toBe(true);
    // Four decode steps, one position each.
    for (let i = 0; i < 4; i++) {
      const t = argmax(la.subarray(la.length - config.vocabSize));
      const da = a.evaluate([t]);
      const db = await b.evaluateAsync([t]);
      expect(Buffer.from(db.buffer).equals(Buffer.from(da.buffer))).toBe(true);
    }
  }, 300_000);
});

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}
