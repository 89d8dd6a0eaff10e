// Hostile input with known answers: prompts at and over the context, a stop string at every position of a known output, ids of nobody.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { LlamaSession } from "../../src/session/llama-session";
import { call, createSession, json, parseSse, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

const complete = (body: Record<string, unknown>) => call("POST", "/v1/completions", { temperature: 0, ...body });

describe("prompts and the context", () => {
  it("a prompt that exactly fills n_ctx is accepted; one token more is a 400 context_length_exceeded that leaves the session untouched", async () => {
    const run = referenceRun();
    const p = run.promptTokens.length;
    const fits = await createSession({ n_ctx: p, temperature: 0 });
    const ok = await json(await call("POST", `/v1/sessions/${fits.id}/generate`, { text: run.prompt, max_tokens: 0 }));
    expect(ok.usage.input_tokens).toBe(p);
    const over = await createSession({ n_ctx: p - 1, temperature: 0 });
    const err = await json(await call("POST", `/v1/sessions/${over.id}/generate`, { text: run.prompt }), 400);
    expect(err.error).toMatchObject({ type: "invalid_request_error", code: "context_length_exceeded", param: "text" });
    expect(err.error.message).toContain(`over its context length of ${p - 1}`);
    expect(await json(await call("GET", `/v1/sessions/${over.id}`))).toMatchObject({ token_count: 0, evaluated_tokens: 0 });
  });

  it("huge prompts (100k characters, long chat histories) are 400 context_length_exceeded, on every generating route", async () => {
    const huge = "Once upon a time ".repeat(6000);
    const s = await createSession();
    const cases: [string, Record<string, unknown>, string][] = [
      ["/v1/completions", { prompt: huge }, "prompt"],
      ["/v1/chat/completions", { messages: Array.from({ length: 200 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: "tell me a story" })) }, "messages"],
      [`/v1/sessions/${s.id}/generate`, { text: huge }, "text"],
    ];
    for (const [path, body, param] of cases) {
      const err = await json(await call("POST", path, body), 400);
      expect(err.error).toMatchObject({ code: "context_length_exceeded", param });
    }
  });
});

describe("stop strings", () => {
  it("a stop string taken at every position of the greedy output ends the text right before its first occurrence", async () => {
    const run = referenceRun();
    const full = await json(await complete({ prompt: run.prompt, max_tokens: 64 }));
    const g: string = full.choices[0].text;
    expect(g).toBe(run.generatedText);
    for (let i = 0; i < g.length; i++) {
      const stop = g.slice(i, i + 1 + (i % 4));
      const r = await json(await complete({ prompt: run.prompt, max_tokens: 64, stop }));
      expect(r.choices[0], `stop ${JSON.stringify(stop)} at ${i}`).toMatchObject({ text: g.slice(0, g.indexOf(stop)), finish_reason: "stop" });
    }
  });

  it("streamed, no delta ever carries any part of the stop string", async () => {
    const run = referenceRun();
    const g = run.generatedText;
    for (let i = 0; i < g.length; i += 11) {
      const stop = g.slice(i, i + 5);
      const res = await complete({ prompt: run.prompt, max_tokens: 64, stop: [stop, "\u0000never"], stream: true });
      const chunks = parseSse(await res.text()).filter((f) => f.data !== "[DONE]").map((f) => JSON.parse(f.data));
      const text = chunks.map((c) => c.choices[0].text).join("");
      expect(text, `stop ${JSON.stringify(stop)}`).toBe(g.slice(0, g.indexOf(stop)));
      expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
    }
  });
});

describe("session ids of nobody", () => {
  const NOBODY = ["0123456789abcdef0123456789abcdef", "ffffffffffffffffffffffffffffffff"];
  const MALFORMED = ["not-an-id", "0123456789ABCDEF0123456789ABCDEF", "0".repeat(31), "0".repeat(33), "..%2F..%2Fx", "%00", "%F0%9F%92%A9".repeat(8)];

  it("every route answers 404 session_not_found for malformed ids and ids that belong to nobody", async () => {
    for (const id of [...NOBODY, ...MALFORMED]) {
      const attempts: [string, string, unknown, Record<string, string>][] = [
        ["GET", `/v1/sessions/${id}`, undefined, {}],
        ["POST", `/v1/sessions/${id}/generate`, { text: "Once", max_tokens: 2 }, {}],
        ["POST", `/v1/sessions/${id}/rewind`, { tokens: 0 }, {}],
        ["POST", `/v1/sessions/${id}/fork`, {}, {}],
        ["DELETE", `/v1/sessions/${id}`, undefined, {}],
        ["POST", "/v1/completions", { prompt: "Once", max_tokens: 2, session_id: decodeURIComponent(id) }, {}],
        ["POST", "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], session_id: decodeURIComponent(id) }, {}],
      ];
      for (const [method, path, body, headers] of attempts) {
        const err = await json(await call(method, path, body, headers), 404);
        expect(err.error, `${method} ${path}`).toMatchObject({ type: "not_found_error", code: "session_not_found" });
      }
      // A header id that is not valid for HTTP is refused before it reaches us; a plain malformed one is a 404.
      if (/^[\x21-\x7e]+$/.test(id)) expect((await call("POST", "/v1/completions", { prompt: "Once", max_tokens: 2 }, { "x-session-id": id })).status).toBe(404);
    }
  });

  it("no request on nobody's id creates anything in its object", async () => {
    for (const id of NOBODY) {
      for (const path of ["", "/generate", "/rewind", "/fork"]) await call(path ? "POST" : "GET", `/v1/sessions/${id}${path}`, path ? { tokens: 0 } : undefined);
      await call("POST", "/v1/completions", { prompt: "Once", max_tokens: 2, session_id: id });
      const tables = await runInDurableObject(env.SESSIONS.getByName(id), (_i: LlamaSession, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name IN ('state', 'kv_pages')").toArray());
      expect(tables).toEqual([]);
      expect((await call("GET", `/v1/sessions/${id}`)).status).toBe(404);
    }
  });
});
