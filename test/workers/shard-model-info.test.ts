// GET /v1/model shows the shard plan of a model over the budget, and a plan that cannot work is a 503 naming the layer.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { app } from "../../src/index";
import { replicaOf } from "../../src/shard/session-shards";
import { BASE, call, createSession, json, referenceRun, seedModel } from "./helpers";

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

  it("?shard_stats=1: every replica's steps, positions, time and page writes (saves, pages_written per commit)", async () => {
    const info = async () => json(await app.fetch(new Request(`${BASE}/v1/model?shard_stats=1`), env));
    const before = (await info()).sharding;
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    const out = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: run.prompt, max_tokens: 20 }));
    expect(out.tokens).toEqual(run.generatedTokens.slice(0, 20));
    const { sharding: after, config } = await info();
    const replicas = Number(env.SHARD_REPLICAS);
    const mine = replicaOf(env.SESSIONS.idFromName(s.id).toString(), replicas);
    const P = run.promptTokens.length;
    // Commits at PERSIST_EVERY=8: after 8 and 16 tokens and at the end (the last sampled token is not evaluated yet).
    const commits = [P + 7, P + 15, P + 19];
    for (const shard of after.plan) {
      expect(shard.replicas).toHaveLength(replicas);
      shard.replicas.forEach((r: any, i: number) => {
        const b = before.plan[shard.index].replicas[i];
        for (const k of ["steps", "forwarded", "saves", "pages_written", "compute_ms", "persist_ms", "handler_ms"]) expect(typeof r[k]).toBe("number");
        // The steps' time in the object holds their forward passes (persist_ms also counts the flushes, handler_ms does not).
        expect(r.handler_ms - b.handler_ms).toBeGreaterThanOrEqual(r.compute_ms - b.compute_ms - 1e-9);
        const layers = shard.layers[1] - shard.layers[0];
        if (i !== mine || layers === 0) {
          // Another replica, or a shard without layers: nothing of this session, and never a page.
          expect(r.saves - b.saves).toBe(0);
          expect(r.pages_written - b.pages_written).toBe(0);
          if (layers === 0) expect(r.saves).toBe(0);
          return;
        }
        // One step per prefill batch and per decoded token; one page write per commit, each rewriting from its last page.
        expect(r.steps - b.steps).toBe(Math.ceil(P / 32) + 19);
        expect(r.forwarded - b.forwarded).toBe(P + 19);
        expect(r.saves - b.saves).toBe(3);
        const perPage = Math.floor(Number(env.KV_PAGE_BYTES) / (layers * 2 * config.n_kv_heads * config.head_dim * 4));
        const pages = commits.reduce((n, e, c) => n + Math.ceil(e / perPage) - Math.floor((commits[c - 1] ?? 0) / perPage), 0);
        expect(r.pages_written - b.pages_written).toBe(pages);
      });
    }
  });

  it("the default budget keeps one isolate", async () => {
    expect((await json(await modelInfo({ MEMORY_BUDGET_MB: "128" }))).sharding).toEqual({ sharded: false, shards: 1 });
  });
});
