// The shards' commit point: pages are written only when the session commits (after every shard flushed), and a shard that lost positions fails the step, never computes on the hole.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import { LlamaModel } from "../../src/engine/model";
import { Sampler } from "../../src/engine/sampler";
import type { GenerateEvent } from "../../src/protocol/generate";
import type { LlamaSession } from "../../src/session/llama-session";
import { SHARD_EVICT, SHARD_LOSE, type ModelShard } from "../../src/shard/model-shard";
import type { ShardPlan, ShardSpec } from "../../src/shard/plan";
import { replicaOf } from "../../src/shard/session-shards";
import { call, createSession, json, parseSse, referenceRun } from "./helpers";
import { keyOf, layerShardsOf, loadShardFixtures, REPLICAS, shardStub } from "./shard-fixtures";

let plan: ShardPlan;
let single: LlamaModel;
beforeAll(async () => {
  ({ plan, single } = await loadShardFixtures());
});

const PERSIST_EVERY = Number(env.PERSIST_EVERY);
const layerShards = () => layerShardsOf(plan);
const stub = (i: number, replica: number) => shardStub(plan, i, replica);
/** The replica of every layer shard that serves a session. */
const sessionShards = (id: string) => layerShards().map((s) => ({ spec: s, stub: stub(s.index, replicaOf(keyOf(id), REPLICAS)) }));
const generateIn = async (id: string, body: Record<string, unknown>) => json(await call("POST", `/v1/sessions/${id}/generate`, body));
const SAMPLING = { temperature: 0.9, top_k: 40, top_p: 0.95, repetition_penalty: 1.1, seed: 99 };

async function singleRun(input: number[], maxTokens: number): Promise<number[]> {
  const g = generate(new LlamaContext(single, { nCtx: 128 }), new Sampler({ temperature: 0.9, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: 99 }), { input, maxTokens });
  let step = await g.next();
  while (!step.done) step = await g.next();
  return step.value.tokens;
}

describe("page writes at the commit point", () => {
  it("a request writes each layer shard's pages once per commit (checkpoints and end), never in a step", async () => {
    expect(PERSIST_EVERY).toBe(8);
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    const shards = sessionShards(s.id);
    const before = await Promise.all(shards.map((sh) => sh.stub.stats()));
    const out = await generateIn(s.id, { text: run.prompt, max_tokens: 20 });
    expect(out.tokens).toEqual(run.generatedTokens.slice(0, 20));
    const after = await Promise.all(shards.map((sh) => sh.stub.stats()));
    const evaluated = run.promptTokens.length + 19;
    after.forEach((a, i) => {
      const b = before[i]!;
      // One step per prefill batch of 32 and per decoded token, but only three commits: after 8 and 16 tokens, and the end.
      expect(a.steps - b.steps).toBe(Math.ceil(run.promptTokens.length / 32) + 19);
      expect(a.saves - b.saves).toBe(3);
      expect(a.pagesWritten - b.pagesWritten).toBeGreaterThanOrEqual(3);
      expect(a.stored[keyOf(s.id)]).toBe(evaluated);
    });
  });

  it("a throwaway generation (no session) writes no page in any shard", async () => {
    const all = () => Promise.all(layerShards().flatMap((s) => [...Array(REPLICAS).keys()].map((r) => stub(s.index, r).stats())));
    const before = await all();
    const out = await json(await call("POST", "/v1/completions", { prompt: referenceRun().prompt, max_tokens: 12, temperature: 0 }));
    expect(out.usage.completion_tokens).toBe(12);
    const after = await all();
    after.forEach((a, i) => {
      expect(a.saves).toBe(before[i]!.saves);
      expect(Object.keys(a.stored).sort()).toEqual(Object.keys(before[i]!.stored).sort());
    });
    expect(after.reduce((n, a) => n + a.steps, 0)).toBeGreaterThan(before.reduce((n, a) => n + a.steps, 0));
  });
});

describe("a throwaway generation's caches", () => {
  const replicasOf = (s: ShardSpec) => Promise.all([...Array(REPLICAS).keys()].map((r) => stub(s.index, r).stats()));
  /** Caches in memory per layer shard, over its replicas. */
  const live = () => Promise.all(layerShards().map(async (s) => (await replicasOf(s)).reduce((n, st) => n + st.live, 0)));
  /** Steps served by every layer shard's replicas. */
  const steps = async () => (await Promise.all(layerShards().map(replicasOf))).flat().reduce((n, st) => n + st.steps, 0);
  /** The live counts once the release (sent after the response, ctx.waitUntil) has landed, or what they are after 5 s. */
  async function settledAt(want: number[]): Promise<number[]> {
    let now = await live();
    for (let t = Date.now(); JSON.stringify(now) !== JSON.stringify(want) && Date.now() - t < 5000; now = await live()) await new Promise((r) => setTimeout(r, 20));
    return now;
  }

  it("leave every shard when the generation ends (one choice, several, a stream the client drops); a session's cache stays", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    await generateIn(s.id, { text: run.prompt, max_tokens: 6 });
    const before = await live();
    const mine = await Promise.all(sessionShards(s.id).map((sh) => sh.stub.stats()));
    expect(mine.every((st) => st.live > 0)).toBe(true);

    let ran = await steps();
    const one = await json(await call("POST", "/v1/completions", { prompt: run.prompt, max_tokens: 8, temperature: 0 }));
    expect(one.usage.completion_tokens).toBe(8);
    expect(await steps()).toBeGreaterThan(ran); // it ran through the shards
    expect(await settledAt(before)).toEqual(before);

    ran = await steps();
    const three = await json(await call("POST", "/v1/chat/completions", { messages: [{ role: "user", content: "Once" }], max_tokens: 4, n: 3, temperature: 0.8, seed: 5 }));
    expect(three.choices).toHaveLength(3);
    expect(await steps()).toBeGreaterThan(ran);
    expect(await settledAt(before)).toEqual(before);

    // The client reads the first chunk and goes away: the generation stops, and its caches go too.
    ran = await steps();
    const res = await call("POST", "/v1/completions", { prompt: run.prompt, max_tokens: 60, temperature: 0, stream: true });
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    expect(await steps()).toBeGreaterThan(ran);
    expect(await settledAt(before)).toEqual(before);

    // The session's own cache was never dropped: its next request restores nothing from pages, and continues exactly.
    const next = await generateIn(s.id, { max_tokens: 4 });
    expect(next.tokens).toEqual(run.generatedTokens.slice(6, 10));
    const after = await Promise.all(sessionShards(s.id).map((sh) => sh.stub.stats()));
    after.forEach((st, i) => expect(st.restored).toBe(mine[i]!.restored));
  });
  it("leave every shard when a step of it fails too", async () => {
    const before = await live();
    const name = `ephemeral-failing-${Date.now()}`;
    const key = keyOf(name);
    let failure: GenerateEvent | undefined;
    await runInDurableObject(env.SESSIONS.getByName(name), async (session: LlamaSession) => {
      const started = await session.generate({ ephemeral: true, text: referenceRun().prompt, maxTokens: 20 });
      if (!started.ok) throw new Error("generate refused");
      const reader = started.value.events.getReader();
      const next = async () => JSON.parse(new TextDecoder().decode((await reader.read()).value)) as GenerateEvent;
      expect((await next()).type).toBe("token");
      // Its cache is in every layer shard now; one of them loses it after every step: it cannot be caught up, and a
      // step is refused.
      const counts = await live();
      counts.forEach((n, i) => expect(n).toBe(before[i]! + 1));
      const sh = layerShards()[0]!;
      const losing = stub(sh.index, replicaOf(key, REPLICAS));
      await runInDurableObject(losing, (i: ModelShard) => i[SHARD_LOSE](key));
      try {
        do failure = await next();
        while (failure.type === "token");
      } finally {
        await runInDurableObject(losing, (i: ModelShard) => i[SHARD_LOSE](null));
      }
    });
    expect(failure).toMatchObject({ type: "error", error: { code: "shard_behind" } });
    expect(await settledAt(before)).toEqual(before);
  });
});

describe("caches dropped for room", () => {
  it("a session's cache dropped to make room is written first (its next step finds its positions); a throwaway's is not", async () => {
    const sh = layerShards()[0]!;
    const st = stub(sh.index, 0);
    const row = (n: number) => new Float32Array(n * single.config.dim).fill(0.25).buffer;
    const step = (session: string, pos0: number, n: number, persist: boolean) =>
      st.forward({ spec: sh, session, nCtx: 128, pos0, tokens: [...Array(n).keys()].map((t) => t + 1), x: row(n), allLogits: false, persist });
    // Throwaway caches first, then more sessions than the shard has room for: the least recently used go.
    const throwaway = [...Array(6).keys()].map((k) => `room-throwaway-${k}`);
    const kept = [...Array(12).keys()].map((k) => `room-session-${k}`);
    for (const key of throwaway) expect((await step(key, 0, 3, false)).ok).toBe(true);
    for (const key of kept) expect((await step(key, 0, 3, true)).ok).toBe(true);
    const stats = await st.stats();
    const dropped = kept.filter((k) => stats.stored[k] !== undefined);
    expect(dropped.length).toBeGreaterThan(0);
    for (const k of dropped) expect(stats.stored[k]).toBe(3);
    for (const k of throwaway) expect(stats.stored[k]).toBeUndefined();
    // The first session was dropped (least recently used); its next step restores its 3 positions and goes on.
    expect(dropped).toContain(kept[0]);
    const restoredBefore = stats.restored;
    expect((await step(kept[0]!, 3, 1, true)).ok).toBe(true);
    expect((await st.stats()).restored - restoredBefore).toBe(3);
    // A dropped throwaway lost its positions: a step past them is refused, not computed on the hole.
    const lost = await step(throwaway[0]!, 3, 1, false);
    expect(lost.ok).toBe(false);
    if (!lost.ok) expect(lost.error.code).toBe("shard_behind");
    for (const k of [...throwaway, ...kept]) expect((await st.drop(k)).ok).toBe(true);
  });
});

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
