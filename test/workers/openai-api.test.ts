// OpenAI-compatible endpoints and SSE framing: completions (one-shot and in a session), chat, the native stream, models.
import { beforeAll, describe, expect, it } from "vitest";
import { call, createSession, json, parseSse, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

describe("OpenAI-compatible API", () => {
  it("GET /v1/models lists the configured model", async () => {
    const body = await json(await call("GET", "/v1/models"));
    expect(body).toEqual({ object: "list", data: [{ id: "stories260K.gguf", object: "model", created: 0, owned_by: "edge-llama" }] });
  });

  it("POST /v1/completions (greedy) gives llama.cpp's text, a finish reason and usage", async () => {
    const run = referenceRun();
    const body = await json(await call("POST", "/v1/completions", { model: "stories260K.gguf", prompt: run.prompt, max_tokens: 64, temperature: 0 }));
    expect(body).toMatchObject({ object: "text_completion", model: "stories260K.gguf", choices: [{ index: 0, text: run.generatedText, finish_reason: "length", logprobs: null }] });
    expect(body.id).toMatch(/^cmpl-/);
    expect(body.usage).toEqual({ prompt_tokens: run.promptTokens.length, completion_tokens: 64, total_tokens: run.promptTokens.length + 64, prompt_tokens_details: { cached_tokens: 0 } });
  });

  it("stop strings end the completion with finish_reason stop and never leak", async () => {
    const body = await json(await call("POST", "/v1/completions", { prompt: referenceRun().prompt, max_tokens: 64, temperature: 0, stop: " named" }));
    expect(body.choices[0]).toMatchObject({ text: ", there was a little girl", finish_reason: "stop" });
  });

  it("seeded sampling is reproducible across requests", async () => {
    const req = { prompt: "Once upon a time", max_tokens: 24, temperature: 0.8, top_k: 40, top_p: 0.9, min_p: 0.05, seed: 42, presence_penalty: 0.2, frequency_penalty: 0.1, repetition_penalty: 1.1 };
    const a = await json(await call("POST", "/v1/completions", req));
    const b = await json(await call("POST", "/v1/completions", req));
    expect(a.choices[0].text).toBe(b.choices[0].text);
    expect(a.choices[0].text.length).toBeGreaterThan(10);
  });

  it("streams OpenAI chunks over SSE ending with data: [DONE]; the text equals the non-streamed one", async () => {
    const run = referenceRun();
    const res = await call("POST", "/v1/completions", { prompt: run.prompt, max_tokens: 30, temperature: 0, stream: true });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const frames = parseSse(await res.text());
    expect(frames.at(-1)!.data).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
    for (const c of chunks) expect(c).toMatchObject({ object: "text_completion", model: "stories260K.gguf", choices: [{ index: 0 }] });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const last = chunks.at(-1);
    expect(last.choices[0].finish_reason).toBe("length");
    // Without stream_options.include_usage no chunk has a usage field (OpenAI's behaviour).
    expect(chunks.some((c) => "usage" in c)).toBe(false);
    expect(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null)).toBe(true);
    expect(chunks.map((c) => c.choices[0].text).join("")).toBe(run.generatedText.slice(0, chunks.map((c) => c.choices[0].text).join("").length));
    const whole = await json(await call("POST", "/v1/completions", { prompt: run.prompt, max_tokens: 30, temperature: 0 }));
    expect(chunks.map((c) => c.choices[0].text).join("")).toBe(whole.choices[0].text);
  });

  it("continues a session named by x-session-id or session_id", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    const first = await call("POST", "/v1/completions", { prompt: run.prompt, max_tokens: 10 }, { "x-session-id": s.id });
    expect(first.headers.get("x-session-id")).toBe(s.id);
    const a = await json(first);
    const b = await json(await call("POST", "/v1/completions", { prompt: "", max_tokens: 10, session_id: s.id }));
    expect(a.choices[0].text + b.choices[0].text).toBe(run.generatedText.slice(0, (a.choices[0].text + b.choices[0].text).length));
    expect(b.usage.prompt_tokens).toBe(0);
    expect((await json(await call("GET", `/v1/sessions/${s.id}`))).token_count).toBe(run.promptTokens.length + 20);
    const missing = await json(await call("POST", "/v1/completions", { prompt: "x" }, { "x-session-id": "0".repeat(32) }), 404);
    expect(missing.error.code).toBe("session_not_found");
  });

  it("POST /v1/chat/completions answers with an assistant message, streamed as deltas too", async () => {
    const req = { messages: [{ role: "user", content: "Tell me a story." }], max_tokens: 16, temperature: 0 };
    const body = await json(await call("POST", "/v1/chat/completions", req));
    expect(body).toMatchObject({ object: "chat.completion", choices: [{ index: 0, message: { role: "assistant" } }] });
    expect(["length", "stop"]).toContain(body.choices[0].finish_reason);
    const frames = parseSse(await (await call("POST", "/v1/chat/completions", { ...req, stream: true })).text());
    expect(frames.at(-1)!.data).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.map((c) => c.choices[0].delta.content ?? "").join("")).toBe(body.choices[0].message.content);
  });

  it("a streamed chat choice names its role in its first delta only; the last chunk has an empty delta and the finish reason", async () => {
    const frames = parseSse(await (await call("POST", "/v1/chat/completions", { messages: [{ role: "user", content: "Tell me a story." }], max_tokens: 8, temperature: 0, stream: true })).text());
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
    expect(chunks[0].choices[0].delta).toMatchObject({ role: "assistant" });
    expect(chunks.slice(1).every((c) => !("role" in c.choices[0].delta))).toBe(true);
    expect(chunks.at(-1).choices[0]).toMatchObject({ delta: {}, finish_reason: "length" });
  });

  it("stream_options.include_usage: usage null on every chunk, then one last chunk with choices [] and the usage", async () => {
    for (const [path, body] of [
      ["/v1/completions", { prompt: "Once upon a time", max_tokens: 6 }],
      ["/v1/chat/completions", { messages: [{ role: "user", content: "Hi" }], max_tokens: 6 }],
    ] as const) {
      const frames = parseSse(await (await call("POST", path, { ...body, temperature: 0, stream: true, stream_options: { include_usage: true } })).text());
      expect(frames.at(-1)!.data).toBe("[DONE]");
      const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
      const last = chunks.at(-1);
      expect(last.choices).toEqual([]);
      expect(last.usage).toMatchObject({ completion_tokens: 6 });
      expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens + 6);
      expect(chunks.slice(0, -1).every((c) => c.usage === null && c.choices.length === 1)).toBe(true);
    }
  });
});

describe("SSE framing", () => {
  it("every frame is `data: <one line of JSON>` and a blank line; OpenAI streams end with data: [DONE], native ones with event: done", async () => {
    const openai = await (await call("POST", "/v1/completions", { prompt: "Once upon a time", max_tokens: 8, temperature: 0, stream: true })).text();
    expect(openai).toMatch(/^(data: \{[^\n]*\}\n\n)+data: \[DONE\]\n\n$/);
    const s = await createSession({ temperature: 0 });
    const res = await call("POST", `/v1/sessions/${s.id}/generate`, { text: "Once upon a time", max_tokens: 8, stream: true });
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(await res.text()).toMatch(/^(event: token\ndata: \{[^\n]*\}\n\n)+event: done\ndata: \{[^\n]*\}\n\n$/);
  });
});

describe("native session stream", () => {
  it("SSE token events then one done event carrying the whole result", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    const res = await call("POST", `/v1/sessions/${s.id}/generate`, { text: run.prompt, max_tokens: 20, stream: true });
    expect(res.status).toBe(200);
    const frames = parseSse(await res.text());
    const tokens = frames.filter((f) => f.event === "token").map((f) => JSON.parse(f.data));
    const done = frames.at(-1)!;
    expect(done.event).toBe("done");
    const result = JSON.parse(done.data);
    expect(result).toMatchObject({ object: "session.generation", finish_reason: "length", can_continue: true, tokens: run.generatedTokens.slice(0, 20) });
    expect(tokens.map((t) => t.text).join("")).toBe(result.text);
  });
});
