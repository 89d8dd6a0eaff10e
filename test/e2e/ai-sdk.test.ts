// Structured output through the Vercel AI SDK (@ai-sdk/openai-compatible, json_schema mode) against `wrangler dev`: generateObject, generateText with Output.object, streamText and streamObject.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { APICallError, generateObject, generateText, Output, streamObject, streamText } from "ai";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { openAiDevSuite } from "../helpers/openai-dev";

const KEY = "sk-edge-llama-ai-sdk";
const MODEL = "stories260K.gguf";
const PROMPT = "Describe a pet and its owner.";

// Nested: an enum, bounded integers, a nested object and a bounded array of enums (bounded strings keep the tiny
// model's replies short; the grammar closes the string at the bound).
const Pet = z.object({
  name: z.string().max(12),
  kind: z.enum(["cat", "dog", "bird"]),
  age: z.number().int().min(0).max(30),
  owner: z.object({ name: z.string().max(12), happy: z.boolean() }),
  tags: z.array(z.enum(["small", "big", "loud", "calm"])).max(3),
});

describe("structured output with the Vercel AI SDK against wrangler dev", () => {
  const server = openAiDevSuite(KEY);
  // Every request body the SDK sends, to check which structured-output mode it used.
  const bodies: Record<string, unknown>[] = [];
  const model = (supportsStructuredOutputs = true) => {
    const provider = createOpenAICompatible({
      name: "edge-llama",
      baseURL: `${server.dev.url}/v1`,
      apiKey: KEY,
      supportsStructuredOutputs,
      includeUsage: true,
      fetch: async (input, init) => {
        if (typeof init?.body === "string") bodies.push(JSON.parse(init.body) as Record<string, unknown>);
        return fetch(input, init);
      },
    });
    return provider.chatModel(MODEL);
  };
  const lastBody = () => bodies.at(-1)!;

  /** The SDK sent the schema as OpenAI's strict json_schema response_format (the mode the server compiles to a grammar). */
  function expectJsonSchemaMode(name: string) {
    const rf = lastBody().response_format as { type: string; json_schema: { name: string; strict: boolean; schema: { properties: Record<string, unknown> } } };
    expect(rf.type).toBe("json_schema");
    expect(rf.json_schema.name).toBe(name);
    expect(rf.json_schema.strict).toBe(true);
    expect(Object.keys(rf.json_schema.schema.properties).sort()).toEqual(["age", "kind", "name", "owner", "tags"]);
  }

  it.each([1, 2, 3])("generateObject, seed %i: the object validates against the nested schema", async (seed) => {
    const result = await generateObject({ model: model(), schema: Pet, schemaName: "pet", prompt: PROMPT, maxOutputTokens: 200, temperature: 1, seed, maxRetries: 0 });
    expect(result.warnings ?? []).toEqual([]);
    expect(result.finishReason).toBe("stop");
    expect(Pet.parse(result.object)).toEqual(result.object);
    expectJsonSchemaMode("pet");
    expect(lastBody().seed).toBe(seed);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
  });

  it.each([4, 5])("generateText with output: Output.object, seed %i: result.output validates and is the reply's JSON", async (seed) => {
    const result = await generateText({ model: model(), output: Output.object({ schema: Pet, name: "pet" }), prompt: PROMPT, maxOutputTokens: 200, temperature: 1, seed, maxRetries: 0 });
    expect(result.warnings ?? []).toEqual([]);
    expect(result.finishReason).toBe("stop");
    expect(Pet.parse(result.output)).toEqual(result.output);
    expect(JSON.parse(result.text)).toEqual(result.output);
    expectJsonSchemaMode("pet");
  });

  it("streamText with Output.object: the partial objects grow to the final one, which equals the non-streamed reply", async () => {
    const args = { model: model(), output: Output.object({ schema: Pet, name: "pet" }), prompt: PROMPT, maxOutputTokens: 200, temperature: 0, seed: 6, maxRetries: 0 };
    const whole = await generateText(args);
    const stream = streamText(args);
    const partials: unknown[] = [];
    for await (const partial of stream.partialOutputStream) partials.push(partial);
    const final = await stream.output;
    expect(lastBody().stream).toBe(true);
    expectJsonSchemaMode("pet");
    expect(Pet.parse(final)).toEqual(final);
    expect(final).toEqual(whole.output);
    // More than one partial: the reply arrived as a stream, not as one chunk.
    expect(partials.length).toBeGreaterThan(1);
    expect(partials.at(-1)).toEqual(final);
    // includeUsage sends stream_options.include_usage: the streamed reply's token count equals the non-streamed one's.
    expect(lastBody().stream_options).toEqual({ include_usage: true });
    expect((await stream.usage).outputTokens).toBe(whole.usage.outputTokens);
  });

  it("streamObject: the final object validates against the nested schema", async () => {
    const stream = streamObject({ model: model(), schema: Pet, schemaName: "pet", prompt: PROMPT, maxOutputTokens: 200, temperature: 1, seed: 7, maxRetries: 0 });
    let partials = 0;
    for await (const _ of stream.partialObjectStream) partials++;
    const final = await stream.object;
    expect(partials).toBeGreaterThan(1);
    expect(Pet.parse(final)).toEqual(final);
    expectJsonSchemaMode("pet");
  });

  it("without supportsStructuredOutputs the SDK sends only json_object: the schema never reaches the server", async () => {
    const before = bodies.length;
    // The reply is some JSON object (any is valid in this mode), so the SDK's own validation may throw; only the request matters here.
    await generateText({ model: model(false), output: Output.object({ schema: Pet }), prompt: PROMPT, maxOutputTokens: 20, seed: 8, maxRetries: 0 }).catch(() => undefined);
    expect(bodies.length).toBe(before + 1);
    expect(lastBody().response_format).toEqual({ type: "json_object" });
  });

  it("a schema feature the grammar compiler does not support is an APICallError with the server's 400 naming it", async () => {
    const Contact = z.object({ email: z.email() });
    const err = await generateObject({ model: model(), schema: Contact, prompt: PROMPT, maxRetries: 0 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(err)).toBe(true);
    const call = err as APICallError;
    expect(call.statusCode).toBe(400);
    const body = JSON.parse(call.responseBody!) as { error: { code: string; param: string } };
    expect(body.error.code).toBe("invalid_grammar");
    expect(body.error.param).toMatch(/^response_format\.json_schema\.schema\.properties\.email/);
  });
});
