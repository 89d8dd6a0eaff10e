// LocalAi inside workerd: Workers AI's run() shape (JSON and SSE) on our model, and @cloudflare/ai-utils runWithTools over it.
import { runWithTools } from "@cloudflare/ai-utils";
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { LocalAi } from "../../src/ai/local-ai";
import { call, json, parseSse, referenceRun, seedModel } from "./helpers";

// Any Workers AI model name maps to the served model, so code written for env.AI runs unchanged.
const MODEL = "@cf/meta/llama-3.1-8b-instruct";
const greedy = new LocalAi(env, { defaults: { temperature: 0 } });
const question = [{ role: "user" as const, content: "Where did Lily go?" }];

describe("LocalAi", () => {
  beforeAll(seedModel);

  it("continues a raw prompt exactly as llama.cpp does, with token usage", async () => {
    const ref = referenceRun();
    const out = await greedy.run(MODEL, { prompt: ref.prompt, raw: true, max_tokens: ref.generatedTokens.length });
    expect(out.response).toBe(ref.generatedText);
    expect(out.usage).toEqual({ prompt_tokens: ref.promptTokens.length, completion_tokens: ref.generatedTokens.length, total_tokens: ref.promptTokens.length + ref.generatedTokens.length });
  });

  it("streams SSE {response} chunks that add up to the same text, usage last, then [DONE]", async () => {
    const ref = referenceRun();
    const stream = await greedy.run(MODEL, { prompt: ref.prompt, raw: true, max_tokens: 24, stream: true });
    const frames = parseSse(await new Response(stream).text());
    expect(frames.at(-1)!.data).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data) as { response: string; usage?: { completion_tokens: number } });
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.map((c) => c.response).join("")).toBe((await greedy.run(MODEL, { prompt: ref.prompt, raw: true, max_tokens: 24 })).response);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBe(24);
    expect(chunks.slice(0, -1).every((c) => c.usage === undefined)).toBe(true);
  });

  it("renders messages (and a non-raw prompt) through the chat template, as /v1/chat/completions does", async () => {
    const viaHttp = await json(await call("POST", "/v1/chat/completions", { messages: question, max_tokens: 20, temperature: 0 }));
    const viaAi = await greedy.run(MODEL, { messages: question, max_tokens: 20 });
    expect(viaAi.response).toBe(viaHttp.choices[0].message.content);
    expect(viaAi.usage.prompt_tokens).toBe(viaHttp.usage.prompt_tokens);
    const prompt = await greedy.run(MODEL, { prompt: question[0]!.content, max_tokens: 20 });
    expect(prompt.response).toBe(viaAi.response);
  });

  it("refuses bad input with a clear error naming the field", async () => {
    await expect(greedy.run(MODEL, { max_tokens: 4 })).rejects.toThrow("give exactly one of prompt or messages");
    await expect(greedy.run(MODEL, { prompt: "x", messages: question })).rejects.toThrow("give exactly one of prompt or messages");
    await expect(greedy.run(MODEL, { prompt: "x", top_p: 2 })).rejects.toThrow(/^top_p: /);
    await expect(greedy.run("other-model.gguf", { prompt: "x" })).rejects.toThrow("this deployment serves stories260K.gguf, not other-model.gguf");
  });
});

describe("runWithTools over LocalAi", () => {
  beforeAll(seedModel);

  const weather = (calls: string[]) => ({
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object" as const, properties: { city: { type: "string" as const, description: "city name" } }, required: ["city"] },
    function: async ({ city }: { city: string }) => {
      calls.push(city);
      return "sunny";
    },
  });

  it("without tools: returns the model's answer", async () => {
    const direct = await greedy.run(MODEL, { messages: question });
    const out = await runWithTools(greedy.asWorkersAi(), MODEL as never, { messages: [...question], tools: [] });
    expect(out.response).toBe(direct.response);
    expect(out.response!.length).toBeGreaterThan(0);
    expect(out.tool_calls).toBeUndefined();
  });

  it('toolChoice "auto" (default): the model chooses; greedy stories260K answers in text, so no tool runs', async () => {
    const calls: string[] = [];
    const out = await runWithTools(greedy.asWorkersAi(), MODEL as never, { messages: [...question], tools: [weather(calls)] });
    expect(calls).toEqual([]);
    // runWithTools' final call (no tools) answers the question as it stands.
    expect(out.response).toBe((await greedy.run(MODEL, { messages: question })).response);
    const direct = await greedy.run(MODEL, { messages: question, tools: [weather([])] });
    expect(direct.tool_calls).toBeUndefined();
    expect(direct.response!.length).toBeGreaterThan(0);
  });

  it('toolChoice "required": the reply is a call, returned as Workers AI does ({name, arguments} with an object)', async () => {
    const forced = new LocalAi(env, { toolChoice: "required", defaults: { temperature: 1, seed: 4, max_tokens: 100 } });
    const out = await forced.run(MODEL, { messages: question, tools: [weather([])] });
    expect(out.response).toBeUndefined();
    expect(out.tool_calls).toHaveLength(1);
    expect(out.tool_calls![0]!.name).toBe("get_weather");
    expect(Object.keys(out.tool_calls![0]!.arguments)).toEqual(["city"]);
    expect(typeof out.tool_calls![0]!.arguments.city).toBe("string");
    // Workers AI's flat tool shape ({name, description, parameters}) is the same tool.
    const { function: _fn, ...flat } = weather([]);
    const again = await forced.run(MODEL, { messages: question, tools: [flat] });
    expect(again.tool_calls).toEqual(out.tool_calls);
    // Streaming: the call comes whole in the last frame.
    const frames = parseSse(await new Response(await forced.run(MODEL, { messages: question, tools: [flat], stream: true })).text());
    expect(frames.at(-1)!.data).toBe("[DONE]");
    expect(JSON.parse(frames.at(-2)!.data)).toMatchObject({ tool_calls: out.tool_calls, usage: { completion_tokens: expect.any(Number) } });
  });

  it('toolChoice "required-first": runWithTools calls the tool, sends its result back through the template, and answers', async () => {
    const ai = new LocalAi(env, { toolChoice: "required-first", defaults: { temperature: 1, seed: 4, max_tokens: 100 } });
    const calls: string[] = [];
    const out = await runWithTools(ai.asWorkersAi(), MODEL as never, { messages: [...question], tools: [weather(calls)] });
    expect(calls).toHaveLength(1);
    expect(typeof calls[0]).toBe("string");
    expect(out.tool_calls).toBeUndefined();
    // The final answer is the model's reply to the conversation runWithTools built: the call, then the tool's result.
    const after = [
      ...question,
      { role: "assistant" as const, content: JSON.stringify({ name: "get_weather", arguments: { city: calls[0] } }) },
      { role: "tool" as const, content: JSON.stringify("sunny"), name: "get_weather" },
    ];
    expect(out.response).toBe((await ai.run(MODEL, { messages: after })).response);
    expect(out.response).not.toBe((await ai.run(MODEL, { messages: question })).response);
  });

  it("refuses bad tools naming the field", async () => {
    await expect(greedy.run(MODEL, { messages: question, tools: [{ name: "f", parameters: { type: "string" } }] })).rejects.toThrow(/^tools\.0\.function\.parameters: /);
    await expect(greedy.run(MODEL, { messages: question, tools: [{ name: "bad name" }] })).rejects.toThrow(/^tools\.0\.function\.name: /);
    await expect(greedy.run(MODEL, { messages: question, functions: [{ name: "f" }] })).rejects.toThrow("functions is not supported (use tools)");
    await expect(greedy.run(MODEL, { prompt: "x", raw: true, tools: [{ name: "f" }] })).rejects.toThrow("tools are rendered through the chat template, which raw: true skips");
  });
});
