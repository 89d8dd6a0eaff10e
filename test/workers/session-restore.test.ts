// Restore reads the stored KV pages (tampering with a page changes the continuation), and fork and rewind equal a fresh session with the same tokens.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { EVICT, type LlamaSession } from "../../src/session/llama-session";
import { countForwarded } from "./forward-counter";
import { call, createSession, json, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

const SAMPLING = { temperature: 0.9, top_k: 40, top_p: 0.95, repetition_penalty: 1.1, seed: 4321 };
const generate = async (id: string, body: Record<string, unknown>) => json(await call("POST", `/v1/sessions/${id}/generate`, body));

/** Drops the object's in-memory state, then lets `edit` change its SQLite storage before the next request restores from it. */
function evictAndEdit(id: string, edit: (sql: SqlStorage) => void = () => {}) {
  return runInDurableObject(env.SESSIONS.getByName(id), (instance: LlamaSession, state) => {
    expect(instance[EVICT]()).toBe(true);
    edit(state.storage.sql);
  });
}

describe("restore from storage", () => {
  it("continues from the KV pages as stored: zeroing one page changes what follows, so nothing is recomputed", async () => {
    const run = referenceRun();
    const intact = await createSession({ temperature: 0 });
    const tampered = await createSession({ temperature: 0 });
    for (const s of [intact, tampered]) await generate(s.id, { text: run.prompt, max_tokens: 12 });
    await evictAndEdit(intact.id);
    await evictAndEdit(tampered.id, (sql) => sql.exec("UPDATE kv_pages SET data = zeroblob(length(data)) WHERE page = 0"));
    const a = await countForwarded(() => generate(intact.id, { max_tokens: 10 }));
    const b = await countForwarded(() => generate(tampered.id, { max_tokens: 10 }));
    expect(a.result.tokens).toEqual(run.generatedTokens.slice(12, 22));
    expect(b.result.tokens).not.toEqual(a.result.tokens);
    expect([a.forwarded, b.forwarded]).toEqual([10, 10]);
  });
});

describe("fork and rewind equal a fresh session holding the same tokens", () => {
  it("sampled: a fork continues like its source and like one uninterrupted run, computing only new positions", async () => {
    const prompt = referenceRun().prompt;
    const whole = await generate((await createSession(SAMPLING)).id, { text: prompt, max_tokens: 20 });
    const source = await createSession(SAMPLING);
    const head = await generate(source.id, { text: prompt, max_tokens: 10 });
    const fork = await json(await call("POST", `/v1/sessions/${source.id}/fork`), 201);
    const forked = await countForwarded(() => generate(fork.id, { max_tokens: 10 }));
    expect(forked.forwarded).toBe(10);
    expect([...head.tokens, ...forked.result.tokens]).toEqual(whole.tokens);
    expect((await generate(source.id, { max_tokens: 10 })).tokens).toEqual(forked.result.tokens);
  });

  it("sampled: rewinding into a page and reseeding equals a fresh session that only ever held those tokens", async () => {
    const prompt = referenceRun().prompt;
    const keep = referenceRun().promptTokens.length + 7;
    const rewound = await createSession(SAMPLING);
    const first = await generate(rewound.id, { text: prompt, max_tokens: 15 });
    const r = await json(await call("POST", `/v1/sessions/${rewound.id}/rewind`, { tokens: keep }));
    expect(r).toMatchObject({ token_count: keep, evaluated_tokens: keep });
    await evictAndEdit(rewound.id);
    const after = await generate(rewound.id, { max_tokens: 12, seed: 99 });

    const fresh = await createSession(SAMPLING);
    const same = await generate(fresh.id, { text: prompt, max_tokens: 7 });
    expect(same.tokens).toEqual(first.tokens.slice(0, 7));
    const expected = await generate(fresh.id, { max_tokens: 12, seed: 99 });
    expect(after.tokens).toEqual(expected.tokens);
    expect((await json(await call("GET", `/v1/sessions/${rewound.id}`))).text).toBe((await json(await call("GET", `/v1/sessions/${fresh.id}`))).text);
  });
});
