// OpenAI's request surface, exactly: logit_bias, echo, suffix, n and best_of, GET /v1/models/{id}, developer role, content parts, ranges and named refusals.
import { beforeAll, describe, expect, it } from "vitest";
import { call, json, parseSse, referenceRun } from "./helpers";
import { seedModel } from "./helpers";
import { countForwarded } from "./forward-counter";
import { SCHEMAS } from "../../src/api/openapi";

beforeAll(seedModel);

const complete = (body: Record<string, unknown>, status = 200) => call("POST", "/v1/completions", { temperature: 0, ...body }).then((r) => json(r, status));
const chat = (body: Record<string, unknown>, status = 200) => call("POST", "/v1/chat/completions", { temperature: 0, ...body }).then((r) => json(r, status));
const user = [{ role: "user", content: "Tell me a story." }];

describe("logit_bias", () => {
  it("-100 bans a token in greedy decoding; a positive bias forces one; ids outside the vocabulary are refused", async () => {
    const run = referenceRun();
    const plain = await complete({ prompt: run.prompt, max_tokens: 4 });
    const first = run.generatedTokens[0]!;
    const banned = await complete({ prompt: run.prompt, max_tokens: 4, logit_bias: { [first]: -100 } });
    expect(banned.choices[0].text).not.toBe(plain.choices[0].text);
    const tokens = await complete({ prompt: run.prompt, max_tokens: 4, logprobs: 1, logit_bias: { [first]: -100 } });
    expect(tokens.choices[0].logprobs.top_logprobs.every((t: Record<string, number>) => Object.values(t).every((v) => v > -Infinity))).toBe(true);
    const forced = await complete({ prompt: run.prompt, max_tokens: 3, logit_bias: { "426": 100 } });
    expect(forced.choices[0].text).toBe("...");
    const err = await complete({ prompt: "x", logit_bias: { "512": 1 } }, 400);
    expect(err.error).toMatchObject({ param: "logit_bias", code: "invalid_value" });
    expect(err.error.message).toMatch(/vocabulary/);
    expect((await complete({ prompt: "x", logit_bias: { "1": 101 } }, 400)).error.param).toMatch(/^logit_bias/);
    expect((await complete({ prompt: "x", logit_bias: { abc: 1 } }, 400)).error.param).toMatch(/^logit_bias/);
    const chatBanned = await chat({ messages: user, max_tokens: 4, logit_bias: { [first]: -100 } });
    expect(chatBanned.choices[0].message.content).toBeTypeOf("string");
  });
});

describe("echo and suffix", () => {
  it("echo prepends the prompt (text as sent, token ids decoded), streamed too; echo with logprobs is refused", async () => {
    const run = referenceRun();
    const plain = await complete({ prompt: run.prompt, max_tokens: 6 });
    const echoed = await complete({ prompt: run.prompt, max_tokens: 6, echo: true });
    expect(echoed.choices[0].text).toBe(run.prompt + plain.choices[0].text);
    const ids = await complete({ prompt: run.promptTokens.slice(1), max_tokens: 2, echo: true });
    expect(ids.choices[0].text.startsWith(run.prompt)).toBe(true);
    const frames = parseSse(await (await call("POST", "/v1/completions", { prompt: run.prompt, max_tokens: 6, temperature: 0, echo: true, stream: true })).text());
    const text = frames.slice(0, -1).map((f) => JSON.parse(f.data).choices[0].text).join("");
    expect(text).toBe(echoed.choices[0].text);
    const err = await complete({ prompt: "x", echo: true, logprobs: 1 }, 400);
    expect(err.error).toMatchObject({ param: "echo" });
  });

  it("suffix is refused by name (no fill-in-the-middle tokens); an empty or null suffix is no suffix", async () => {
    const err = await complete({ prompt: "x", suffix: " the end." }, 400);
    expect(err.error).toMatchObject({ param: "suffix", type: "invalid_request_error" });
    expect(err.error.message).toMatch(/^suffix is not supported/);
    await complete({ prompt: "x", max_tokens: 1, suffix: "" });
    await complete({ prompt: "x", max_tokens: 1, suffix: null });
  });
});

describe("n and best_of", () => {
  const sampled = { prompt: "Once upon a time", max_tokens: 12, temperature: 1, seed: 5 };

  it("n choices from one prompt: indexed, choice 0 is the n = 1 answer, the others differ, usage counts them all", async () => {
    const one = await complete(sampled);
    const three = await complete({ ...sampled, n: 3 });
    expect(three.choices.map((c: { index: number }) => c.index)).toEqual([0, 1, 2]);
    expect(three.choices[0].text).toBe(one.choices[0].text);
    expect(new Set(three.choices.map((c: { text: string }) => c.text)).size).toBeGreaterThan(1);
    expect(three.usage).toEqual({ prompt_tokens: one.usage.prompt_tokens, completion_tokens: 36, total_tokens: one.usage.prompt_tokens + 36, prompt_tokens_details: { cached_tokens: 0 } });
    expect(await complete({ ...sampled, n: 3 })).toMatchObject({ choices: three.choices });
    const c = await chat({ messages: user, max_tokens: 8, temperature: 1, seed: 3, n: 2 });
    expect(c.choices.map((x: { index: number; message: { role: string } }) => [x.index, x.message.role])).toEqual([[0, "assistant"], [1, "assistant"]]);
  });

  it("the prompt is evaluated once: each further choice re-evaluates only the prompt's last token", async () => {
    const run = referenceRun();
    const body = { prompt: run.prompt, max_tokens: 5, temperature: 1, seed: 2 };
    const one = await countForwarded(() => complete(body));
    const three = await countForwarded(() => complete({ ...body, n: 3 }));
    expect(one.forwarded).toBe(run.promptTokens.length + 4);
    // Per extra choice: the last prompt token again (its logits), then 4 of its 5 tokens (the last stays pending).
    expect(three.forwarded).toBe(one.forwarded + 2 * (1 + 4));
  });

  it("streams n choices with index on every chunk; each choice's text equals the non-streamed one", async () => {
    const whole = await complete({ ...sampled, n: 2 });
    const frames = parseSse(await (await call("POST", "/v1/completions", { ...sampled, n: 2, stream: true })).text());
    expect(frames.at(-1)!.data).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
    for (const c of chunks) expect(SCHEMAS.CompletionChunk.safeParse(c).success).toBe(true);
    for (const i of [0, 1]) {
      const mine = chunks.filter((c) => c.choices[0].index === i);
      expect(mine.map((c) => c.choices[0].text).join("")).toBe(whole.choices[i].text);
      expect(mine.at(-1).choices[0].finish_reason).toBe("length");
    }
  });

  it("best_of returns the n choices with the highest cumulative log-probability", async () => {
    const all = await complete({ ...sampled, n: 4, logprobs: 0 });
    const sums = all.choices.map((c: { logprobs: { token_logprobs: number[] } }) => c.logprobs.token_logprobs.reduce((a, b) => a + b, 0));
    const best = sums.indexOf(Math.max(...sums));
    const picked = await complete({ ...sampled, best_of: 4 });
    expect(picked.choices).toHaveLength(1);
    expect(picked.choices[0]).toMatchObject({ index: 0, text: all.choices[best].text });
    expect(picked.usage.completion_tokens).toBe(48);
    const two = await complete({ ...sampled, best_of: 4, n: 2 });
    expect(two.choices.map((c: { index: number }) => c.index)).toEqual([0, 1]);
  });

  it("refusals: n out of 1..128, best_of < n, best_of > n with stream, n > 1 in a session", async () => {
    expect((await complete({ prompt: "x", n: 129 }, 400)).error.param).toBe("n");
    expect((await complete({ prompt: "x", n: 0 }, 400)).error.param).toBe("n");
    expect((await complete({ prompt: "x", n: 3, best_of: 2 }, 400)).error.param).toBe("best_of");
    expect((await complete({ prompt: "x", best_of: 2, stream: true }, 400)).error.param).toBe("best_of");
    expect((await complete({ prompt: "x", n: 2, session_id: "0".repeat(32) }, 400)).error.param).toBe("n");
    const header = { "x-session-id": "0".repeat(32) };
    expect((await json(await call("POST", "/v1/completions", { prompt: "x", best_of: 2 }, header), 400)).error.param).toBe("best_of");
    expect((await json(await call("POST", "/v1/chat/completions", { messages: user, n: 2 }, header), 400)).error.param).toBe("n");
    expect((await chat({ messages: user, best_of: 2 }, 400)).error.param).toBe("best_of");
  });
});

describe("models", () => {
  it("GET /v1/models/{id} answers the served model in OpenAI's shape; another id is a 404 model_not_found", async () => {
    const model = await json(await call("GET", "/v1/models/stories260K.gguf"));
    expect(model).toEqual({ id: "stories260K.gguf", object: "model", created: 0, owned_by: "edge-llama" });
    expect(SCHEMAS.Model.safeParse(model).success).toBe(true);
    const err = await json(await call("GET", "/v1/models/gpt-4o"), 404);
    expect(err.error).toMatchObject({ code: "model_not_found", type: "not_found_error" });
  });
});

describe("chat messages", () => {
  it("developer is system; content may be text parts; other part types are refused by name", async () => {
    const system = await chat({ messages: [{ role: "system", content: "Be brief." }, ...user], max_tokens: 8 });
    const developer = await chat({ messages: [{ role: "developer", content: "Be brief." }, ...user], max_tokens: 8 });
    expect(developer.choices[0].message.content).toBe(system.choices[0].message.content);
    // The same prompt: the second request restores the first's whole 32-token blocks from the prompt cache.
    expect(developer.usage).toEqual({ ...system.usage, prompt_tokens_details: { cached_tokens: Math.floor((system.usage.prompt_tokens - 1) / 32) * 32 } });
    const parts = await chat({ messages: [{ role: "system", content: [{ type: "text", text: "Be brief." }] }, { role: "user", content: [{ type: "text", text: "Tell me a story." }] }], max_tokens: 8 });
    expect(parts.choices[0].message.content).toBe(system.choices[0].message.content);
    const image = await chat({ messages: [{ role: "user", content: [{ type: "text", text: "Hi" }, { type: "image_url", image_url: { url: "x" } }] }] }, 400);
    expect(image.error.param).toBe("messages.0.content.1.type");
    expect(image.error.message).toMatch(/image_url/);
    expect((await chat({ messages: [{ role: "function", content: "x" }] }, 400)).error.param).toBe("messages.0.role");
    expect((await chat({ messages: [{ role: "tool", content: "x" }] }, 400)).error.param).toBe("messages.0.tool_call_id");
    expect((await chat({ messages: [{ role: "user", content: "x", name: "bob" }] }, 400)).error.param).toBe("messages.0.name");
    expect((await chat({ messages: [{ role: "user", content: "x", metadata: {} }] }, 400)).error.param).toBe("messages.0.metadata");
    // An assistant message replayed as a client got it: its empty fields carry nothing, so they are accepted.
    const replay = { role: "assistant", content: " Once", refusal: null, tool_calls: [], function_call: null, audio: null, annotations: [] };
    await chat({ messages: [...user, replay, { role: "user", content: "More." }], max_tokens: 2 });
    // Tool calls on a user turn are refused (an assistant turn's are rendered: test/workers/tool-calls.test.ts).
    const calls = await chat({ messages: [{ ...user[0]!, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }] }] }, 400);
    expect(calls.error.param).toBe("messages.0.tool_calls");
  });

  it("max_completion_tokens is max_tokens; both given and different is a 400", async () => {
    const a = await chat({ messages: user, max_completion_tokens: 3 });
    expect(a.usage.completion_tokens).toBeLessThanOrEqual(3);
    await chat({ messages: user, max_completion_tokens: 3, max_tokens: 3 });
    expect((await chat({ messages: user, max_completion_tokens: 3, max_tokens: 4 }, 400)).error.param).toBe("max_completion_tokens");
  });
});

describe("ranges and refusals", () => {
  it.each([
    [{ temperature: 2.5 }, "temperature"],
    [{ top_p: 1.5 }, "top_p"],
    [{ presence_penalty: 2.1 }, "presence_penalty"],
    [{ stop: ["a", "b", "c", "d", "e"] }, "stop"],
    [{ logprobs: 21 }, "logprobs"],
    [{ grammar: "root ::= (" }, "grammar"],
    [{ json_schema: { type: "object", not: {} } }, "json_schema.not"],
    [{ frobnicate: true }, "frobnicate"],
    [{ stream_options: { include_usage: true } }, "stream_options"],
  ])("completions %j is a 400 naming %s", async (extra, param) => {
    const err = await complete({ prompt: "x", ...extra }, 400);
    expect(err.error).toMatchObject({ param, type: "invalid_request_error" });
    expect(err.error.message).toContain(param);
  });

  it.each([
    [{ response_format: { type: "json_object" }, grammar: 'root ::= "a"' }, "grammar"],
    [{ response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "number", multipleOf: 2 } } } }, "response_format.json_schema.schema.multipleOf"],
    [{ tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "g" } } }, "tool_choice.function.name"],
    [{ tool_choice: "required" }, "tool_choice"],
    [{ tool_choice: { type: "function", function: { name: "f" } } }, "tool_choice"],
    [{ functions: [{ name: "f" }] }, "functions"],
    [{ echo: true }, "echo"],
    [{ top_logprobs: 21, logprobs: true }, "top_logprobs"],
  ])("chat %j is a 400 naming %s", async (extra, param) => {
    const err = await chat({ messages: user, ...extra }, 400);
    expect(err.error).toMatchObject({ param, type: "invalid_request_error" });
    expect(err.error.message).toContain(param);
  });

  it("accepted: temperature 2, top_p 0 (the most likely token), 4 stop strings, user, response_format text, tools with tool_choice auto (a plain-text reply)", async () => {
    const greedy = await complete({ prompt: "Once upon a time", max_tokens: 8 });
    const topP0 = await complete({ prompt: "Once upon a time", max_tokens: 8, temperature: 2, top_p: 0, seed: 9 });
    expect(topP0.choices[0].text).toBe(greedy.choices[0].text);
    await complete({ prompt: "x", max_tokens: 1, stop: ["a", "b", "c", "d"], user: "u-1" });
    const tools = await chat({ messages: user, max_tokens: 4, tools: [{ type: "function", function: { name: "f", parameters: {} } }], tool_choice: "auto", parallel_tool_calls: false, response_format: { type: "text" } });
    expect(tools.choices[0].message).not.toHaveProperty("tool_calls");
  });
});
