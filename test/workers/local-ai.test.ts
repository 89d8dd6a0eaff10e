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

  it("with a tool the model cannot call: the plain answer, and the tool never runs (documented default)", async () => {
    const calls: string[] = [];
    const direct = await greedy.run(MODEL, { messages: question });
    const out = await runWithTools(greedy.asWorkersAi(), MODEL as never, { messages: [...question], tools: [weather(calls)] });
    expect(calls).toEqual([]);
    expect(out.response).toBe(direct.response);
  });

  it('with tools: "error", the call fails with a message saying the model cannot call tools', async () => {
    const strict = new LocalAi(env, { tools: "error", defaults: { temperature: 0 } });
    const calls: string[] = [];
    await expect(runWithTools(strict.asWorkersAi(), MODEL as never, { messages: [...question], tools: [weather(calls)] })).rejects.toThrow(
      "stories260K.gguf cannot call tools: it answers in plain text only",
    );
    expect(calls).toEqual([]);
  });
});
