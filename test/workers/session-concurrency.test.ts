// One generation at a time per session (409), and a client disconnect stops the generation, keeping what was generated.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { LlamaSession } from "../../src/session/llama-session";
import type { Result, GenerateStart } from "../../src/protocol";
import { call, createSession, json, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

const info = async (id: string) => json(await call("GET", `/v1/sessions/${id}`));

async function waitIdle(id: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const s = await info(id);
    if (!s.generating) return s;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the session is still generating");
}

describe("one generation at a time", () => {
  it("a second generate while one streams gets 409 with a clear message; after it ends the session is free", async () => {
    const s = await createSession({ temperature: 0 });
    const res = await call("POST", `/v1/sessions/${s.id}/generate`, { text: referenceRun().prompt, max_tokens: 40, stream: true });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    const conflict = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { max_tokens: 5 }), 409);
    expect(conflict.error).toMatchObject({ type: "conflict_error", code: "session_busy", param: null });
    expect(conflict.error.message).toMatch(/already generating/);
    expect((await json(await call("POST", `/v1/sessions/${s.id}/rewind`, { tokens: 1 }), 409)).error.code).toBe("session_busy");
    expect((await json(await call("POST", `/v1/sessions/${s.id}/fork`), 409)).error.code).toBe("session_busy");
    while (!(await reader.read()).done);
    const after = await waitIdle(s.id);
    expect(after.token_count).toBe(referenceRun().promptTokens.length + 40);
    expect((await json(await call("POST", `/v1/sessions/${s.id}/generate`, { max_tokens: 5 }))).tokens).toHaveLength(5);
  });

  it("two simultaneous HTTP generates: one 200, one 409, and the session holds exactly the winner's tokens", async () => {
    const prompt = referenceRun().prompt;
    const whole = await json(await call("POST", `/v1/sessions/${(await createSession({ temperature: 0 })).id}/generate`, { text: prompt, max_tokens: 114 }));
    const s = await createSession({ temperature: 0 });
    await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: prompt, max_tokens: 4 }));
    const [a, b] = await Promise.all([0, 1].map(() => call("POST", `/v1/sessions/${s.id}/generate`, { max_tokens: 100 })));
    expect([a!.status, b!.status].sort()).toEqual([200, 409]);
    const [won, lost] = a!.status === 200 ? [a!, b!] : [b!, a!];
    expect((await json(lost, 409)).error).toMatchObject({ type: "conflict_error", code: "session_busy" });
    expect((await json(won)).tokens).toEqual(whole.tokens.slice(4, 104));
    const after = await waitIdle(s.id);
    expect(after.token_count).toBe(referenceRun().promptTokens.length + 104);
    expect((await json(await call("POST", `/v1/sessions/${s.id}/generate`, { max_tokens: 10 }))).tokens).toEqual(whole.tokens.slice(104, 114));
  });

  it("two simultaneous RPC calls: exactly one starts, the other is refused with 409", async () => {
    const s = await createSession({ temperature: 0 });
    const stub = env.SESSIONS.getByName(s.id);
    const req = { text: referenceRun().prompt, maxTokens: 10 };
    const results = (await Promise.all([stub.generate(req), stub.generate(req)])) as Result<GenerateStart>[];
    expect(results.map((r) => r.ok).sort()).toEqual([false, true]);
    const refused = results.find((r) => !r.ok);
    expect(refused && !refused.ok && refused.error).toMatchObject({ status: 409, code: "session_busy" });
    const started = results.find((r) => r.ok);
    if (started?.ok) await new Response(started.value.events).text();
    expect((await waitIdle(s.id)).token_count).toBe(referenceRun().promptTokens.length + 10);
  });
});

describe("client disconnect", () => {
  it("cancelling the SSE response stops the generation and keeps the tokens generated so far", async () => {
    const s = await createSession({ temperature: 0 });
    const res = await call("POST", `/v1/sessions/${s.id}/generate`, { text: referenceRun().prompt, max_tokens: 400, stream: true });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const after = await waitIdle(s.id);
    expect(after.last_finish_reason).toBe("abort");
    const generated = after.token_count - referenceRun().promptTokens.length;
    expect(generated).toBeGreaterThan(0);
    expect(generated).toBeLessThan(400);
    // What was kept is the greedy continuation, and the session continues from it.
    const next = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { max_tokens: 5 }));
    expect(next.tokens).toEqual(referenceRun().generatedTokens.slice(generated, generated + 5));
  });

  it("cancelling the RPC stream aborts after the current token", async () => {
    const s = await createSession({ temperature: 0 });
    const stub = env.SESSIONS.getByName(s.id);
    const start = (await stub.generate({ text: referenceRun().prompt, maxTokens: 400 })) as Result<GenerateStart>;
    if (!start.ok) throw new Error(start.error.message);
    const reader = start.value.events.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    const after = await waitIdle(s.id);
    expect(after.last_finish_reason).toBe("abort");
    expect(after.token_count - referenceRun().promptTokens.length).toBeLessThan(50);
  });

  it("DELETE during a generation stops it, and nothing is written back afterwards", async () => {
    const s = await createSession({ temperature: 0 });
    const res = await call("POST", `/v1/sessions/${s.id}/generate`, { text: referenceRun().prompt, max_tokens: 300, stream: true });
    const reader = res.body!.getReader();
    await reader.read();
    expect((await json(await call("DELETE", `/v1/sessions/${s.id}`))).deleted).toBe(true);
    while (!(await reader.read()).done);
    const tables = await runInDurableObject(env.SESSIONS.getByName(s.id), (_i: LlamaSession, state) =>
      state.storage.sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('state', 'kv_pages')").one().n,
    );
    expect(tables).toBe(0);
    expect((await json(await call("GET", `/v1/sessions/${s.id}`), 404)).error.code).toBe("session_not_found");
  });
});
