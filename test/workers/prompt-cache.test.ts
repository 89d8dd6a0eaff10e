// The prompt cache across sessions: shared prefixes restore whole 32-token blocks, answers stay exact, bad blocks are dropped, budgets evict.
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { BLOCK_TOKENS } from "../../src/cache/block-hash";
import type { PromptCache } from "../../src/cache/prompt-cache";
import { countForwarded } from "./forward-counter";
import { call, createSession, json, parseSse, seedModel } from "./helpers";

const vars = env as unknown as Record<string, string | undefined>;
const saved = { mode: vars.PROMPT_CACHE_MODE, mb: vars.PROMPT_CACHE_MB, type: vars.KV_CACHE_TYPE, model: vars.MODEL_NAME, backend: vars.BACKEND };
const Q8 = "stories260K-Q8_0.gguf";

beforeAll(async () => {
  await seedModel();
  await env.MODELS.put(Q8, env.TEST_MODEL_STORIES260K_Q8_0);
});
afterEach(() => Object.assign(vars, { PROMPT_CACHE_MODE: saved.mode, PROMPT_CACHE_MB: saved.mb, KV_CACHE_TYPE: saved.type, MODEL_NAME: saved.model, BACKEND: saved.backend }));

/** A system prompt of about 400 tokens, distinct per test (`tag`), so no test sees another's blocks. */
function systemPrompt(tag: string): string {
  const line = `Rule ${tag}: tell a short, kind story about a little dog and a cat who play in the park with a red ball. `;
  return Array.from({ length: 7 }, (_, i) => line.replace("Rule", `Rule ${i}`)).join("");
}

const chat = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => json(await call("POST", "/v1/chat/completions", body, headers));
const complete = async (body: Record<string, unknown>) => json(await call("POST", "/v1/completions", body));
const tokensOf = (r: any) => r.choices.map((c: any) => c.message?.content ?? c.text);
const cachedOf = (r: any) => r.usage.prompt_tokens_details.cached_tokens as number;

/** The answer with the cache switched off: what every cached answer must equal. */
async function uncached<T>(fn: () => Promise<T>): Promise<T> {
  vars.PROMPT_CACHE_MODE = "off";
  try {
    return await fn();
  } finally {
    vars.PROMPT_CACHE_MODE = saved.mode;
  }
}

/** The served model's cache object (named by the MODELS key and its etag). */
async function cacheObject(model = env.MODEL_NAME) {
  const head = await env.MODELS.head(model);
  return env.PROMPT_CACHE.getByName(`${model}@${head!.etag}`);
}

const SAMPLED = { temperature: 0.9, top_k: 40, top_p: 0.95, seed: 77, frequency_penalty: 0.3 };

describe("prompt cache", () => {
  it.each([
    ["greedy", { temperature: 0 }],
    ["seeded sampling", SAMPLED],
  ])("%s chat: a second request sharing a ~400-token system prompt restores whole blocks and answers exactly as uncached", async (name, sampling) => {
    const system = systemPrompt(`chat-${name}`);
    const ask = (user: string) => chat({ messages: [{ role: "system", content: system }, { role: "user", content: user }], max_tokens: 16, ...sampling });
    const expected = await uncached(() => countForwarded(() => ask("Where is the ball?")));
    expect(cachedOf(expected.result)).toBe(0);
    expect(expected.result.usage.prompt_tokens).toBeGreaterThan(350);

    const cold = await ask("Tell me about the dog."); // publishes the prompt's whole blocks
    expect(cachedOf(cold)).toBe(0);
    const warm = await countForwarded(() => ask("Where is the ball?"));
    const cached = cachedOf(warm.result);
    expect(cached).toBeGreaterThan(0);
    expect(cached % BLOCK_TOKENS).toBe(0);
    // The shared part is the system turn: the cache serves blocks of it, never past the prompt's last token.
    expect(cached).toBeLessThan(warm.result.usage.prompt_tokens);
    expect(tokensOf(warm.result)).toEqual(tokensOf(expected.result));
    expect(warm.result.usage.completion_tokens).toBe(expected.result.usage.completion_tokens);
    // Not recomputed: exactly the cached positions fewer went through the forward pass.
    expect(warm.forwarded).toBe(expected.forwarded - cached);
  });

  it("completions on the ref backend, one-shot and in a session, streamed usage included", async () => {
    vars.BACKEND = "ref";
    const prompt = systemPrompt("ref") + "Once upon a time";
    const body = { prompt, max_tokens: 10, ...SAMPLED };
    const expected = await uncached(() => complete(body));
    expect(cachedOf(await complete(body))).toBe(0);
    const oneShot = await complete(body);
    expect(cachedOf(oneShot)).toBe(Math.floor((oneShot.usage.prompt_tokens - 1) / BLOCK_TOKENS) * BLOCK_TOKENS);
    expect(tokensOf(oneShot)).toEqual(tokensOf(expected));

    // A new session's first request hits too, and the session continues exactly after an eviction.
    const s = await createSession({ ...SAMPLED, seed: 5 });
    const plain = await createSession({ ...SAMPLED, seed: 5 });
    const first = await complete({ ...body, seed: undefined, session_id: s.id });
    const firstPlain = await uncached(() => complete({ ...body, seed: undefined, session_id: plain.id }));
    expect(cachedOf(first)).toBe(cachedOf(oneShot));
    expect(tokensOf(first)).toEqual(tokensOf(firstPlain));
    const next = await complete({ prompt: " The dog", max_tokens: 8, session_id: s.id });
    const nextPlain = await complete({ prompt: " The dog", max_tokens: 8, session_id: plain.id });
    expect(cachedOf(next)).toBe(0); // not a fresh context: the session's own KV serves it
    expect(tokensOf(next)).toEqual(tokensOf(nextPlain));

    const frames = parseSse(await (await call("POST", "/v1/completions", { ...body, stream: true, stream_options: { include_usage: true } })).text());
    const usage = JSON.parse(frames.at(-2)!.data).usage;
    expect(usage.prompt_tokens_details.cached_tokens).toBe(cachedOf(oneShot));
  });

  it("a poisoned or truncated block is detected, dropped and recomputed: the answer stays exact", async () => {
    const prompt = systemPrompt("corrupt") + "The cat";
    const body = { prompt, max_tokens: 12, temperature: 0 };
    const expected = await uncached(() => complete(body));
    await complete(body);
    const stub = await cacheObject();
    const statsBefore = await stub.stats();
    // Flip one byte in every stored block part: the chain's first block fails its checksum, nothing is served.
    await runInDurableObject(stub, (_i: PromptCache, state) => {
      for (const r of state.storage.sql.exec("SELECT hash, part, data FROM block_parts").toArray()) {
        const data = new Uint8Array(r.data as ArrayBuffer);
        data[data.length >> 1] ^= 0x40;
        state.storage.sql.exec("UPDATE block_parts SET data = ? WHERE hash = ? AND part = ?", data.buffer, r.hash, r.part);
      }
    });
    const poisoned = await countForwarded(() => complete(body));
    expect(cachedOf(poisoned.result)).toBe(0);
    expect(tokensOf(poisoned.result)).toEqual(tokensOf(expected));
    expect(poisoned.forwarded).toBe(poisoned.result.usage.prompt_tokens + poisoned.result.usage.completion_tokens - 1);
    // The first block failed its check on lookup; the rest were found poisoned (and repaired) when the run republished them.
    const blocks = Math.floor(poisoned.result.usage.prompt_tokens / BLOCK_TOKENS);
    expect((await stub.stats()).corruptBlocks).toBe(statsBefore.corruptBlocks + blocks);

    // The recomputed blocks were published again: the next request restores all of them. Then truncate one block's row.
    const again = await complete(body);
    expect(cachedOf(again)).toBe(Math.floor((again.usage.prompt_tokens - 1) / BLOCK_TOKENS) * BLOCK_TOKENS);
    expect(tokensOf(again)).toEqual(tokensOf(expected));
    await runInDurableObject(stub, (_i: PromptCache, state) => {
      const sql = state.storage.sql;
      const deepest = sql.exec("SELECT hash FROM blocks ORDER BY last_used DESC, depth DESC LIMIT 1").one().hash;
      const row = sql.exec("SELECT data FROM block_parts WHERE hash = ? AND part = 0", deepest).one();
      sql.exec("UPDATE block_parts SET data = ? WHERE hash = ? AND part = 0", (row.data as ArrayBuffer).slice(0, 1000), deepest);
    });
    const truncated = await complete(body);
    expect(cachedOf(truncated)).toBe(cachedOf(again) - BLOCK_TOKENS);
    expect(tokensOf(truncated)).toEqual(tokensOf(expected));
    expect((await stub.stats()).corruptBlocks).toBe(statsBefore.corruptBlocks + blocks + 1);
  });

  it("a tiny PROMPT_CACHE_MB evicts least recently used blocks, a chain's last blocks first", async () => {
    const probe = await complete({ prompt: systemPrompt("evict-probe"), max_tokens: 1, temperature: 0 });
    const stub = await cacheObject();
    const blockBytes = (await stub.stats()).blockBytes / (await stub.stats()).blocks;
    vars.PROMPT_CACHE_MB = String((2.5 * blockBytes) / (1 << 20)); // room for two blocks
    const body = { prompt: systemPrompt("evict"), max_tokens: 4, temperature: 0 };
    const before = await stub.stats();
    const cold = await complete(body);
    const after = await stub.stats();
    expect(after.blocks).toBe(2);
    expect(after.blockBytes).toBe(2 * blockBytes);
    expect(after.evictedBlocks - before.evictedBlocks).toBe(before.blocks + Math.floor(cold.usage.prompt_tokens / BLOCK_TOKENS) - 2);
    // The two kept are the chain's first two: a repeat restores exactly 64 tokens and still answers exactly.
    const warm = await complete(body);
    expect(cachedOf(warm)).toBe(2 * BLOCK_TOKENS);
    expect(tokensOf(warm)).toEqual(tokensOf(cold));
    expect(probe.usage.prompt_tokens).toBeGreaterThan(2 * BLOCK_TOKENS);
  });

  it("different KV types, models and backends never share blocks", async () => {
    const body = { prompt: systemPrompt("identity"), max_tokens: 6, temperature: 0 };
    await complete(body);
    expect(cachedOf(await complete(body))).toBeGreaterThan(0);
    vars.KV_CACHE_TYPE = "f16";
    const f16 = await complete(body);
    expect(cachedOf(f16)).toBe(0);
    expect(cachedOf(await complete(body))).toBeGreaterThan(0); // f16 blocks of its own
    vars.KV_CACHE_TYPE = saved.type;
    vars.BACKEND = "ref";
    expect(cachedOf(await complete(body))).toBe(0);
    vars.BACKEND = saved.backend;
    vars.MODEL_NAME = Q8;
    expect(cachedOf(await complete(body))).toBe(0);
    expect(cachedOf(await complete(body))).toBeGreaterThan(0);
  });

  it("/metrics: cache blocks, lookups by result, evictions and the storage bytes sessions report", async () => {
    const body = { prompt: systemPrompt("metrics"), max_tokens: 4, temperature: 0 };
    await complete(body);
    await complete(body);
    const s = await createSession({ temperature: 0 });
    await complete({ ...body, session_id: s.id });
    const info = await json(await call("GET", `/v1/sessions/${s.id}`));
    const stats = await (await cacheObject()).stats();
    const sample = (text: string, series: string) => {
      const line = text.split("\n").find((l) => l.startsWith(series + " "));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    // The session's report is sent in the background: wait for the ledger to hold it.
    let text = "";
    for (let i = 0; i < 50; i++) {
      text = await (await call("GET", "/metrics")).text();
      if ((sample(text, 'edge_llama_storage_bytes{kind="session_kv_pages"}') ?? 0) >= info.storage.kv_bytes) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(sample(text, "edge_llama_prompt_cache_blocks")).toBe(stats.blocks);
    expect(sample(text, 'edge_llama_storage_bytes{kind="prompt_cache_blocks"}')).toBe(stats.blockBytes);
    expect(sample(text, 'edge_llama_prompt_cache_block_lookups_total{result="hit"}')).toBe(stats.hitBlocks);
    expect(sample(text, 'edge_llama_prompt_cache_block_lookups_total{result="corrupt"}')).toBe(stats.corruptBlocks);
    expect(sample(text, "edge_llama_prompt_cache_evictions_total")).toBe(stats.evictedBlocks);
    expect(sample(text, 'edge_llama_storage_bytes{kind="session_kv_pages"}')).toBeGreaterThanOrEqual(info.storage.kv_bytes);
    expect(sample(text, "edge_llama_prompt_cache_hits_total")).toBeGreaterThanOrEqual(2);
    expect(sample(text, "edge_llama_prompt_cached_tokens_total")).toBeGreaterThanOrEqual(2 * BLOCK_TOKENS);
    // Deleting the session takes its bytes out of the ledger.
    await json(await call("DELETE", `/v1/sessions/${s.id}`));
    for (let i = 0; i < 50 && (await (await cacheObject()).stats()).sessions === stats.sessions; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await (await cacheObject()).stats()).sessions).toBe(stats.sessions - 1);
  });
});
