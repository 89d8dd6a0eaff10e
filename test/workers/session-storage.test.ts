// Session storage: stored bytes follow the page arithmetic, rewind frees pages past the end, fork copies pages, DELETE frees all.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { LlamaSession } from "../../src/session/llama-session";
import { call, createSession, json, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

// stories260K: 5 layers × (K + V) × 32 floats × 4 bytes; the workers project sets KV_PAGE_BYTES = 12800 (10 positions).
const PER_POSITION = 5 * 2 * 32 * 4;
const PER_PAGE = 10;

const generate = async (id: string, body: Record<string, unknown>) => json(await call("POST", `/v1/sessions/${id}/generate`, body));
const info = async (id: string) => json(await call("GET", `/v1/sessions/${id}`));

/** The page rows as SQLite holds them. */
function pageRows(id: string) {
  return runInDurableObject(env.SESSIONS.getByName(id), (_i: LlamaSession, state) =>
    state.storage.sql.exec("SELECT page, length(data) AS bytes FROM kv_pages ORDER BY page").toArray().map((r) => [Number(r.page), Number(r.bytes)]),
  );
}

function expectArithmetic(s: any, evaluated: number) {
  expect(s.evaluated_tokens).toBe(evaluated);
  expect(s.storage).toMatchObject({ bytes_per_position: PER_POSITION, positions_per_page: PER_PAGE, kv_bytes: evaluated * PER_POSITION, kv_pages: Math.ceil(evaluated / PER_PAGE) });
  expect(s.storage.stored_bytes).toBe(s.storage.kv_bytes + s.storage.state_bytes);
}

describe("session storage", () => {
  it("a new session stores settings and no pages", async () => {
    const s = await createSession({ temperature: 0.5, top_k: 10, seed: 99 });
    expect(s.id).toMatch(/^[0-9a-f]{32}$/);
    expect(s).toMatchObject({ object: "session", token_count: 0, text: "", settings: { n_ctx: 512, temperature: 0.5, top_k: 10, seed: 99 } });
    expectArithmetic(s, 0);
    expect(await pageRows(s.id)).toEqual([]);
  });

  it("stored bytes are evaluated positions × bytes per position, in pages of at most 10 positions", async () => {
    const s = await createSession({ temperature: 0 });
    await generate(s.id, { text: referenceRun().prompt, max_tokens: 40 });
    const after = await info(s.id);
    // The last sampled token is pending (evaluated by the next request): 5 + 40 tokens, 44 evaluated.
    expect(after.token_count).toBe(45);
    expectArithmetic(after, 44);
    const rows = await pageRows(s.id);
    expect(rows).toEqual([0, 1, 2, 3, 4].map((p) => [p, Math.min(PER_PAGE, 44 - p * PER_PAGE) * PER_POSITION]));
    expect(after.text).toBe("Once upon a time" + referenceRun().generatedText.slice(0, after.text.length - 16));
  });

  it("rewind truncates the token log, frees pages past the end, and greedy decoding from there repeats itself", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    await generate(s.id, { text: run.prompt, max_tokens: 30 });
    const n = run.promptTokens.length + 18;
    const r = await json(await call("POST", `/v1/sessions/${s.id}/rewind`, { tokens: n }));
    expect(r.token_count).toBe(n);
    expectArithmetic(r, n);
    expect(await pageRows(s.id)).toEqual([[0, 10 * PER_POSITION], [1, 10 * PER_POSITION], [2, 3 * PER_POSITION]]);
    const again = await generate(s.id, { max_tokens: 10 });
    expect(again.tokens).toEqual(run.generatedTokens.slice(18, 28));
    const bad = await json(await call("POST", `/v1/sessions/${s.id}/rewind`, { tokens: 1000 }), 400);
    expect(bad.error).toMatchObject({ type: "invalid_request_error", param: "tokens" });
  });

  it("fork copies the pages (no recompute) and both sessions continue alike and independently", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    await generate(s.id, { text: run.prompt, max_tokens: 12 });
    const f = await json(await call("POST", `/v1/sessions/${s.id}/fork`), 201);
    expect(f.id).not.toBe(s.id);
    const src = await info(s.id);
    expect(f).toMatchObject({ token_count: src.token_count, evaluated_tokens: src.evaluated_tokens, text: src.text });
    expect(f.storage.kv_bytes).toBe(src.storage.kv_bytes);
    expect(await pageRows(f.id)).toEqual(await pageRows(s.id));
    const forked = await generate(f.id, { max_tokens: 10 });
    expect(forked.usage.prefill_tokens).toBe(1);
    expect(forked.tokens).toEqual(run.generatedTokens.slice(12, 22));
    expect((await info(s.id)).token_count).toBe(src.token_count);
    expect((await generate(s.id, { max_tokens: 10 })).tokens).toEqual(forked.tokens);
  });

  it("DELETE removes all storage; the session is then unknown", async () => {
    const s = await createSession({ temperature: 0 });
    await generate(s.id, { text: referenceRun().prompt, max_tokens: 25 });
    expect((await pageRows(s.id)).length).toBe(3);
    const d = await json(await call("DELETE", `/v1/sessions/${s.id}`));
    expect(d).toEqual({ id: s.id, object: "session.deleted", deleted: true });
    const tables = await runInDurableObject(env.SESSIONS.getByName(s.id), (_i: LlamaSession, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").toArray(),
    );
    expect(tables).toEqual([]);
    for (const [method, path] of [["GET", ""], ["POST", "/generate"], ["POST", "/fork"], ["DELETE", ""]] as const) {
      const res = await call(method, `/v1/sessions/${s.id}${path}`, method === "POST" ? {} : undefined);
      expect((await json(res, 404)).error).toMatchObject({ type: "not_found_error", code: "session_not_found" });
    }
  });
});
