// GET /v1/model shows the shard plan of a model over the budget, and a plan that cannot work is a 503 naming the layer.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { app } from "../../src/index";
import { BASE, json, seedModel } from "./helpers";

beforeAll(seedModel);

const modelInfo = (bindings: Partial<Env> = {}) => app.fetch(new Request(`${BASE}/v1/model`), { ...env, ...bindings });

describe("GET /v1/model with a sharded model", () => {
  it("lists every shard: layers, rows, bytes within the budget and tensors, covering every layer once", async () => {
    const body = await json(await modelInfo());
    const { sharding } = body;
    expect(sharding.sharded).toBe(true);
    expect(sharding.shards).toBeGreaterThanOrEqual(3);
    expect(sharding.plan).toHaveLength(sharding.shards);
    const layers: number[] = [];
    for (const s of sharding.plan) {
      expect(s.total_bytes).toBeLessThanOrEqual(0.5 * 2 ** 20);
      expect(s.total_bytes).toBe(s.weights_bytes + s.kv_bytes + s.buffer_bytes);
      expect(s.tensors.length).toBeGreaterThan(0);
      for (let l = s.layers[0]; l < s.layers[1]; l++) layers.push(l);
    }
    expect(layers).toEqual([...Array(body.config.n_layers).keys()]);
    expect(sharding.plan[0].tensors).toContain("token_embd.weight");
    expect(sharding.plan.at(-1).tensors).toContain("output.weight");
  });

  it("a budget smaller than one layer: 503 memory_budget_exceeded naming the layer and the numbers", async () => {
    const res = await modelInfo({ MEMORY_BUDGET_MB: "0.1" });
    const body = await json(res, 503);
    expect(body.error.code).toBe("memory_budget_exceeded");
    expect(body.error.message).toMatch(/^layer 0 \(0\.17 MiB of weights, .* MiB of KV cache for 1 session\(s\) at 128 tokens, .* MiB of buffers\) needs .* MiB, more than the memory budget of 0\.10 MiB per shard \(MEMORY_BUDGET_MB\)$/);
  });

  it("the default budget keeps one isolate", async () => {
    expect((await json(await modelInfo({ MEMORY_BUDGET_MB: "128" }))).sharding).toEqual({ sharded: false, shards: 1 });
  });
});
