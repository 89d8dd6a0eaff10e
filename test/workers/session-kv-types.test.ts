// Sessions on f16 and q8_0 KV caches (KV_CACHE_TYPE): pages hold the typed bytes, and restore, fork and rewind continue exactly.
import { env, runInDurableObject } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVICT, type LlamaSession } from "../../src/session/llama-session";
import { synthModel } from "../../scripts/lib/synth/model";
import { countForwarded } from "./forward-counter";
import { call, createSession, json, referenceRun, seedModel } from "./helpers";

/** A tiny llama whose heads are 32 wide (whole q8_0 blocks): 2 layers, 2 heads sharing 1 KV head, 320-token vocabulary. */
const TINY = "tiny-hd32-q8_0.gguf";
const vars = env as unknown as Record<string, string | undefined>;
const saved = { type: vars.KV_CACHE_TYPE, model: vars.MODEL_NAME };

beforeAll(async () => {
  await seedModel();
  await env.MODELS.put(TINY, synthModel({ shape: "tiny", overrides: { heads: 2, kvHeads: 1 }, type: "q8_0", seed: 7 }));
});
afterAll(() => {
  vars.KV_CACHE_TYPE = saved.type;
  vars.MODEL_NAME = saved.model;
});

const SAMPLING = { temperature: 0.9, top_k: 40, top_p: 0.95, repetition_penalty: 1.1, seed: 4321 };
const generate = async (id: string, body: Record<string, unknown>) => json(await call("POST", `/v1/sessions/${id}/generate`, body));
const evict = (id: string) => runInDurableObject(env.SESSIONS.getByName(id), (instance: LlamaSession) => expect(instance[EVICT]()).toBe(true));
const pageBytes = (id: string) =>
  runInDurableObject(env.SESSIONS.getByName(id), (_i: LlamaSession, state) => state.storage.sql.exec("SELECT coalesce(sum(length(data)), 0) AS b FROM kv_pages").one().b as number);

/** stories260K: 5 layers × 32 KV dims × 2; the tiny model: 2 layers × 32 × 2. Bytes per position by KV type. */
const CASES = [
  { type: "f16", model: undefined, perPosition: 5 * 64 * 2, prompt: () => referenceRun().prompt },
  { type: "q8_0", model: TINY, perPosition: 2 * 2 * 34, prompt: () => "the quick brown fox" },
] as const;

for (const c of CASES) {
  describe(`KV_CACHE_TYPE=${c.type}`, () => {
    beforeAll(() => {
      vars.KV_CACHE_TYPE = c.model ? `f16, ${c.model}=${c.type}` : c.type; // the per-model entry picks q8_0
      vars.MODEL_NAME = c.model ?? saved.model;
    });

    it("pages store the typed bytes: bytes_per_position and the rows follow the type", async () => {
      const s = await createSession({ temperature: 0 });
      const r = await generate(s.id, { text: c.prompt(), max_tokens: 12 });
      const info = await json(await call("GET", `/v1/sessions/${s.id}`));
      expect(info.storage.bytes_per_position).toBe(c.perPosition);
      expect(info.storage.kv_bytes).toBe(info.evaluated_tokens * c.perPosition);
      expect(await pageBytes(s.id)).toBe(info.evaluated_tokens * c.perPosition);
      expect(r.tokens.length).toBe(12);
      // GET /v1/model sizes a session's cache in the same type.
      const card = await json(await call("GET", "/v1/model"));
      expect(card.memory.kv_bytes).toBe(card.default_n_ctx * c.perPosition);
    });

    it("sampled: evicted and restored from its pages, a session continues exactly like an uninterrupted run", async () => {
      const whole = await generate((await createSession(SAMPLING)).id, { text: c.prompt(), max_tokens: 24 });
      const s = await createSession(SAMPLING);
      const head = await generate(s.id, { text: c.prompt(), max_tokens: 12 });
      await evict(s.id);
      const tail = await countForwarded(() => generate(s.id, { max_tokens: 12 }));
      expect(tail.forwarded).toBe(12); // nothing recomputed: the typed pages were written back as they were stored
      expect([...head.tokens, ...tail.result.tokens]).toEqual(whole.tokens);
    });

    it("sampled: a fork continues like its source; a rewind equals a fresh session holding the same tokens", async () => {
      const source = await createSession(SAMPLING);
      const first = await generate(source.id, { text: c.prompt(), max_tokens: 15 });
      const fork = await json(await call("POST", `/v1/sessions/${source.id}/fork`), 201);
      const forked = await countForwarded(() => generate(fork.id, { max_tokens: 8 }));
      expect(forked.forwarded).toBe(8);
      expect((await generate(source.id, { max_tokens: 8 })).tokens).toEqual(forked.result.tokens);

      const info = await json(await call("GET", `/v1/sessions/${source.id}`));
      const keep = info.token_count - 8 - 15 + 7; // the prompt and 7 generated tokens
      await json(await call("POST", `/v1/sessions/${source.id}/rewind`, { tokens: keep }));
      await evict(source.id);
      const after = await generate(source.id, { max_tokens: 10, seed: 99 });
      const fresh = await createSession(SAMPLING);
      expect((await generate(fresh.id, { text: c.prompt(), max_tokens: 7 })).tokens).toEqual(first.tokens.slice(0, 7));
      expect((await generate(fresh.id, { max_tokens: 10, seed: 99 })).tokens).toEqual(after.tokens);
    });
  });
}
