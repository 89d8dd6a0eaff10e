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
    [{ prompt: "x", top_p: 0 }, "top_p"],
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
  ])("out-of-range or wrong-typed %j is a 400 naming %s", async (body, param) => {
    const res = await json(await call("POST", "/v1/completions", body), 400);
    expectShape(res, { type: "invalid_request_error", param });
    expect(res.error.message).toContain(param);
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
  });

  it("unknown sessions and unknown routes are 404s", async () => {
    for (const id of ["0123456789abcdef0123456789abcdef", "not-an-id"]) {
      expectShape(await json(await call("GET", `/v1/sessions/${id}`), 404), { type: "not_found_error", code: "session_not_found" });
      expectShape(await json(await call("POST", `/v1/sessions/${id}/generate`, {}), 404), { type: "not_found_error", code: "session_not_found" });
    }
    expectShape(await json(await call("GET", "/v2/nothing"), 404), { type: "not_found_error", code: "not_found" });
  });
});
