// Shards that lost positions since the last flush (evicted mid-request): caught up by replaying the batches since, exactly, or the step fails with shard_behind and the session goes back to its commit.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import { Sampler } from "../../src/engine/sampler";
import type { GenerateEvent } from "../../src/protocol/generate";
import type { LlamaSession } from "../../src/session/llama-session";
import { SHARD_EVICT, SHARD_LOSE, type ModelShard } from "../../src/shard/model-shard";
import { MAX_CATCH_UPS } from "../../src/shard/catch-up";
import { replicaOf } from "../../src/shard/session-shards";
import { call, createSession, json, parseSse, referenceRun } from "./helpers";
import { generateIn, keyOf, REPLICAS, useShardFixtures } from "./shard-fixtures";

const PERSIST_EVERY = Number(env.PERSIST_EVERY);
const { single, layerShards, stub, sessionShards } = useShardFixtures();
const SAMPLING = { temperature: 0.9, top_k: 40, top_p: 0.95, repetition_penalty: 1.1, seed: 99 };

/** The single-object engine's tokens with SAMPLING: what the sharded session must produce, evictions or not. */
async function singleRun(input: number[], maxTokens: number): Promise<number[]> {
  const g = generate(new LlamaContext(single(), { nCtx: 128 }), new Sampler({ temperature: 0.9, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: 99 }), { input, maxTokens });
  let step = await g.next();
  while (!step.done) step = await g.next();
  return step.value.tokens;
}

describe("a shard that lost positions since its last flush", () => {
  it("evicted mid-request between two commits, and again before the request's last commit: caught up, nothing lost, tokens exact", async () => {
    const run = referenceRun();
    const s = await createSession(SAMPLING);
    const first = await generateIn(s.id, { text: run.prompt, max_tokens: 12 });
    const evictAll = async () => {
      for (const sh of layerShards()) for (let r = 0; r < REPLICAS; r++) await runInDurableObject(stub(sh.index, r), (i: ModelShard) => i[SHARD_EVICT]());
    };
    const restoredBefore = await Promise.all(sessionShards(s.id).map(async (sh) => (await sh.stub.stats()).restored));
    const streamed: number[] = [];
    let done: GenerateEvent | undefined;
    await runInDurableObject(env.SESSIONS.getByName(s.id), async (session: LlamaSession) => {
      const started = await session.generate({ maxTokens: 20 });
      if (!started.ok) throw new Error("generate refused");
      const reader = started.value.events.getReader();
      const next = async () => JSON.parse(new TextDecoder().decode((await reader.read()).value)) as GenerateEvent;
      const tokenUntil = async (n: number) => {
        while (streamed.length < n) {
          const e = await next();
          if (e.type !== "token") throw new Error(`expected a token, got ${JSON.stringify(e)}`);
          if (e.token !== null) streamed.push(e.token);
        }
      };
      // Two tokens past the checkpoint after 8: those are in the shards' memory only when every shard object is
      // evicted (what workerd does to idle objects); the next step finds them gone.
      await tokenUntil(PERSIST_EVERY + 2);
      await evictAll();
      // Then after the last token: the request's final commit asks the shards for positions they lost.
      await tokenUntil(20);
      await evictAll();
      done = await next();
      while (!(await reader.read()).done);
    });
    expect(done).toMatchObject({ type: "done", finishReason: "length" });
    // Two catch-ups, reported on the done event: the step after the first eviction ran again the 2 one-token batches
    // since the checkpoint after 8 tokens; the final commit after the second, the 20 - 16 since the one after 16. No
    // shard lost its part of the model.
    expect(done?.type === "done" && done.shards).toEqual({ catchUps: 2, replayedTokens: 2 + (20 - 2 * PERSIST_EVERY), loads: 0, loadMs: 0 });
    expect([...first.tokens, ...streamed]).toEqual(await singleRun(run.promptTokens, 12 + 20));
    // Every shard restored its pages (the last commit) and was caught up from there; the session and every shard hold
    // the whole sequence, committed.
    const evaluated = run.promptTokens.length + 12 + 19;
    expect((await json(await call("GET", `/v1/sessions/${s.id}`))).evaluated_tokens).toBe(evaluated);
    const shards = sessionShards(s.id);
    for (const [k, sh] of shards.entries()) {
      const st = await sh.stub.stats();
      expect(st.stored[keyOf(s.id)]).toBe(evaluated);
      expect(st.restored).toBeGreaterThan(restoredBefore[k]!);
    }
    const third = await generateIn(s.id, { max_tokens: 6 });
    expect([...first.tokens, ...streamed, ...third.tokens]).toEqual(await singleRun(run.promptTokens, 12 + 20 + 6));
    // A request with no eviction: nothing caught up, nothing loaded.
    expect(third.shards).toEqual({ catch_ups: 0, replayed_tokens: 0, loads: 0, load_ms: 0 });
  });

  it("a shard that loses its positions after every step cannot be caught up: the step fails with shard_behind, the next request continues from the commit exactly", async () => {
    const run = referenceRun();
    const s = await createSession(SAMPLING);
    const first = await generateIn(s.id, { text: run.prompt, max_tokens: 12 });
    const [sh] = sessionShards(s.id);
    const streamed: number[] = [];
    let failure: GenerateEvent | undefined;
    await runInDurableObject(env.SESSIONS.getByName(s.id), async (session: LlamaSession) => {
      const started = await session.generate({ maxTokens: 20 });
      if (!started.ok) throw new Error("generate refused");
      const reader = started.value.events.getReader();
      const next = async () => JSON.parse(new TextDecoder().decode((await reader.read()).value)) as GenerateEvent;
      while (streamed.length < PERSIST_EVERY + 2) {
        const e = await next();
        if (e.type !== "token") throw new Error(`expected a token, got ${JSON.stringify(e)}`);
        if (e.token !== null) streamed.push(e.token);
      }
      // A stub made here: I/O objects belong to the object whose code made them.
      const losing = () => stub(sh!.spec.index, replicaOf(keyOf(s.id), REPLICAS));
      await runInDurableObject(losing(), (i: ModelShard) => i[SHARD_LOSE](keyOf(s.id)));
      try {
        do failure = await next();
        while (failure.type === "token");
        expect((await reader.read()).done).toBe(true);
      } finally {
        await runInDurableObject(losing(), (i: ModelShard) => i[SHARD_LOSE](null));
      }
    });
    expect(failure).toMatchObject({ type: "error", error: { code: "shard_behind", status: 503, type: "server_error" } });
    // The error event reports the catch-ups tried before the request gave up: exactly MAX_CATCH_UPS. Each got one batch
    // through (the first after the checkpoint: the losing shard restores its pages, then loses them again).
    expect(failure?.type === "error" && failure.shards).toEqual({ catchUps: MAX_CATCH_UPS, replayedTokens: MAX_CATCH_UPS, loads: 0, loadMs: 0 });
    if (failure?.type === "error") expect(failure.error.message).toMatch(/^shard: a shard holds \d+ positions of this session but \d+ are needed/);
    // The session went back to its commit after 8 tokens; every shard holds exactly that (its pages), nothing more.
    const committed = run.promptTokens.length + 12 + PERSIST_EVERY - 1;
    const info = await json(await call("GET", `/v1/sessions/${s.id}`));
    expect(info.evaluated_tokens).toBe(committed);
    for (const x of sessionShards(s.id)) expect((await x.stub.stats()).stored[keyOf(s.id)]).toBe(committed);
    const third = await generateIn(s.id, { max_tokens: 10 });
    expect([...first.tokens, ...streamed.slice(0, PERSIST_EVERY), ...third.tokens]).toEqual(await singleRun(run.promptTokens, 12 + PERSIST_EVERY + 10));
  });

  it("over HTTP: 503 shard_behind with Retry-After and an OpenAI error body; a stream ends with an error event of that code", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    await generateIn(s.id, { text: run.prompt, max_tokens: 6 });
    const committed = run.promptTokens.length + 5;
    // One layer shard loses its last two positions (memory and pages, as a shard restored from older pages would):
    // every request's first step builds on them.
    const [sh] = sessionShards(s.id);
    expect(await sh!.stub.trim(sh!.spec, keyOf(s.id), committed - 2)).toEqual({ ok: true, value: { evaluated: committed - 2 } });
    const message = expect.stringMatching(new RegExp(`^shard: a shard holds ${committed - 2} positions of this session but ${committed} are needed`));
    const error = { message, type: "server_error", code: "shard_behind", param: null };

    const plain = await call("POST", "/v1/completions", { session_id: s.id, prompt: " Then", max_tokens: 4 });
    expect(plain.status).toBe(503);
    expect(plain.headers.get("retry-after")).toBe("1");
    expect(await plain.json()).toEqual({ error });
    const native = await call("POST", `/v1/sessions/${s.id}/generate`, { text: " Then", max_tokens: 4 });
    expect(native.status).toBe(503);
    expect(native.headers.get("retry-after")).toBe("1");
    expect(await native.json()).toEqual({ error });

    // Streams have sent their 200 already: the failure is the last event before the end, with the same code.
    const streamed = await call("POST", "/v1/completions", { session_id: s.id, prompt: " Then", max_tokens: 4, stream: true });
    expect(streamed.status).toBe(200);
    const frames = parseSse(await streamed.text());
    expect(frames.map((f) => f.data)).toHaveLength(2);
    expect(JSON.parse(frames[0]!.data)).toEqual({ error });
    expect(frames[1]!.data).toBe("[DONE]");
    const events = parseSse(await (await call("POST", `/v1/sessions/${s.id}/generate`, { text: " Then", max_tokens: 4, stream: true })).text());
    expect(events.map((f) => f.event)).toEqual(["error"]);
    expect(JSON.parse(events[0]!.data)).toEqual({ error });
    // Nothing of the failed requests was committed: the session is still at its commit.
    expect((await json(await call("GET", `/v1/sessions/${s.id}`))).evaluated_tokens).toBe(committed);
  });

  it("a flush asking for more than a shard holds is refused with shard_behind, and writes nothing", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    await generateIn(s.id, { text: run.prompt, max_tokens: 4 });
    const held = run.promptTokens.length + 3;
    const [sh] = sessionShards(s.id);
    const before = await sh!.stub.stats();
    const r = await sh!.stub.flush(sh!.spec, keyOf(s.id), held + 5);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("shard_behind");
    const after = await sh!.stub.stats();
    expect(after.saves).toBe(before.saves);
    expect(after.stored[keyOf(s.id)]).toBe(held);
    // Up to what it holds, a flush is answered (nothing new to write: the end of the request flushed it).
    const ok = await sh!.stub.flush(sh!.spec, keyOf(s.id), held);
    expect(ok).toEqual({ ok: true, value: { stored: held, persistMs: 0 } });
  });
});

describe("shard objects that start again without their part of the model (new instances)", () => {
  const evictWeights = async () => {
    for (const sh of layerShards()) for (let r = 0; r < REPLICAS; r++) await runInDurableObject(stub(sh.index, r), (i: ModelShard) => i[SHARD_EVICT]({ weights: true }));
  };
  /** A counter's value in GET /metrics (0 when absent). */
  const counter = async (name: string) => Number((await (await call("GET", "/metrics")).text()).match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1] ?? 0);
  const counters = () => Promise.all(["edge_llama_shard_catch_ups_total", "edge_llama_shard_replayed_tokens_total", "edge_llama_shard_loads_total", "edge_llama_shard_load_seconds_total"].map(counter));

  it("between two requests: each layer shard loads its part again on the next request, counted in its response and in /metrics; nothing to catch up", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    await generateIn(s.id, { text: run.prompt, max_tokens: 6 });
    const before = await counters();
    await evictWeights();
    const next = await generateIn(s.id, { max_tokens: 4 });
    expect(next.tokens).toEqual(run.generatedTokens.slice(6, 10));
    // The session's replica of every layer shard loaded once (its first call of the request: a trim or a step).
    expect(next.shards).toMatchObject({ catch_ups: 0, replayed_tokens: 0, loads: layerShards().length });
    expect(next.shards.load_ms).toBeGreaterThan(0);
    const after = await counters();
    const delta = after.map((v, k) => v - before[k]!);
    expect(delta.slice(0, 3)).toEqual([0, 0, layerShards().length]);
    expect(delta[3]).toBeCloseTo(next.shards.load_ms / 1000, 9);
    expect((await generateIn(s.id, { max_tokens: 2 })).shards).toEqual({ catch_ups: 0, replayed_tokens: 0, loads: 0, load_ms: 0 });
  });

  it("mid-request: the first layer shard loads, then refuses the step (its positions since the checkpoint are gone); the catch-up loads the others; tokens exact", async () => {
    const run = referenceRun();
    const s = await createSession(SAMPLING);
    const first = await generateIn(s.id, { text: run.prompt, max_tokens: 12 });
    const streamed: number[] = [];
    let done: GenerateEvent | undefined;
    await runInDurableObject(env.SESSIONS.getByName(s.id), async (session: LlamaSession) => {
      const started = await session.generate({ maxTokens: 12 });
      if (!started.ok) throw new Error("generate refused");
      const reader = started.value.events.getReader();
      for (;;) {
        const e = JSON.parse(new TextDecoder().decode((await reader.read()).value)) as GenerateEvent;
        if (e.type !== "token") {
          done = e;
          break;
        }
        if (e.token !== null) streamed.push(e.token);
        if (streamed.length === PERSIST_EVERY + 2) await evictWeights();
      }
      while (!(await reader.read()).done);
    });
    expect(done).toMatchObject({ type: "done", finishReason: "length" });
    // The refusal carried the first shard's load too: every layer shard counted once, one catch-up of the 2 tokens
    // past the checkpoint.
    expect(done?.type === "done" && done.shards).toMatchObject({ catchUps: 1, replayedTokens: 2, loads: layerShards().length });
    expect([...first.tokens, ...streamed]).toEqual(await singleRun(run.promptTokens, 12 + 12));
  });
});
