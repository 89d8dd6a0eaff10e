// Chat completions with tools on stories260K (no chat template: the generic JSON format, taught by a system turn): forced calls, auto, none, streaming deltas, tool results back through the template, and the 400s.
import { beforeAll, describe, expect, it } from "vitest";
import { plainChatPrompt, PLAIN_STOP } from "../../src/session/chat";
import { genericMessages } from "../../src/tools/format";
import { env } from "cloudflare:test";
import { completionChunk } from "../../src/api/openapi-openai";
import { chatCompletionResponse } from "../../src/api/openapi-schemas";
import { readGguf } from "../../src/gguf/index";
import { createTokenizer } from "../../src/tokenizer/index";
import { call, json, parseSse, seedModel } from "./helpers";

beforeAll(seedModel);
const stories = createTokenizer(readGguf(new Uint8Array(env.TEST_MODEL_STORIES260K)));

const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather",
    parameters: { type: "object", properties: { city: { type: "string", maxLength: 12 }, days: { type: "integer", minimum: 1, maximum: 7 } }, required: ["city", "days"] },
  },
} as const;
const TIME = { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { zone: { enum: ["UTC", "CET"] } }, required: ["zone"] } } } as const;
const TOOLS = [WEATHER, TIME];
const USER = [{ role: "user", content: "What is the weather in Paris?" }] as const;

const chat = async (body: Record<string, unknown>, status = 200) => json(await call("POST", "/v1/chat/completions", { messages: USER, max_tokens: 100, ...body }), status);

/** The arguments of a call, checked against the tools' schemas by hand (ajv compiles code, which workerd forbids). */
function checkArguments(name: string, args: string): Record<string, unknown> {
  const a = JSON.parse(args) as Record<string, unknown>;
  if (name === "get_weather") {
    expect(Object.keys(a)).toEqual(["city", "days"]);
    expect(typeof a.city).toBe("string");
    expect((a.city as string).length).toBeLessThanOrEqual(12);
    expect(Number.isInteger(a.days) && (a.days as number) >= 1 && (a.days as number) <= 7).toBe(true);
  } else {
    expect(name).toBe("get_time");
    expect(["UTC", "CET"]).toContain(a.zone);
  }
  return a;
}

describe("tool_choice required and named", () => {
  it("required: the reply is a call of one of the tools, arguments valid against its schema", async () => {
    for (const seed of [1, 2, 3]) {
      const r = await chat({ tools: TOOLS, tool_choice: "required", temperature: 1, seed });
      expect(chatCompletionResponse.safeParse(r).success).toBe(true); // as the OpenAPI document describes it
      const c = r.choices[0];
      expect(c.finish_reason).toBe("tool_calls");
      expect(c.message.content).toBeNull();
      expect(c.message.tool_calls).toHaveLength(1);
      const tc = c.message.tool_calls[0];
      expect(tc).toMatchObject({ type: "function", id: expect.stringMatching(/^call_[A-Za-z0-9]{24}$/) });
      checkArguments(tc.function.name, tc.function.arguments);
      expect(r.usage.completion_tokens).toBeGreaterThan(0);
    }
  });

  it("a named function: exactly that function, ids unique across calls", async () => {
    const ids = new Set<string>();
    for (const seed of [4, 5]) {
      const r = await chat({ tools: TOOLS, tool_choice: { type: "function", function: { name: "get_time" } }, temperature: 1, seed });
      const tc = r.choices[0].message.tool_calls;
      expect(tc).toHaveLength(1);
      expect(tc[0].function.name).toBe("get_time");
      checkArguments("get_time", tc[0].function.arguments);
      ids.add(tc[0].id);
    }
    expect(ids.size).toBe(2);
  });

  it("parallel_tool_calls: true: the calls' list may end after any call (here made to after the first by logit_bias on ])", async () => {
    // A random model under "one or more calls" rarely stops on its own; a bias on every token holding "]" ends the list
    // as soon as the grammar allows (the tools' schemas have no free strings where "]" could go). Several calls in
    // one reply are covered by the grammar and parser unit tests.
    const endList = Object.fromEntries(Array.from({ length: stories.vocabSize }, (_, id) => id).filter((id) => stories.tokenText(id).includes("]")).map((id) => [String(id), 100]));
    const r = await chat({ tools: [TIME], tool_choice: "required", parallel_tool_calls: true, temperature: 1, seed: 9, logit_bias: endList });
    expect(r.choices[0].finish_reason).toBe("tool_calls");
    const calls = r.choices[0].message.tool_calls as { id: string; function: { name: string; arguments: string } }[];
    expect(calls).toHaveLength(1);
    checkArguments(calls[0]!.function.name, calls[0]!.function.arguments);
  });

  it("a forced call cut by max_tokens stays text, with finish_reason length", async () => {
    const r = await chat({ tools: TOOLS, tool_choice: "required", temperature: 1, seed: 1, max_tokens: 5 });
    expect(r.choices[0].finish_reason).toBe("length");
    expect(r.choices[0].message.tool_calls).toBeUndefined();
    expect(r.choices[0].message.content).toMatch(/^\s*\{/);
  });

  it("n choices each carry their own calls", async () => {
    const r = await chat({ tools: TOOLS, tool_choice: "required", temperature: 1, seed: 3, n: 2 });
    expect(r.choices).toHaveLength(2);
    for (const c of r.choices) {
      expect(c.finish_reason).toBe("tool_calls");
      checkArguments(c.message.tool_calls[0].function.name, c.message.tool_calls[0].function.arguments);
    }
  });
});

describe("tool_choice auto and none", () => {
  it("auto: stories260K answers in text (no call), and its prompt teaches the tools", async () => {
    const r = await chat({ tools: TOOLS, temperature: 0, max_tokens: 30 });
    expect(r.choices[0].message.tool_calls).toBeUndefined();
    expect(typeof r.choices[0].message.content).toBe("string");
    expect(r.choices[0].finish_reason).not.toBe("tool_calls");
    const plain = await chat({ temperature: 0, max_tokens: 30 });
    expect(r.usage.prompt_tokens).toBeGreaterThan(plain.usage.prompt_tokens + 50); // the tools' system turn
  });

  it("auto: a reply in the tool-call format is read as a call (here made so by a json_schema grammar)", async () => {
    const callShape = { type: "object", properties: { tool_call: { type: "object", properties: { name: { const: "get_time" }, arguments: TIME.function.parameters }, required: ["name", "arguments"] } }, required: ["tool_call"] };
    const r = await chat({ tools: TOOLS, tool_choice: "auto", json_schema: callShape, temperature: 1, seed: 2 });
    expect(r.choices[0].finish_reason).toBe("tool_calls");
    expect(r.choices[0].message.tool_calls[0].function.name).toBe("get_time");
    checkArguments("get_time", r.choices[0].message.tool_calls[0].function.arguments);
    // The same reply under "none" stays text: the JSON itself.
    const none = await chat({ tools: TOOLS, tool_choice: "none", json_schema: callShape, temperature: 1, seed: 2 });
    expect(none.choices[0].message.tool_calls).toBeUndefined();
    expect(JSON.parse(none.choices[0].message.content).tool_call.name).toBe("get_time");
  });

  it("none: the tools are not rendered; the reply equals a request without tools", async () => {
    const r = await chat({ tools: TOOLS, tool_choice: "none", temperature: 0, max_tokens: 30 });
    const plain = await chat({ temperature: 0, max_tokens: 30 });
    expect(r.choices[0].message).toEqual(plain.choices[0].message);
    expect(r.usage).toEqual(plain.usage);
  });
});

describe("streaming", () => {
  it("required: tool_calls deltas (id, type, name first; arguments after) that add up to the non-streamed call", async () => {
    const body = { tools: TOOLS, tool_choice: "required", temperature: 1, seed: 11 };
    const whole = await chat(body);
    const res = await call("POST", "/v1/chat/completions", { messages: USER, max_tokens: 100, ...body, stream: true });
    const frames = parseSse(await res.text());
    expect(frames.at(-1)!.data).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
    for (const c of chunks) expect(completionChunk.safeParse(c).success).toBe(true);
    const deltas = chunks.map((c) => c.choices[0].delta);
    expect(deltas[0].role).toBe("assistant");
    expect(deltas.filter((d) => typeof d.content === "string" && d.content !== "")).toEqual([]);
    const tc = deltas.filter((d) => d.tool_calls).map((d) => d.tool_calls[0]);
    expect(tc[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), type: "function", function: { name: whole.choices[0].message.tool_calls[0].function.name, arguments: "" } });
    expect(tc.slice(1).every((d) => d.index === 0 && d.id === undefined && d.function.name === undefined)).toBe(true);
    expect(tc.map((d) => d.function.arguments).join("")).toBe(whole.choices[0].message.tool_calls[0].function.arguments);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("tool_calls");
  });

  it("required, a multi-field schema: the name comes before the reply's last token, the arguments in several fragments that add up to the non-streamed reply's", async () => {
    const body = { tools: [WEATHER], tool_choice: "required", temperature: 1, seed: 7, logprobs: true };
    const whole = await chat(body);
    const wholeCall = whole.choices[0].message.tool_calls[0];
    const res = await call("POST", "/v1/chat/completions", { messages: USER, max_tokens: 100, ...body, stream: true });
    const chunks = parseSse(await res.text()).slice(0, -1).map((f) => JSON.parse(f.data));
    // With logprobs every generated token has its own chunk: the chunks after the name's hold more tokens.
    const named = chunks.findIndex((c) => c.choices[0]?.delta.tool_calls?.[0]?.function?.name !== undefined);
    expect(named).toBeGreaterThan(0);
    expect(chunks[named].choices[0].delta.tool_calls[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), function: { name: "get_weather", arguments: "" } });
    const tokensAfter = chunks.slice(named + 1).filter((c) => c.choices[0]?.logprobs?.content?.length);
    expect(tokensAfter.length).toBeGreaterThan(1);
    const fragments = chunks.slice(named + 1).flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).map((d) => d.function.arguments as string);
    expect(fragments.length).toBeGreaterThan(1);
    expect(fragments.join("")).toBe(wholeCall.function.arguments);
    checkArguments("get_weather", fragments.join(""));
    expect(chunks.filter((c) => c.choices[0]?.delta.tool_calls?.[0]?.id !== undefined)).toHaveLength(1);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("tool_calls");
  });

  it("auto with a text reply streams the same content as without streaming", async () => {
    const body = { tools: TOOLS, temperature: 0, max_tokens: 30 };
    const whole = await chat(body);
    const res = await call("POST", "/v1/chat/completions", { messages: USER, ...body, stream: true });
    const chunks = parseSse(await res.text()).slice(0, -1).map((f) => JSON.parse(f.data));
    expect(chunks.map((c) => c.choices[0].delta.content ?? "").join("")).toBe(whole.choices[0].message.content);
    expect(chunks.some((c) => c.choices[0].delta.tool_calls)).toBe(false);
  });
});

describe("tool results back through the template", () => {
  it("an assistant turn with tool_calls and a tool turn render as the generic format's JSON turns", async () => {
    const messages = [
      ...USER,
      { role: "assistant", content: null, tool_calls: [{ id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris", "days": 1}' } }] },
      { role: "tool", tool_call_id: "call_a", content: "sunny, 21 C" },
    ];
    const r = await chat({ messages, tools: [WEATHER], temperature: 0, max_tokens: 30 });
    expect(r.choices[0].message.content.length).toBeGreaterThan(0);
    // The same prompt spelled out: the plain template over the generic messages, as a completion.
    const prompt = plainChatPrompt(genericMessages(messages.map((m) => ({ ...m, content: m.content ?? "" })) as never, [WEATHER] as never, false));
    expect(prompt).toContain('Assistant: {"tool_call":{"name":"get_weather","arguments":{"city":"Paris","days":1}}}\nUser: {"tool_response":{"name":"get_weather","content":"sunny, 21 C"}}\nAssistant:');
    const plain = await json(await call("POST", "/v1/completions", { prompt, max_tokens: 30, temperature: 0, stop: PLAIN_STOP }));
    expect(r.choices[0].message.content).toBe(plain.choices[0].text);
    expect([r.usage.prompt_tokens, r.usage.completion_tokens]).toEqual([plain.usage.prompt_tokens, plain.usage.completion_tokens]);
  });
});

describe("tools in a session (x-session-id)", () => {
  const newSession = async () => (await json(await call("POST", "/v1/sessions", {}), 201)).id as string;
  const inSession = async (id: string, body: Record<string, unknown>, status = 200) => json(await call("POST", "/v1/chat/completions", { max_tokens: 60, ...body }, { "x-session-id": id }), status);
  const prompt = genericMessages([], [TIME] as never, false)[0]!.content;

  it("a 2-turn round trip: the call, then its result; the tools are described once, in the first turn", async () => {
    const id = await newSession();
    const first = await inSession(id, { messages: USER, tools: [TIME], tool_choice: "required", temperature: 1, seed: 3, max_tokens: 100 });
    expect(first.choices[0].finish_reason).toBe("tool_calls");
    const tc = first.choices[0].message.tool_calls[0];
    checkArguments("get_time", tc.function.arguments);
    const second = await inSession(id, { messages: [{ role: "tool", tool_call_id: tc.id, name: "get_time", content: "12:00" }], tools: [TIME], temperature: 0, max_tokens: 20 });
    expect(typeof second.choices[0].message.content).toBe("string");
    // Only the new turn was appended: far fewer tokens than the tools' description alone.
    expect(second.usage.prompt_tokens).toBeLessThan(stories.encode(prompt, { addSpecial: false }).length);
    const text = (await json(await call("GET", `/v1/sessions/${id}`))).text as string;
    expect(text.split(prompt)).toHaveLength(2); // described exactly once
    // The reply as generated (the call's arguments are its own bytes), then the result as a user turn.
    expect(text.indexOf(tc.function.arguments)).toBeGreaterThan(text.indexOf("What is the weather in Paris?"));
    expect(text).toContain(`User: {"tool_response":{"name":"get_time","content":"12:00"}}\nAssistant:`);
    expect(text.indexOf(prompt)).toBeLessThan(text.indexOf("What is the weather in Paris?"));
  });

  it("other tools mid-session, or tools in a session started without them, are a 400 naming tools; the session is left as it was", async () => {
    const id = await newSession();
    await inSession(id, { messages: USER, tools: [TIME], temperature: 0, max_tokens: 5 });
    const before = (await json(await call("GET", `/v1/sessions/${id}`))).token_count;
    const changed = await inSession(id, { messages: [{ role: "user", content: "And now?" }], tools: [WEATHER], max_tokens: 5 }, 400);
    expect(changed.error).toMatchObject({ param: "tools", message: expect.stringContaining("cannot change mid-conversation") });
    expect((await json(await call("GET", `/v1/sessions/${id}`))).token_count).toBe(before);
    // The same tools again, or none, continue.
    await inSession(id, { messages: [{ role: "user", content: "And now?" }], tools: [TIME], max_tokens: 5 });
    await inSession(id, { messages: [{ role: "user", content: "Thanks." }], max_tokens: 5 });
    const plain = await newSession();
    await inSession(plain, { messages: USER, max_tokens: 5 });
    expect((await inSession(plain, { messages: USER, tools: [TIME], max_tokens: 5 }, 400)).error.param).toBe("tools");
  });
});

describe("400s naming the field", () => {
  const bad = async (body: Record<string, unknown>) => (await chat(body, 400)).error;

  it("tools and tool_choice", async () => {
    expect(await bad({ tools: TOOLS, tool_choice: { type: "function", function: { name: "nope" } } })).toMatchObject({ param: "tool_choice.function.name", message: expect.stringContaining('no tool is named "nope"') });
    expect(await bad({ tool_choice: "required" })).toMatchObject({ param: "tool_choice", message: expect.stringContaining("needs tools") });
    expect(await bad({ tools: TOOLS, tool_choice: "always" })).toMatchObject({ param: "tool_choice" });
    expect(await bad({ tools: [{ type: "function", function: { name: "f", parameters: "x" } }] })).toMatchObject({ param: "tools.0.function.parameters" });
    expect(await bad({ tools: [{ type: "function", function: { name: "f", parameters: { type: "array" } } }] })).toMatchObject({ param: "tools.0.function.parameters.type", code: "invalid_grammar" });
    expect(await bad({ tools: [TIME, { type: "function", function: { name: "g", parameters: { type: "object", properties: { n: { type: "number", multipleOf: 2 } } } } }] })).toMatchObject({
      param: "tools.1.function.parameters.properties.n.multipleOf",
      code: "invalid_grammar",
      message: expect.stringContaining("unsupported"),
    });
    expect(await bad({ tools: [TIME, TIME] })).toMatchObject({ param: "tools.1.function.name" });
    expect(await bad({ tools: [{ type: "function", function: { name: "has space" } }] })).toMatchObject({ param: "tools.0.function.name" });
    expect(await bad({ tools: [{ type: "retrieval" }] })).toMatchObject({ param: "tools.0.type" });
    expect(await bad({ tools: TOOLS, tool_choice: "required", response_format: { type: "json_object" } })).toMatchObject({ param: "tool_choice" });
    expect(await bad({ functions: [{ name: "f" }] })).toMatchObject({ param: "functions" });
  });

  it("tool messages", async () => {
    expect(await bad({ messages: [...USER, { role: "tool", content: "x" }] })).toMatchObject({ param: "messages.1.tool_call_id" });
    expect(await bad({ messages: [{ role: "user", content: "x", tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: "{}" } }] }] })).toMatchObject({ param: "messages.0.tool_calls" });
    expect(await bad({ messages: [{ role: "assistant", content: null }] })).toMatchObject({ param: "messages.0.content" });
    expect(await bad({ messages: [{ role: "assistant", content: null, tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: {} } }] }] })).toMatchObject({ param: "messages.0.tool_calls.0.function.arguments" });
  });
});
