// The shard plan: deterministic, every shard within a fractional budget, embedding/classifier row splits, a clear refusal naming the layer.
import { describe, expect, it } from "vitest";
import { readGguf } from "../../src/gguf/index";
import { configFromGguf } from "../../src/engine/config";
import { HostError } from "../../src/protocol/errors";
import { isSharded, planShards, type ShardPlan } from "../../src/shard/plan";
import { readFixture } from "../helpers/fixtures";

const MiB = 1 << 20;
const file = readGguf(readFixture("stories260K.gguf"));
const input = { config: configFromGguf(file), tensors: file.tensors };
const c = input.config;

/** Every layer once, in order; embedding and classifier rows each cover the vocabulary once, in order. */
function expectCovers(plan: ShardPlan): void {
  const layers = plan.shards.flatMap((s) => Array.from({ length: s.layers[1] - s.layers[0] }, (_, i) => s.layers[0] + i));
  expect(layers).toEqual(Array.from({ length: c.nLayers }, (_, i) => i));
  for (const key of ["embedRows", "headRows"] as const) {
    const spans = plan.shards.map((s) => s[key]).filter((r) => r !== null);
    expect(spans[0]![0]).toBe(0);
    expect(spans[spans.length - 1]![1]).toBe(c.vocabSize);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBe(spans[i - 1]![1]);
  }
  for (const s of plan.shards) {
    expect(s.totalBytes).toBe(s.weightBytes + s.kvBytes + s.bufferBytes);
    expect(s.totalBytes).toBeLessThanOrEqual(plan.budgetBytes);
  }
}

describe("shard plan", () => {
  it("a model that fits one isolate keeps one shard holding everything", () => {
    const plan = planShards(input, { budgetBytes: 128 * MiB, nCtx: 512 });
    expect(isSharded(plan)).toBe(false);
    expect(plan.shards[0]).toMatchObject({ embedRows: [0, c.vocabSize], layers: [0, c.nLayers], headRows: [0, c.vocabSize] });
    expect(plan.shards[0]!.tensors).toHaveLength(file.tensors.length);
  });

  it("a fractional budget gives ≥ 3 shards within it, deterministically", () => {
    const plan = planShards(input, { budgetBytes: 0.5 * MiB, nCtx: 64 });
    expect(plan.shards.length).toBeGreaterThanOrEqual(3);
    expectCovers(plan);
    expect(planShards(input, { budgetBytes: 0.5 * MiB, nCtx: 64 })).toEqual(plan);
    expect(plan.shards[0]!.tensors).toContain("token_embd.weight");
  });

  it("smaller budgets split the embedding and the classifier by rows", () => {
    const plan = planShards(input, { budgetBytes: 0.24 * MiB, nCtx: 16, maxBatch: 4 });
    expectCovers(plan);
    const embeds = plan.shards.filter((s) => s.embedRows);
    const heads = plan.shards.filter((s) => s.headRows);
    expect(embeds.length).toBeGreaterThan(1);
    expect(heads.length).toBeGreaterThan(1);
    // Slices start on 64-row boundaries and hold nothing else.
    for (const s of [...embeds, ...heads]) expect(s.embedRows?.[0] ?? s.headRows![0]).toBe(Math.floor((s.embedRows?.[0] ?? s.headRows![0]) / 64) * 64);
    for (const s of embeds) expect(s.layers[1] - s.layers[0]).toBe(0);
    for (const h of heads) expect(h.tensors).toContain(`output.weight[${h.headRows![0]}:${h.headRows![1]}]`);
  });

  it("a split classifier's first rows join the last layer shard when the rest then needs fewer slices", () => {
    const plan = planShards(input, { budgetBytes: 260 * 1024, nCtx: 16, maxBatch: 4 });
    expectCovers(plan);
    const last = plan.shards[plan.shards.length - 2]!;
    // Beside layer 4 go the classifier's first 64 rows, the rest is one slice of its own.
    expect(last).toMatchObject({ layers: [4, 5], headRows: [0, 64], embedRows: null });
    expect(last.tensors).toEqual(expect.arrayContaining(["output_norm.weight", "output.weight[0:64]", "blk.4.attn_q.weight"]));
    expect(plan.shards[plan.shards.length - 1]).toMatchObject({ layers: [0, 0], headRows: [64, c.vocabSize], embedRows: null });
    expect(plan.shards).toHaveLength(7);
    // The whole classifier does not fit one shard at this budget: without the rows beside layer 4 it would take two.
    const whole = planShards(input, { budgetBytes: 0.3 * MiB, nCtx: 16, maxBatch: 4 }).shards.find((sh) => sh.headRows?.[0] === 0 && sh.headRows[1] === c.vocabSize && sh.layers[1] === 0)!;
    expect(whole.totalBytes).toBeGreaterThan(plan.budgetBytes);
  });

  it.each([0.24, 0.3, 0.37, 0.5, 0.75, 1, 1.5])("every shard of a %s MiB plan is within the budget and the pieces cover the model once", (mb) => {
    for (const maxBatch of [4, 32]) {
      let plan: ShardPlan;
      try {
        plan = planShards(input, { budgetBytes: mb * MiB, nCtx: 16, maxBatch });
      } catch (e) {
        expect((e as HostError).code).toBe("memory_budget_exceeded");
        continue;
      }
      expectCovers(plan);
    }
  });

  it("more KV per shard (longer context, more sessions) needs more shards", () => {
    const a = planShards(input, { budgetBytes: 1 * MiB, nCtx: 64 });
    const b = planShards(input, { budgetBytes: 1 * MiB, nCtx: 64, sessionsPerShard: 4 });
    expect(b.shards.length).toBeGreaterThan(a.shards.length);
    expectCovers(b);
  });

  it("a layer over the budget is a 503 naming the layer and the numbers", () => {
    let error: unknown;
    try {
      planShards(input, { budgetBytes: 0.1 * MiB, nCtx: 512 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HostError);
    expect((error as HostError).code).toBe("memory_budget_exceeded");
    expect((error as Error).message).toMatch(/^layer 0 \(.* MiB of weights, .* MiB of KV cache for 1 session\(s\) at 512 tokens, .*\) needs .* MiB, more than the memory budget of 0\.10 MiB per shard/);
  });
});
