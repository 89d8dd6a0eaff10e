// The official `openai` npm client against `wrangler dev`: completions and chat, streamed or not, bearer auth, and a session that survives a restart.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { openAiDevSuite } from "../helpers/openai-dev";

const KEY = "sk-edge-llama-e2e";
const MODEL = "stories260K.gguf";
const STORY = [{ role: "user" as const, content: "Tell me a story." }];
const SAMPLING = { temperature: 0.8, top_k: 40, seed: 42 };

describe("openai client against wrangler dev", () => {
  const server = openAiDevSuite(KEY);

  /** The native session API, with the key. */
  async function native(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${server.dev.url}${path}`, { method, headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  }

  it("completions, streamed and not, agree (greedy)", async () => {
    const whole = await server.client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 20, temperature: 0 });
    expect(whole.choices[0]!.finish_reason).toBe("length");
    expect(whole.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 20 });
    let streamed = "";
    for await (const chunk of await server.client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 20, temperature: 0, stream: true })) {
      streamed += chunk.choices[0]?.text ?? "";
    }
    expect(streamed).toBe(whole.choices[0]!.text);
    expect(streamed.length).toBeGreaterThan(20);
  });

  it("chat completions, streamed and not, agree; logprobs come through the client's types", async () => {
    const whole = await server.client.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: 16, temperature: 0, logprobs: true, top_logprobs: 2 });
    const message = whole.choices[0]!.message;
    expect(message.role).toBe("assistant");
    const content = whole.choices[0]!.logprobs!.content!;
    expect(content.map((c) => c.token).join("")).toBe(message.content);
    expect(content.every((c) => c.top_logprobs.length === 2 && c.logprob <= 0)).toBe(true);
    let streamed = "";
    for await (const chunk of await server.client.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: 16, temperature: 0, stream: true })) {
      streamed += chunk.choices[0]?.delta.content ?? "";
    }
    expect(streamed).toBe(message.content);
  });

  it("the client's stream helper accumulates the chunks (role first, include_usage's last chunk) into the non-streamed answer", async () => {
    const whole = await server.client.chat.completions.create({ model: MODEL, messages: STORY, max_completion_tokens: 12, temperature: 0 });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    const stream = server.client.chat.completions.stream({ model: MODEL, messages: STORY, max_completion_tokens: 12, temperature: 0, stream_options: { include_usage: true } });
    stream.on("chunk", (c) => chunks.push(c));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe(whole.choices[0]!.message.content);
    expect(final.usage).toEqual(whole.usage);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(chunks.slice(1).every((c) => c.choices[0]?.delta.role === undefined)).toBe(true);
    expect(chunks.at(-1)!.choices).toEqual([]);
  });

  it("n, best_of, logit_bias, echo and models.retrieve through the client; refusals are its BadRequestError naming the field", async () => {
    const three = await server.client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 8, temperature: 1, seed: 5, n: 3 });
    expect(three.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    const best = await server.client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 8, temperature: 1, seed: 5, best_of: 3 });
    expect(best.choices).toHaveLength(1);
    const echoed = await server.client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 4, temperature: 0, echo: true, logit_bias: { "432": -100 } });
    expect(echoed.choices[0]!.text.startsWith("Once upon a time")).toBe(true);
    const two = await server.client.chat.completions.create({ model: MODEL, messages: [{ role: "developer", content: "Be brief." }, ...STORY], max_tokens: 4, temperature: 1, n: 2 });
    expect(two.choices).toHaveLength(2);
    expect((await server.client.models.retrieve(MODEL)).id).toBe(MODEL);
    expect(await server.client.models.retrieve("gpt-4o").catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    // response_format is honoured (test/e2e/openai-structured.test.ts); a schema keyword it cannot enforce is refused, named.
    const unsupported = { type: "json_schema" as const, json_schema: { name: "x", schema: { type: "number", multipleOf: 2 } } };
    const err = await server.client.chat.completions.create({ model: MODEL, messages: STORY, response_format: unsupported }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("response_format.json_schema.schema.multipleOf");
  });

  it("a wrong key is refused with the client's AuthenticationError", async () => {
    const wrong = new OpenAI({ apiKey: "sk-wrong", baseURL: `${server.dev.url}/v1`, maxRetries: 0 });
    const err = await wrong.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe("invalid_api_key");
    expect((await fetch(`${server.dev.url}/health`)).status).toBe(200);
  });

  it("a seeded session continues across a restart of the dev server exactly like an uninterrupted run", async () => {
    const split = await native("POST", "/v1/sessions", SAMPLING);
    const whole = await native("POST", "/v1/sessions", SAMPLING);

    // Before the restart: a streamed chat turn in the session named by the x-session-id header.
    let before = "";
    const stream = await server.client.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: 10, stream: true }, { headers: { "x-session-id": split.id } });
    for await (const chunk of stream) before += chunk.choices[0]?.delta.content ?? "";
    const stored = await native("GET", `/v1/sessions/${split.id}`);

    await server.dev.restart();

    // After it: the same session (named by the session_id body field this time) decodes 12 more tokens.
    const body = { model: MODEL, prompt: "", max_tokens: 12, session_id: split.id };
    const after = await server.client.completions.create(body);
    expect(after.usage).toMatchObject({ prompt_tokens: 0, completion_tokens: 12 });

    const one = await server.client.chat.completions.create({ model: MODEL, messages: STORY, max_tokens: 22 }, { headers: { "x-session-id": whole.id } });
    expect(one.usage!.completion_tokens).toBe(22);
    expect(before + after.choices[0]!.text).toBe(one.choices[0]!.message.content);
    const [a, b] = [await native("GET", `/v1/sessions/${split.id}`), await native("GET", `/v1/sessions/${whole.id}`)];
    expect(a.token_count).toBe(stored.token_count + 12);
    expect({ token_count: a.token_count, text: a.text, seed: a.settings.seed }).toEqual({ token_count: b.token_count, text: b.text, seed: b.settings.seed });
  });
});
