// A tied model (classifier = token embedding) split by rows: greedy steps carry the pick's embedding row, so decode skips the embedding shards; logits stay bit-identical.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { createBackend } from "../../src/backends/select";
import { configFromGguf } from "../../src/engine/config";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { readGguf } from "../../src/gguf/index";
import { inProcessShards } from "../../src/shard/in-process";
import { roleOf, type ShardCaller } from "../../src/shard/pipeline";
import { PipelineContext } from "../../src/shard/pipeline-context";
import { planShards } from "../../src/shard/plan";

const MiB = 1 << 20;

/** The first largest logit, as the greedy sampler ranks them (ties to the lowest id). */
function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

describe.each([
  { backend: "ref", type: "q8_0" },
  { backend: "wasm-relaxed", type: "q8_0" },
  { backend: "wasm-relaxed", type: "q6_k" },
  { backend: "wasm-simd128", type: "q4_k" },
])("$backend, $type, tied 4096-token vocabulary", ({ backend, type }) => {
  it("decodes greedily without calling an embedding shard after the prompt, every pick's logit bit-identical", async () => {
    const { synthModel } = await import("../../scripts/lib/synth/model");
    const file = readGguf(synthModel({ shape: "tiny", overrides: { dim: 256, ffn: 512, layers: 4, heads: 4, kvHeads: 2, vocab: 4096, tied: true }, type, seed: 3 }));
    const config = configFromGguf(file);
    expect(config.tiedOutput).toBe(true);
    const maxBatch = 8;
    const total = planShards({ config, tensors: file.tensors }, { budgetBytes: 1024 * MiB, nCtx: 64, maxBatch }).shards[0]!.totalBytes;
    // A budget of a fifth of the model: embedding and classifier split by rows, layers over several shards.
    const plan = planShards({ config, tensors: file.tensors }, { budgetBytes: Math.ceil(total / 5), nCtx: 64, maxBatch });
    const roles = plan.shards.map((s) => roleOf(s, config.vocabSize));
    expect(roles.filter((r) => r === "embed-slice").length).toBeGreaterThan(1);
    expect(plan.shards.filter((s) => s.headRows).length).toBeGreaterThan(1);
    const single = LlamaModel.load(file, createBackend(backend));
    const shards = inProcessShards(file, config, plan, () => createBackend(backend), maxBatch);
    const s = shards.session("t", 64);
    const calls: { index: number; embedBest: boolean; tokens: number; x: boolean }[] = [];
    const call: ShardCaller = async (spec, input) => {
      calls.push({ index: spec.index, embedBest: input.embedBest === true, tokens: input.tokens.length, x: input.x !== undefined });
      return s.call(spec, input);
    };
    const ctx = new PipelineContext(single, 64, plan, call, s.shards, maxBatch);
    ctx.argmaxLogits(true);
    const a = new LlamaContext(single, { nCtx: 64, maxBatch });
    const prompt = Array.from({ length: 11 }, (_, i) => (i * 977 + 5) % config.vocabSize);
    let want = a.evaluate(prompt);
    ctx.append(prompt);
    for (let step = 0; step < 20; step++) {
      const row = await ctx.asContext().nextLogitsAsync();
      const t = argmax(want);
      // The greedy row holds the single engine's largest logit, bit for bit, at its token, and nothing else finite.
      expect(argmax(row)).toBe(t);
      expect(Object.is(row[t], want[t])).toBe(true);
      expect(row.filter((v) => v > -Infinity)).toHaveLength(1);
      expect(row).toHaveLength(t + 1); // the greedy row ends at the pick
      ctx.append([t]);
      want = a.evaluate([t]);
    }
    const embedCalls = calls.filter((c) => roles[c.index] === "embed-slice");
    // Only the prompt's batches looked tokens up; every decode step started from the row its previous pick brought back.
    expect(embedCalls.reduce((n, c) => n + c.tokens, 0)).toBe(prompt.length);
    const firstChain = roles.indexOf("chain");
    expect(calls.filter((c) => c.index === firstChain && c.x).length).toBe(Math.ceil(prompt.length / maxBatch) + 19);
    // Every classifier shard was asked for the pick's embedding row in the greedy steps.
    for (const h of plan.shards.filter((sp) => sp.headRows)) expect(calls.some((c) => c.index === h.index && c.embedBest)).toBe(true);
  }, 120_000);
});

describe("a token other than the last pick is looked up by the embedding shards", () => {
  it("a rewound, sampled or edited next token never uses the carried row", async () => {
    const { synthModel } = await import("../../scripts/lib/synth/model");
    const file = readGguf(synthModel({ shape: "tiny", overrides: { vocab: 4096, tied: true }, type: "q8_0", seed: 4 }));
    const config = configFromGguf(file);
    const total = planShards({ config, tensors: file.tensors }, { budgetBytes: 1024 * MiB, nCtx: 32, maxBatch: 4 }).shards[0]!.totalBytes;
    const plan = planShards({ config, tensors: file.tensors }, { budgetBytes: Math.ceil(total / 4), nCtx: 32, maxBatch: 4 });
    const roles = plan.shards.map((s) => roleOf(s, config.vocabSize));
    expect(roles.filter((r) => r === "embed-slice").length).toBeGreaterThan(1);
    const single = LlamaModel.load(file, createBackend("ref"));
    const s = inProcessShards(file, config, plan, () => createBackend("ref"), 4).session("u", 32);
    let embeds = 0;
    const ctx = new PipelineContext(single, 32, plan, async (spec, input) => ((embeds += roles[spec.index] === "embed-slice" ? 1 : 0), s.call(spec, input)), s.shards, 4);
    ctx.argmaxLogits(true);
    const a = new LlamaContext(single, { nCtx: 32, maxBatch: 4 });
    const la = a.evaluate([1, 2, 3]);
    ctx.append([1, 2, 3]);
    const pick = argmax(await ctx.asContext().nextLogitsAsync());
    expect(pick).toBe(argmax(la));
    // Another token than the pick: its row comes from the embedding shards, and the logits still equal the single engine's.
    const other = (pick + 1) % config.vocabSize;
    const before = embeds;
    ctx.append([other]);
    const row = await ctx.asContext().nextLogitsAsync();
    expect(embeds).toBe(before + 1);
    const lb = a.evaluate([other]);
    expect(argmax(row)).toBe(argmax(lb));
    expect(Object.is(row[argmax(lb)], lb[argmax(lb)])).toBe(true);
  }, 60_000);
});

describe("a tied model whose classifier's first rows sit beside the last layers", () => {
  it("that shard also sends the pick's embedding row; picks and logits equal the single engine", async () => {
    const { synthModel } = await import("../../scripts/lib/synth/model");
    const file = readGguf(synthModel({ shape: "tiny", overrides: { vocab: 4096, tied: true }, type: "q8_0", seed: 4 }));
    const config = configFromGguf(file);
    const plan = planShards({ config, tensors: file.tensors }, { budgetBytes: 250 * 1024, nCtx: 16, maxBatch: 4 });
    const packed = plan.shards.find((s) => s.headRows && s.layers[1] > s.layers[0])!;
    expect(packed.headRows![0]).toBe(0);
    expect(plan.shards.filter((s) => s.headRows).length).toBeGreaterThan(1);
    const roles = plan.shards.map((s) => roleOf(s, config.vocabSize));
    for (const backend of ["ref", "wasm-relaxed"]) {
      const single = LlamaModel.load(file, createBackend(backend));
      const s = inProcessShards(file, config, plan, () => createBackend(backend), 4).session("p", 16);
      const seen: { index: number; embedBest: boolean; embed: boolean }[] = [];
      const ctx = new PipelineContext(single, 16, plan, async (spec, input) => (seen.push({ index: spec.index, embedBest: input.embedBest === true, embed: roles[spec.index] === "embed-slice" }), s.call(spec, input)), s.shards, 4);
      ctx.argmaxLogits(true);
      const a = new LlamaContext(single, { nCtx: 16, maxBatch: 4 });
      const prompt = [7, 300, 2048, 4000, 11];
      let want = a.evaluate(prompt);
      ctx.append(prompt);
      for (let step = 0; step < 8; step++) {
        const row = await ctx.asContext().nextLogitsAsync();
        const t = argmax(want);
        expect(argmax(row)).toBe(t);
        expect(Object.is(row[t], want[t])).toBe(true);
        ctx.append([t]);
        want = a.evaluate([t]);
      }
      expect(seen.some((c) => c.index === packed.index && c.embedBest)).toBe(true);
      // The prompt's 5 tokens in two batches, at most one slice call per token; none after.
      const lastEmbed = seen.map((c) => c.embed).lastIndexOf(true);
      expect(seen.slice(lastEmbed).filter((c) => c.index === packed.index)).toHaveLength(8);
    }
  }, 120_000);
});
