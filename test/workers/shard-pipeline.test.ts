// A model over the budget (0.5 MiB) served as a pipeline of ModelShard objects: bit-identical to the single-object engine, sessions as ever.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import { LlamaModel } from "../../src/engine/model";
import { Sampler, type SamplerConfig } from "../../src/engine/sampler";
import { EVICT, type LlamaSession } from "../../src/session/llama-session";
import { resumeSampler } from "../../src/session/sampling";
import { SHARD_EVICT, type ModelShard } from "../../src/shard/model-shard";
import type { PipelineContext } from "../../src/shard/pipeline-context";
import type { ShardPlan } from "../../src/shard/plan";
import { forkShards, replicaOf, shardContext, shardedModel } from "../../src/shard/session-shards";
import { call, createSession, json, referenceRun } from "./helpers";
import { keyOf, layerShardsOf, loadShardFixtures, REPLICAS, shardStub } from "./shard-fixtures";

let plan: ShardPlan;
let single: LlamaModel;
beforeAll(async () => {
  ({ plan, single } = await loadShardFixtures());
});

const generateIn = async (id: string, body: Record<string, unknown>) => json(await call("POST", `/v1/sessions/${id}/generate`, body));
const layerShards = () => layerShardsOf(plan);
const stub = (i: number, replica = 0) => shardStub(plan, i, replica);
/** Each layer shard's counters, summed over its replicas (a session lives on one of them). */
const stats = () =>
  Promise.all(
    layerShards().map(async (s) => {
      const all = await Promise.all([...Array(REPLICAS).keys()].map((r) => stub(s.index, r).stats()));
      return { forwarded: all.reduce((n, a) => n + a.forwarded, 0), restored: all.reduce((n, a) => n + a.restored, 0), stored: Object.assign({}, ...all.map((a) => a.stored)) as Record<string, number> };
    }),
  );
const SAMPLING = { temperature: 0.9, top_k: 40, top_p: 0.95, repetition_penalty: 1.1, seed: 4321 };
/** SAMPLING as the engine's config (the session builds its sampler from the same values). */
const CONFIG = new Sampler({ temperature: 0.9, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: 4321 }).config;

/** The single-object run: `input` then `maxTokens` sampled with the session's own sampler config. */
async function singleRun(config: SamplerConfig, input: number[], maxTokens: number, ctx = new LlamaContext(single, { nCtx: 128 }), sampler = new Sampler(config)) {
  const g = generate(ctx, sampler, { input, maxTokens });
  let step = await g.next();
  while (!step.done) step = await g.next();
  return { tokens: step.value.tokens, ctx, sampler };
}

describe("the plan", () => {
  it("cuts stories260K into ≥ 3 shards within 0.5 MiB each", () => {
    expect(plan.shards.length).toBeGreaterThanOrEqual(3);
    for (const s of plan.shards) expect(s.totalBytes).toBeLessThanOrEqual(0.5 * 2 ** 20);
  });
});

describe("bit-identical to the single-object engine", () => {
  it("logits of every prompt position through the shard objects equal the single engine's, bit for bit", async () => {
    const model = (await shardedModel(env))!;
    const ctx = shardContext(model, "logits-probe", 128)! as unknown as PipelineContext;
    const prompt = referenceRun().promptTokens;
    const sharded = await ctx.evaluateAsync(prompt, { allLogits: true });
    const local = new LlamaContext(single, { nCtx: 128 }).evaluate(prompt, { allLogits: true });
    expect(new Uint8Array(sharded.buffer).every((b, i) => b === new Uint8Array(local.buffer)[i])).toBe(true);
    expect(sharded.length).toBe(prompt.length * single.config.vocabSize);
  });

  it("greedy through the API equals llama.cpp's stored 64 tokens, every layer shard ran", async () => {
    const run = referenceRun();
    const before = await stats();
    const s = await createSession({ temperature: 0 });
    const out = await generateIn(s.id, { text: run.prompt, max_tokens: 64 });
    expect(out.tokens).toEqual(run.generatedTokens);
    const after = await stats();
    after.forEach((a, i) => expect(a.forwarded - before[i]!.forwarded).toBe(run.promptTokens.length + 63));
    // Every layer shard stores the session's positions; the session's storage counts the shards' pages.
    const evaluated = run.promptTokens.length + 63;
    for (const st of after) expect(st.stored[keyOf(s.id)]).toBe(evaluated);
    const info = await json(await call("GET", `/v1/sessions/${s.id}`));
    expect(info.evaluated_tokens).toBe(evaluated);
    expect(info.storage.kv_bytes).toBe(evaluated * info.storage.bytes_per_position);
    expect(info.storage.kv_pages).toBeGreaterThanOrEqual(layerShards().length);
    expect(info.storage.stored_bytes).toBe(info.storage.kv_bytes + info.storage.state_bytes);
    await runInDurableObject(env.SESSIONS.getByName(s.id), (_i: LlamaSession, state) => {
      expect(state.storage.sql.exec("SELECT count(*) AS n FROM kv_pages").one().n).toBe(0);
    });
  });
});

describe("restore and the commit point", () => {
  it("shards evicted between requests restore their KV from pages: the continuation equals the uninterrupted run, no position recomputed", async () => {
    const run = referenceRun();
    const s = await createSession(SAMPLING);
    const first = await generateIn(s.id, { text: run.prompt, max_tokens: 12 });
    for (const sh of layerShards()) for (let r = 0; r < REPLICAS; r++) await runInDurableObject(stub(sh.index, r), (i: ModelShard) => i[SHARD_EVICT]());
    await runInDurableObject(env.SESSIONS.getByName(s.id), (i: LlamaSession) => expect(i[EVICT]()).toBe(true));
    const before = await stats();
    const second = await generateIn(s.id, { max_tokens: 10 });
    const after = await stats();
    after.forEach((a, i) => {
      expect(a.forwarded - before[i]!.forwarded).toBe(10);
      // The last sampled token is pending (evaluated by the next step), so prompt + 11 positions were stored.
      expect(a.restored - before[i]!.restored).toBe(run.promptTokens.length + 11);
    });
    const whole = await singleRun(CONFIG, run.promptTokens, 22);
    expect([...first.tokens, ...second.tokens]).toEqual(whole.tokens);
  });

  it("positions a shard holds past the session's committed log are discarded when the session restores", async () => {
    const run = referenceRun();
    const s = await createSession(SAMPLING);
    const first = await generateIn(s.id, { text: run.prompt, max_tokens: 10 });
    const committed = run.promptTokens.length + 9; // the last sampled token is pending
    // A step the session never committed (as if it crashed after the shards ran it): shard 1 now holds orphan positions.
    const sh = layerShards()[0]!;
    const x = new Float32Array(3 * single.config.dim).fill(0.5).buffer;
    const replica = replicaOf(keyOf(s.id), REPLICAS);
    const r = await stub(sh.index, replica).forward({ spec: sh, session: keyOf(s.id), nCtx: 128, pos0: committed, tokens: [1, 2, 3], x, allLogits: false, persist: true });
    expect(r.ok).toBe(true);
    // A step writes no page; the session's flush before a commit does. It crashed between the two: the pages hold the orphans.
    expect((await stub(sh.index, replica).stats()).stored[keyOf(s.id)]).toBe(committed);
    expect((await stub(sh.index, replica).flush(sh, keyOf(s.id), committed + 3)).ok).toBe(true);
    expect((await stub(sh.index, replica).stats()).stored[keyOf(s.id)]).toBe(committed + 3);
    await runInDurableObject(stub(sh.index, replica), (i: ModelShard) => i[SHARD_EVICT]());
    await runInDurableObject(env.SESSIONS.getByName(s.id), (i: LlamaSession) => expect(i[EVICT]()).toBe(true));
    const second = await generateIn(s.id, { max_tokens: 8 });
    // The orphan step was overwritten by the session's own (its first step re-runs the pending token), nothing beyond.
    for (const st of await stats()) expect(st.stored[keyOf(s.id)]).toBe(committed + 8);
    expect([...first.tokens, ...second.tokens]).toEqual((await singleRun(CONFIG, run.promptTokens, 18)).tokens);
  });
});

describe("sessions on the same shards", () => {
  it("concurrent sessions with fork, rewind and delete interleaved each equal their single-object run; delete leaves no page", async () => {
    const run = referenceRun();
    const a = await createSession(SAMPLING);
    const b = await createSession({ ...SAMPLING, seed: 77 });
    const [ha, hb] = await Promise.all([generateIn(a.id, { text: run.prompt, max_tokens: 10 }), generateIn(b.id, { text: run.prompt, max_tokens: 14 })]);
    const fork = await json(await call("POST", `/v1/sessions/${a.id}/fork`), 201);
    const keep = run.promptTokens.length + 5;
    await json(await call("POST", `/v1/sessions/${b.id}/rewind`, { tokens: keep }));
    for (const st of await stats()) expect(st.stored[keyOf(b.id)]).toBe(keep);
    const [ta, tf, tb] = await Promise.all([generateIn(a.id, { max_tokens: 8 }), generateIn(fork.id, { max_tokens: 8 }), generateIn(b.id, { max_tokens: 9, seed: 5 })]);
    expect((await call("DELETE", `/v1/sessions/${a.id}`)).status).toBe(200);
    for (const st of await stats()) {
      expect(st.stored[keyOf(a.id)]).toBeUndefined();
      expect(st.stored[keyOf(fork.id)]).toBe(run.promptTokens.length + 17);
    }

    const wholeA = await singleRun(CONFIG, run.promptTokens, 18);
    expect([...ha.tokens, ...ta.tokens]).toEqual(wholeA.tokens);
    expect(tf.tokens).toEqual(ta.tokens); // the fork continues like its source
    // b: rewound to keep tokens, then reseeded: equals a fresh single run holding those tokens.
    const sb = { ...CONFIG, seed: 5 };
    expect(hb.tokens.slice(0, 5)).toEqual((await singleRun({ ...CONFIG, seed: 77 }, run.promptTokens, 5)).tokens);
    const kept = [...run.promptTokens, ...hb.tokens.slice(0, 5)];
    const ctx = new LlamaContext(single, { nCtx: 128 });
    ctx.append(kept);
    const restB = await singleRun(sb, [], 9, ctx, resumeSampler(new Sampler(sb).state(), kept, { seed: 5 }));
    expect(tb.tokens).toEqual(restB.tokens);
  });
});

describe("replicas", () => {
  it("sessions map to replicas by their id; a fork onto another replica carries the positions bit for bit", async () => {
    expect(REPLICAS).toBeGreaterThan(1);
    // Two keys on different replicas (the mapping is a stable hash, so this search is deterministic).
    const keys = [...Array(64).keys()].map((i) => `replica-probe-${i}`);
    const source = keys.find((k) => replicaOf(k, REPLICAS) === 0)!;
    const target = keys.find((k) => replicaOf(k, REPLICAS) === 1)!;
    const model = (await shardedModel(env))!;
    const prompt = referenceRun().promptTokens;
    const src = shardContext(model, source, 128)! as unknown as PipelineContext;
    await src.evaluateAsync(prompt);
    expect(await forkShards(env, source, target, prompt.length)).toBe(true);
    for (const st of await stats()) expect(st.stored[target]).toBe(prompt.length);
    // The target continues from the copied positions: its next logits equal the single engine's.
    const dst = shardContext(model, target, 128)! as unknown as PipelineContext;
    dst.restore(prompt, prompt.length);
    const next = 42;
    const sharded = await dst.evaluateAsync([next]);
    const local = new LlamaContext(single, { nCtx: 128 });
    local.evaluate(prompt);
    const expected = local.evaluate([next]);
    expect(Buffer.from(sharded.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });
});
