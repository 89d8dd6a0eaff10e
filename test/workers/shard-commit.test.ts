// The shards' commit point: pages are written only when the session commits (after every shard flushed); throwaway generations write none, and a cache dropped for room is written first.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { GenerateEvent } from "../../src/protocol/generate";
import type { LlamaSession } from "../../src/session/llama-session";
import { SHARD_LOSE, type ModelShard } from "../../src/shard/model-shard";
import type { ShardSpec } from "../../src/shard/plan";
import { replicaOf } from "../../src/shard/session-shards";
import { call, createSession, json, referenceRun } from "./helpers";
import { generateIn, keyOf, REPLICAS, useShardFixtures } from "./shard-fixtures";

const PERSIST_EVERY = Number(env.PERSIST_EVERY);
const { single, layerShards, stub, sessionShards } = useShardFixtures();

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
    const row = (n: number) => new Float32Array(n * single().config.dim).fill(0.25).buffer;
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
