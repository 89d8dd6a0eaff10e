// Per-hop overhead of the pipeline: decode through the ModelShard objects against the single engine in this isolate (printed for docs/sharding.md).
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import { LlamaModel } from "../../src/engine/model";
import { Sampler } from "../../src/engine/sampler";
import { hopStatsOf, shardContext, shardedModel, shardName, shardPlan } from "../../src/shard/session-shards";
import { referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

async function decode(ctx: LlamaContext, prompt: number[], n: number): Promise<{ tokens: number[]; msPerToken: number }> {
  const g = generate(ctx, new Sampler({ temperature: 0 }), { input: prompt, maxTokens: n });
  let step = await g.next();
  while (!step.done) step = await g.next();
  return { tokens: step.value.tokens, msPerToken: step.value.timings.decodeMs / step.value.timings.decodeTokens };
}

describe("pipeline overhead", () => {
  it("decodes the same tokens; reports ms per token and per hop", async () => {
    const plan = (await shardPlan(env))!.plan;
    const single = LlamaModel.load(env.TEST_MODEL_STORIES260K, createBackend(env.BACKEND || "wasm"));
    const prompt = referenceRun().promptTokens;
    await decode(new LlamaContext(single, { nCtx: 128 }), prompt, 8); // warm up
    const a = await decode(new LlamaContext(single, { nCtx: 128 }), prompt, 64);
    const model = (await shardedModel(env))!;
    await decode(shardContext(model, "overhead-warm", 128)!, prompt, 8); // loads every shard
    const b = await decode(shardContext(model, "overhead", 128)!, prompt, 64);
    const c = await decode(shardContext(model, "overhead-mem", 128, true)!, prompt, 64);
    console.log(`[shard-overhead] without page writes: ${c.msPerToken.toFixed(3)} ms/token`);
    // Where a hop's time goes: the round trip the session sees against the time inside the shard (compute, pages).
    const bctx = shardContext(model, "overhead-split", 128)!;
    await decode(bctx, prompt, 32);
    const h = hopStatsOf(bctx)!;
    expect(h.calls).toBeGreaterThan(0);
    expect(h.roundTripMs).toBeGreaterThanOrEqual(h.computeMs + h.persistMs);
    const per = (v: number) => (v / h.calls).toFixed(3);
    console.log(`[shard-overhead] per hop: round trip ${per(h.roundTripMs)} ms = compute ${per(h.computeMs)} + page writes ${per(h.persistMs)} + RPC ${per(h.roundTripMs - h.computeMs - h.persistMs)}`);
    // An empty RPC leg pair, and one carrying an activation row of a 2048-wide model (8 KiB).
    const stub = env.SHARDS.getByName(shardName(env, plan, plan.shards[1]!, 0));
    const ping = async (data?: ArrayBuffer) => {
      const t0 = performance.now();
      for (let i = 0; i < 50; i++) expect(await stub.ping(data)).toBe(data?.byteLength ?? 0);
      return (performance.now() - t0) / 50;
    };
    await ping();
    console.log(`[shard-overhead] empty RPC round trip ${(await ping()).toFixed(3)} ms, with 8 KiB ${(await ping(new ArrayBuffer(8192))).toFixed(3)} ms`);
    // A decode step's hop against an empty call to the same object, alternated: a layer shard's step (the same
    // position again, a throwaway session: nothing stored), and the classifier's with its logits or its best logit.
    const layer = plan.shards.findIndex((s) => s.layers[1] > s.layers[0] && !s.embedRows);
    const head = plan.shards.findIndex((s) => s.headRows !== null);
    const x = new Float32Array(model.config.dim).fill(0.01).buffer;
    const step = (i: number, argmax: boolean) => ({ spec: plan.shards[i]!, session: "overhead-hop", nCtx: 128, pos0: 0, tokens: [1], x, allLogits: false, argmax, persist: false });
    const hopStub = (i: number) => env.SHARDS.getByName(shardName(env, plan, plan.shards[i]!, 0));
    const kinds: [string, () => Promise<unknown>][] = [
      ["empty call", () => hopStub(layer).ping()],
      ["layer step", async () => expect((await hopStub(layer).forward(step(layer, false))).ok).toBe(true)],
      ["classifier step, logits", async () => expect((await hopStub(head).forward(step(head, false))).ok).toBe(true)],
      ["classifier step, best logit", async () => expect((await hopStub(head).forward(step(head, true))).ok).toBe(true)],
    ];
    const spent = kinds.map(() => 0);
    for (const [, f] of kinds) await f();
    for (let r = 0; r < 10; r++) {
      for (const [k, [, f]] of kinds.entries()) {
        const t0 = performance.now();
        for (let i = 0; i < 10; i++) await f();
        spent[k]! += performance.now() - t0;
      }
    }
    console.log(`[shard-overhead] per call, 10 alternated rounds of 10: ${kinds.map(([n], k) => `${n} ${(spent[k]! / 100).toFixed(3)} ms`).join(", ")}`);
    // Star against chain over the same objects, empty hops carrying an 8 KiB row: the star calls each object in turn (two
    // legs each on the critical path); the chain calls the first, each calls the next, and the last calls back (one leg
    // each, plus one). Alternated, several rounds, medians, so both see the same load.
    const names = plan.shards.map((s) => shardName(env, plan, s, 0));
    const row = new ArrayBuffer(8192);
    const star = async () => {
      const t0 = performance.now();
      for (const n of names) expect(await env.SHARDS.getByName(n).ping(row)).toBe(8192);
      return performance.now() - t0;
    };
    const chain = async () => {
      const t0 = performance.now();
      let back = 0;
      let t1 = 0;
      await env.SHARDS.getByName(names[0]!).relay(names.slice(1), row, async (d) => {
        t1 = performance.now();
        back = d.byteLength;
      });
      expect(back).toBe(8192);
      return t1 - t0;
    };
    const starMs: number[] = [];
    const chainMs: number[] = [];
    for (let i = 0; i < 3; i++) await Promise.all([star(), chain()]); // warm
    for (let i = 0; i < 40; i++) {
      starMs.push(await star());
      chainMs.push(await chain());
    }
    // workerd's clock moves in whole milliseconds: the mean over 40 rounds resolves what one round cannot.
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    console.log(`[shard-overhead] ${names.length} empty hops with 8 KiB: star ${mean(starMs).toFixed(2)} ms, chain with a call back ${mean(chainMs).toFixed(2)} ms (means of 40 alternated rounds)`);
    expect(b.tokens).toEqual(a.tokens);
    const hops = plan.shards.length;
    console.log(
      `[shard-overhead] ${hops} shards: single ${a.msPerToken.toFixed(3)} ms/token, pipeline ${b.msPerToken.toFixed(3)} ms/token, ` +
        `${((b.msPerToken - a.msPerToken) / hops).toFixed(3)} ms per hop (RPC + activation copy + page write)`,
    );
  });
});
