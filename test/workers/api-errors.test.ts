// Bad input: every error is OpenAI-shaped JSON with the right status, names the parameter, and never carries a stack trace.
import { beforeAll, describe, expect, it } from "vitest";
import { call, createSession, json, seedModel } from "./helpers";

beforeAll(seedModel);

function expectShape(body: any, status: { type: string; code?: string; param?: string | null }) {
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error).toMatchObject(status);
  expect(body.error.message).not.toMatch(/\n\s+at /);
}

describe("API errors", () => {
  it("malformed JSON is a 400 invalid_request_error", async () => {
    for (const path of ["/v1/completions", "/v1/chat/completions", "/v1/sessions"]) {
      expectShape(await json(await call("POST", path, "{not json"), 400), { type: "invalid_request_error", code: "invalid_json", param: null });
    }
  });

  it.each([
    [{ prompt: "x", temperature: -1 }, "temperature"],
    [{ prompt: "x", top_p: -0.1 }, "top_p"],
    [{ prompt: "x", top_k: 1.5 }, "top_k"],
    [{ prompt: "x", min_p: 2 }, "min_p"],
    [{ prompt: "x", presence_penalty: 3 }, "presence_penalty"],
    [{ prompt: "x", frequency_penalty: -3 }, "frequency_penalty"],
    [{ prompt: "x", repetition_penalty: 0 }, "repetition_penalty"],
    [{ prompt: "x", seed: 0.5 }, "seed"],
    [{ prompt: "x", max_tokens: -1 }, "max_tokens"],
    [{ prompt: "x", stop: [""] }, "stop.0"],
    [{ prompt: 5 }, "prompt"],
    [{}, "prompt"],
    [{ prompt: "x", logprobs: 21 }, "logprobs"],
    [{ prompt: "x", logprobs: -1 }, "logprobs"],
    [{ prompt: "x", logprobs: true }, "logprobs"],
    [{ prompt: "x", max_tokens: "10" }, "max_tokens"],
    [{ prompt: "x", temperature: "hot" }, "temperature"],
    [{ prompt: "x", stream: "yes" }, "stream"],
    [{ prompt: "x", n: 129 }, "n"],
  ])("out-of-range or wrong-typed %j is a 400 naming %s", async (body, param) => {
    const res = await json(await call("POST", "/v1/completions", body), 400);
    expectShape(res, { type: "invalid_request_error", param });
    expect(res.error.message).toContain(param);
  });

  const user = [{ role: "user", content: "Hi" }];
  it.each([
    [{ messages: user, logprobs: "yes" }, "logprobs"],
    [{ messages: user, logprobs: true, top_logprobs: 21 }, "top_logprobs"],
    [{ messages: user, logprobs: true, top_logprobs: 2.5 }, "top_logprobs"],
    [{ messages: user, top_logprobs: 3 }, "top_logprobs"],
    [{ messages: user, max_completion_tokens: -5 }, "max_completion_tokens"],
    [{ messages: [{ role: "robot", content: "Hi" }] }, "messages.0.role"],
    [{ messages: [{ role: "user", content: 7 }] }, "messages.0.content"],
    [{ messages: "Hi" }, "messages"],
  ])("chat: %j is a 400 naming %s", async (body, param) => {
    const res = await json(await call("POST", "/v1/chat/completions", body), 400);
    expectShape(res, { type: "invalid_request_error", param });
    expect(res.error.message).toContain(param);
  });

  it.each([
    [{ logprobs: 21 }, "logprobs"],
    [{ max_tokens: 1.5 }, "max_tokens"],
    [{ text: 12 }, "text"],
    [{ seed: "x" }, "seed"],
  ])("native generate: %j is a 400 naming %s", async (body, param) => {
    const s = await createSession();
    const res = await json(await call("POST", `/v1/sessions/${s.id}/generate`, body), 400);
    expectShape(res, { type: "invalid_request_error", param });
  });

  it("session parameters are checked too: n_ctx over the model's context, rewind without tokens, chat without messages", async () => {
    expectShape(await json(await call("POST", "/v1/sessions", { n_ctx: 100000 }), 400), { type: "invalid_request_error", param: "n_ctx" });
    const s = await createSession();
    expectShape(await json(await call("POST", `/v1/sessions/${s.id}/rewind`, {}), 400), { type: "invalid_request_error", param: "tokens" });
    expectShape(await json(await call("POST", `/v1/sessions/${s.id}/generate`, { top_p: 5 }), 400), { type: "invalid_request_error", param: "top_p" });
    expectShape(await json(await call("POST", "/v1/chat/completions", { messages: [] }), 400), { type: "invalid_request_error", param: "messages" });
  });

  it("a prompt over the context is a 400 context_length_exceeded, and the session is unchanged", async () => {
    const s = await createSession({ n_ctx: 16 });
    const long = "Once upon a time there was a little girl who liked to play in the park with her dog";
    expectShape(await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: long }), 400), { type: "invalid_request_error", code: "context_length_exceeded", param: "text" });
    expect((await json(await call("GET", `/v1/sessions/${s.id}`))).token_count).toBe(0);
    const huge = Array(600).fill("dog").join(" ");
    expectShape(await json(await call("POST", "/v1/completions", { prompt: huge }), 400), { type: "invalid_request_error", code: "context_length_exceeded", param: "prompt" });
    expectShape(await json(await call("POST", "/v1/chat/completions", { messages: [{ role: "user", content: huge }] }), 400), { type: "invalid_request_error", code: "context_length_exceeded", param: "messages" });
  });

  it("an explicit max_tokens that does not fit after the prompt is a 400 context_length_exceeded; without one the reply just ends at the context", async () => {
    // The default context is 512 tokens; "Once upon a time" is 5 of them (BOS included).
    const tooMany = await json(await call("POST", "/v1/completions", { prompt: "Once upon a time", max_tokens: 508, temperature: 0 }), 400);
    expectShape(tooMany, { type: "invalid_request_error", code: "context_length_exceeded", param: "prompt" });
    expect(tooMany.error.message).toContain("508 to generate");
    const fits = await json(await call("POST", "/v1/completions", { prompt: "Once upon a time", max_tokens: 507, temperature: 0 }));
    expect(fits.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 507 });
    const s = await createSession({ n_ctx: 16, temperature: 0 });
    expectShape(await json(await call("POST", "/v1/completions", { prompt: "Once upon a time", max_tokens: 12, session_id: s.id }), 400), { type: "invalid_request_error", code: "context_length_exceeded" });
    const native = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: "Once upon a time", max_tokens: 12 }));
    expect(native).toMatchObject({ finish_reason: "context_full", can_continue: false });
  });

  it("unknown sessions and unknown routes are 404s", async () => {
    for (const id of ["0123456789abcdef0123456789abcdef", "not-an-id"]) {
      expectShape(await json(await call("GET", `/v1/sessions/${id}`), 404), { type: "not_found_error", code: "session_not_found" });
      expectShape(await json(await call("POST", `/v1/sessions/${id}/generate`, {}), 404), { type: "not_found_error", code: "session_not_found" });
    }
    expectShape(await json(await call("GET", "/v2/nothing"), 404), { type: "not_found_error", code: "not_found" });
  });
});
