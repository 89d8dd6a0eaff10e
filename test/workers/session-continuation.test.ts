// Sessions continue exactly: a seeded sampled run split over requests (with the in-memory state dropped between them) equals one run.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { EVICT, LlamaSession } from "../../src/session/llama-session";
import type { GenerateEvent, Result, GenerateStart } from "../../src/protocol";
import { countForwarded } from "./forward-counter";
import { call, createSession, json, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

const SAMPLING = { temperature: 0.9, top_k: 40, top_p: 0.95, repetition_penalty: 1.1, seed: 1234 };
const generate = async (id: string, body: Record<string, unknown>) => json(await call("POST", `/v1/sessions/${id}/generate`, body));

/** Reads a session stream to its final event. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<Extract<GenerateEvent, { type: "done" }>> {
  const text = await new Response(stream).text();
  const events = text.trim().split("\n").map((l) => JSON.parse(l) as GenerateEvent);
  const done = events.at(-1)!;
  if (done.type !== "done") throw new Error(`stream ended with ${JSON.stringify(done)}`);
  return done;
}

describe("session continuation", () => {
  it.each([
    ["greedy", { temperature: 0 }],
    ["seeded sampling", SAMPLING],
  ])("%s: three requests of 10 tokens, each after an eviction, equal one request of 30 and compute no position twice", async (_name, settings) => {
    const prompt = referenceRun().prompt;
    const promptTokens = referenceRun().promptTokens.length;
    const whole = await createSession(settings);
    const one = await countForwarded(() => generate(whole.id, { text: prompt, max_tokens: 30 }));
    expect(one.result.tokens).toHaveLength(30);
    // The prompt, then each sampled token but the last (it stays pending for the next request).
    expect(one.forwarded).toBe(promptTokens + 29);

    const split = await createSession(settings);
    const parts = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await evictDurableObject(env.SESSIONS.getByName(split.id));
      parts.push(await countForwarded(() => generate(split.id, { text: i === 0 ? prompt : undefined, max_tokens: 10 })));
    }
    expect(parts.flatMap((p) => p.result.tokens)).toEqual(one.result.tokens);
    expect(parts.map((p) => p.result.usage.prefill_tokens)).toEqual([promptTokens, 1, 1]);
    // Requests 2 and 3 compute only the pending token and their own 9 new positions: the restored prefix is read from the KV pages.
    expect(parts.map((p) => p.forwarded)).toEqual([promptTokens + 9, 10, 10]);
  });

  it("a sampled run split over 3 requests, dropping the object's memory in between, equals one uninterrupted run", async () => {
    const prompt = referenceRun().prompt;
    const whole = await createSession(SAMPLING);
    const one = await generate(whole.id, { text: prompt, max_tokens: 40 });
    expect(one.tokens).toHaveLength(40);

    const split = await createSession(SAMPLING);
    const stub = env.SESSIONS.getByName(split.id);
    const a = await generate(split.id, { text: prompt, max_tokens: 13 });
    expect(a).toMatchObject({ finish_reason: "length", can_continue: true });

    // 1: the object forgets its context (as an eviction would) and restores it from its KV pages.
    expect(await runInDurableObject(stub, (instance: LlamaSession) => instance[EVICT]())).toBe(true);
    const b = await generate(split.id, { max_tokens: 14 });
    // Only the pending last token is evaluated: the restored prefix is not prefilled again.
    expect(b.usage.prefill_tokens).toBe(1);

    // 2: a fresh object instance over the same storage continues through RPC directly.
    const c = await runInDurableObject(stub, async (_instance: LlamaSession, state) => {
      const fresh = new LlamaSession(state, env);
      const start = (await fresh.generate({ maxTokens: 13 })) as Result<GenerateStart>;
      if (!start.ok) throw new Error(start.error.message);
      return drain(start.value.events);
    });
    expect(c.prefillTokens).toBe(1);
    expect([...a.tokens, ...b.tokens, ...c.tokens]).toEqual(one.tokens);
    expect(a.text + b.text + c.text).toBe(one.text);
  });

  it("continues across a real eviction of the object", async () => {
    const prompt = referenceRun().prompt;
    const whole = await createSession(SAMPLING);
    const one = await generate(whole.id, { text: prompt, max_tokens: 30 });
    const split = await createSession(SAMPLING);
    const parts = [await generate(split.id, { text: prompt, max_tokens: 11 })];
    await evictDurableObject(env.SESSIONS.getByName(split.id));
    parts.push(await generate(split.id, { max_tokens: 10 }));
    await evictDurableObject(env.SESSIONS.getByName(split.id));
    parts.push(await generate(split.id, { max_tokens: 9 }));
    expect(parts.flatMap((p) => p.tokens)).toEqual(one.tokens);
    const info = await json(await call("GET", `/v1/sessions/${split.id}`));
    expect(info.token_count).toBe(referenceRun().promptTokens.length + 30);
  });

  it("greedy generation matches llama.cpp and a per-request budget continues from exactly where it stopped", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    const first = await generate(s.id, { text: run.prompt, max_tokens: 20 });
    expect(first.tokens).toEqual(run.generatedTokens.slice(0, 20));
    expect(first.usage).toMatchObject({ input_tokens: run.promptTokens.length, output_tokens: 20, prefill_tokens: run.promptTokens.length });
    const second = await generate(s.id, { max_tokens: 44 });
    expect(second.tokens).toEqual(run.generatedTokens.slice(20, 64));
    expect(first.text + second.text).toBe(run.generatedText);
  });

  it("a full context ends with context_full and cannot continue", async () => {
    const s = await createSession({ temperature: 0, n_ctx: 12 });
    const g = await generate(s.id, { text: referenceRun().prompt, max_tokens: 50 });
    expect(g).toMatchObject({ finish_reason: "context_full", can_continue: false });
    expect(g.usage.session_tokens).toBe(12);
  });

  it("new sampling settings apply to later requests; a changed seed restarts the random stream", async () => {
    const prompt = referenceRun().prompt;
    const a = await createSession({ temperature: 0 });
    await generate(a.id, { text: prompt, max_tokens: 3 });
    const next = await generate(a.id, { max_tokens: 10, temperature: 0.8, seed: 7 });
    const info = await json(await call("GET", `/v1/sessions/${a.id}`));
    expect(info.settings).toMatchObject({ temperature: 0.8, seed: 7 });
    const b = await createSession({ temperature: 0 });
    await generate(b.id, { text: prompt, max_tokens: 3 });
    expect((await generate(b.id, { max_tokens: 10, temperature: 0.8, seed: 7 })).tokens).toEqual(next.tokens);
  });
});
