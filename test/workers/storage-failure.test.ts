// A storage commit failing mid-request (injected): the request gets a clean 500, the session stays at its last commit, the next request works.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { admission } from "../../src/session/admission";
import type { LlamaSession } from "../../src/session/llama-session";
import { call, createSession, json, parseSse, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

const SAMPLED = { temperature: 0.9, top_k: 40, seed: 4242 };
const info = async (id: string) => json(await call("GET", `/v1/sessions/${id}`));
const generate = async (id: string, body: Record<string, unknown>, status = 200) => json(await call("POST", `/v1/sessions/${id}/generate`, body), status);

/**
 * Makes the object's next storage transaction fail after its writes were issued (so SQLite must roll them back),
 * as a full disk or a lost storage backend would; later transactions run normally.
 */
function failNextCommit(id: string): Promise<void> {
  return runInDurableObject(env.SESSIONS.getByName(id), (_i: LlamaSession, state) => {
    const storage = state.storage;
    const real = storage.transactionSync.bind(storage);
    storage.transactionSync = <T>(fn: () => T): T => {
      storage.transactionSync = real;
      return real(() => {
        fn();
        throw new Error("injected: SQLITE_FULL at /var/lib/secret/path.sqlite");
      });
    };
  });
}

/** What SQLite holds: the state row's token count and evaluated positions, and the page rows. */
function stored(id: string) {
  return runInDurableObject(env.SESSIONS.getByName(id), (_i: LlamaSession, state) => {
    const row = state.storage.sql.exec("SELECT length(tokens) / 4 AS tokens, evaluated, sampler FROM state").one();
    const pages = state.storage.sql.exec("SELECT page, length(data) AS bytes FROM kv_pages ORDER BY page").toArray();
    return { tokens: Number(row.tokens), evaluated: Number(row.evaluated), sampler: String(row.sampler), pages: pages.map((p) => [Number(p.page), Number(p.bytes)]) };
  });
}

function expectInternalError(body: any) {
  expect(body).toEqual({ error: { message: "internal error", type: "server_error", code: "internal_error", param: null } });
}

/** A session with 20 sampled tokens after the prompt, and a twin that is never disturbed. */
async function twins() {
  const [a, b] = [await createSession(SAMPLED), await createSession(SAMPLED)];
  for (const s of [a, b]) await generate(s.id, { text: referenceRun().prompt, max_tokens: 20 });
  return [a.id as string, b.id as string] as const;
}

describe("a failed storage commit", () => {
  // The workers project commits every 8 tokens (PERSIST_EVERY), so a 30-token request fails at its first checkpoint.
  it.each([
    ["a mid-generation checkpoint (JSON)", 30, false],
    ["a mid-generation checkpoint (SSE)", 30, true],
    ["the final commit", 5, false],
  ])("at %s: 500 without internals, state unchanged, and the session continues exactly like its twin", async (_what, maxTokens, stream) => {
    const [id, twin] = await twins();
    const before = { info: await info(id), stored: await stored(id) };
    await failNextCommit(id);
    const res = await call("POST", `/v1/sessions/${id}/generate`, { max_tokens: maxTokens, stream });
    if (stream) {
      expect(res.status).toBe(200);
      const frames = parseSse(await res.text());
      const last = frames.at(-1)!;
      expect(last.event).toBe("error");
      expectInternalError(JSON.parse(last.data));
    } else {
      expect(res.status).toBe(500);
      expectInternalError(await res.json());
    }
    const after = await info(id);
    expect(after.generating).toBe(false);
    // The failed run gave its admission slot back.
    expect(admission.inUse).toBe(0);
    expect({ ...after, storage: { ...after.storage, database_bytes: 0 } }).toEqual({ ...before.info, storage: { ...before.info.storage, database_bytes: 0 } });
    expect(await stored(id)).toEqual(before.stored);
    // The next request runs from the last commit and gives what the undisturbed twin gives.
    const [next, expected] = [await generate(id, { max_tokens: 30 }), await generate(twin, { max_tokens: 30 })];
    expect(next.tokens).toEqual(expected.tokens);
    expect((await info(id)).text).toBe((await info(twin)).text);
  });

  it("during a rewind: 500, nothing truncated, and the rewind then succeeds", async () => {
    const [id, twin] = await twins();
    const before = await stored(id);
    await failNextCommit(id);
    const res = await call("POST", `/v1/sessions/${id}/rewind`, { tokens: 8 });
    expect(res.status).toBe(500);
    expectInternalError(await res.json());
    expect(await stored(id)).toEqual(before);
    expect((await info(id)).token_count).toBe(before.tokens);
    // The in-memory context was truncated before the write failed; it must not be what the next request sees.
    const [next, expected] = [await generate(id, { max_tokens: 10 }), await generate(twin, { max_tokens: 10 })];
    expect(next.tokens).toEqual(expected.tokens);
    expect((await json(await call("POST", `/v1/sessions/${id}/rewind`, { tokens: 8 }))).token_count).toBe(8);
  });
});
