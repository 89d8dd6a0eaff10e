// Structured output through the official `openai` client against `wrangler dev`: chat.completions.parse with a zod schema (zodResponseFormat), streamed too, and the 400 for an unsupported schema.
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { openAiDevSuite } from "../helpers/openai-dev";

const KEY = "sk-edge-llama-e2e";
const MODEL = "stories260K.gguf";
const ASK = [{ role: "user" as const, content: "Describe a person." }];
const Person = z.object({
  name: z.string().max(12),
  age: z.number().int().min(0).max(120),
  tags: z.array(z.enum(["cat", "dog", "happy", "sad"])).max(3),
});

describe("structured output with the openai client against wrangler dev", () => {
  const server = openAiDevSuite(KEY);

  it.each([1, 2, 3])("chat.completions.parse with zodResponseFormat, seed %i: message.parsed is a valid Person", async (seed) => {
    const completion = await server.client.chat.completions.parse({ model: MODEL, messages: ASK, max_tokens: 200, temperature: 1, seed, response_format: zodResponseFormat(Person, "person") });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("stop");
    expect(choice.message.parsed).not.toBeNull();
    expect(Person.parse(choice.message.parsed)).toEqual(choice.message.parsed);
    expect(JSON.parse(choice.message.content!)).toEqual(choice.message.parsed);
  });

  it("the stream helper's final completion parses to the same object", async () => {
    const body = { model: MODEL, messages: ASK, max_tokens: 200, temperature: 1, seed: 4, response_format: zodResponseFormat(Person, "person") };
    const whole = await server.client.chat.completions.parse(body);
    const final = await server.client.chat.completions.stream(body).finalChatCompletion();
    expect(final.choices[0]!.message.parsed).toEqual(whole.choices[0]!.message.parsed);
  });

  it("a schema feature the compiler does not support is a 400 naming it", async () => {
    const Email = z.object({ email: z.email() });
    const err = await server.client.chat.completions.parse({ model: MODEL, messages: ASK, response_format: zodResponseFormat(Email, "contact") }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.code).toBe("invalid_grammar");
    expect(err.param).toMatch(/^response_format\.json_schema\.schema\.properties\.email/);
  });
});
