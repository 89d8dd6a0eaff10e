// Tool calling through the official `openai` client against `wrangler dev`: a forced call whose arguments validate (ajv), the tool's result sent back for the final answer, the stream helper, zodFunction + parse, and a 400 naming the field.
import Ajv from "ajv";
import OpenAI from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { zodFunction } from "openai/helpers/zod";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { openAiDevSuite } from "../helpers/openai-dev";

const KEY = "sk-edge-llama-e2e-tools";
const MODEL = "stories260K.gguf";
const ASK: ChatCompletionMessageParam[] = [{ role: "user", content: "What is the weather in Paris?" }];
const PARAMETERS = { type: "object", properties: { city: { type: "string", maxLength: 12 }, days: { type: "integer", minimum: 1, maximum: 7 } }, required: ["city", "days"], additionalProperties: false };
const WEATHER: ChatCompletionTool = { type: "function", function: { name: "get_weather", description: "Weather", parameters: PARAMETERS } };
const validArguments = new Ajv({ strict: false }).compile(PARAMETERS);

describe("tool calls with the openai client against wrangler dev", () => {
  const server = openAiDevSuite(KEY);

  it.each([1, 2, 3])("tool_choice required, seed %i: parseable tool_calls valid against the schema; the tool result then completes", async (seed) => {
    const first = await server.client.chat.completions.create({ model: MODEL, messages: ASK, tools: [WEATHER], tool_choice: "required", max_tokens: 180, temperature: 1, seed });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe("function");
    if (call.type !== "function") return;
    expect(call.function.name).toBe("get_weather");
    const args = JSON.parse(call.function.arguments) as unknown;
    expect(validArguments(args), JSON.stringify(validArguments.errors)).toBe(true);

    const messages: ChatCompletionMessageParam[] = [...ASK, choice.message, { role: "tool", tool_call_id: call.id, content: JSON.stringify({ sky: "sunny", celsius: 21 }) }];
    const second = await server.client.chat.completions.create({ model: MODEL, messages, tools: [WEATHER], max_tokens: 30, temperature: 0 });
    expect(["stop", "length"]).toContain(second.choices[0]!.finish_reason);
    expect(second.choices[0]!.message.tool_calls).toBeUndefined();
    expect(second.choices[0]!.message.content!.length).toBeGreaterThan(0);
    // The tool's result is in the prompt: more prompt tokens than the first request's.
    expect(second.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens);
  });

  it("the stream helper assembles the same call from tool_calls deltas", async () => {
    const body = { model: MODEL, messages: ASK, tools: [WEATHER], tool_choice: { type: "function" as const, function: { name: "get_weather" } }, max_tokens: 100, temperature: 1, seed: 5 };
    const whole = await server.client.chat.completions.create({ ...body, stream: false });
    const final = await server.client.chat.completions.stream(body).finalChatCompletion();
    const a = whole.choices[0]!.message.tool_calls![0]!;
    const b = final.choices[0]!.message.tool_calls![0]!;
    expect(b.type === "function" && b.function).toEqual(a.type === "function" && a.function);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
  });

  it("zodFunction + chat.completions.parse: parsed_arguments match the zod schema", async () => {
    const Weather = z.object({ city: z.string().max(12), days: z.number().int().min(1).max(7) });
    const completion = await server.client.chat.completions.parse({
      model: MODEL,
      messages: ASK,
      tools: [zodFunction({ name: "get_weather", parameters: Weather })],
      tool_choice: "required",
      max_tokens: 100,
      temperature: 1,
      seed: 7,
    });
    const call = completion.choices[0]!.message.tool_calls?.[0];
    expect(call?.type).toBe("function");
    if (call?.type !== "function") return;
    expect(call.function.name).toBe("get_weather");
    expect(Weather.parse(call.function.parsed_arguments)).toEqual(call.function.parsed_arguments);
  });

  it("a tool_choice naming no tool is a 400 naming the field", async () => {
    const err = await server.client.chat.completions.create({ model: MODEL, messages: ASK, tools: [WEATHER], tool_choice: { type: "function", function: { name: "nope" } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("tool_choice.function.name");
  });
});
