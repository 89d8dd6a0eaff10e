// POST /v1/ai/run/{model} against `wrangler dev`: @cloudflare/ai-utils' runWithTools over an `Ai` object that fetches the route (a tool really runs and its result goes back), raw run equal to /v1/completions, and a 400 envelope.
import { runWithTools } from "@cloudflare/ai-utils";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { openAiDevSuite } from "../helpers/openai-dev";

const KEY = "sk-edge-llama-e2e-ai-run";
const MODEL = "@cf/meta/llama-3.1-8b-instruct";
const PARAMETERS = { type: "object", properties: { city: { type: "string", maxLength: 12 }, days: { type: "integer", minimum: 1, maximum: 7 } }, required: ["city", "days"], additionalProperties: false } as const;
const validArguments = new Ajv({ strict: false }).compile(PARAMETERS);

interface Envelope {
  result: { response?: string; tool_calls?: { name: string; arguments: Record<string, unknown> }[] } | null;
  success: boolean;
  errors: { code: string; message: string; param: string | null }[];
  messages: unknown[];
}

describe("the Workers AI REST route with runWithTools against wrangler dev", () => {
  const server = openAiDevSuite(KEY);

  /** POSTs to /v1/ai/run/{model} with the key; answers the status and the envelope. */
  async function post(model: string, body: unknown): Promise<{ status: number; body: Envelope }> {
    const res = await fetch(`${server.dev.url}/v1/ai/run/${model}`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Envelope };
  }

  it.each([4, 9])('tool_choice "required-first", seed %i: the tool runs with schema-valid arguments, its result goes back, the answer is text', async (seed) => {
    const sent: Record<string, unknown>[] = [];
    // runWithTools passes only messages, tools and stream: the extension field (and a seed) are added here.
    const ai = {
      run: async (model: string, inputs: Record<string, unknown>) => {
        const body = { ...inputs, tool_choice: "required-first", seed };
        sent.push(JSON.parse(JSON.stringify(body)) as Record<string, unknown>);
        const { status, body: envelope } = await post(model, body);
        expect(status, JSON.stringify(envelope)).toBe(200);
        expect(envelope.success).toBe(true);
        return envelope.result;
      },
    };
    const calls: unknown[] = [];
    const tool = {
      name: "get_weather",
      description: "The weather in a city for some days",
      parameters: PARAMETERS as never,
      function: async (args: unknown) => {
        calls.push(args);
        return "sunny, 21 °C";
      },
    };
    const out = (await runWithTools(ai as never, MODEL as never, { messages: [{ role: "user", content: "What is the weather in Paris?" }], tools: [tool] })) as { response?: string; tool_calls?: unknown };

    expect(calls).toHaveLength(1);
    expect(validArguments(calls[0]), JSON.stringify(validArguments.errors)).toBe(true);
    expect(typeof out.response).toBe("string");
    expect(out.response!.length).toBeGreaterThan(0);
    expect(out.tool_calls).toBeUndefined();
    // First request: the tools; last: the call and the tool's result in the messages.
    expect(sent.length).toBe(2);
    expect((sent[0]!.tools as unknown[]).length).toBe(1);
    const last = sent.at(-1)!.messages as { role: string; content: string }[];
    expect(last.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
    expect(JSON.parse(last[1]!.content)).toEqual({ name: "get_weather", arguments: calls[0] });
    expect(JSON.parse(last[2]!.content)).toBe("sunny, 21 °C");
  });

  it("a raw run equals /v1/completions' text for the same greedy request", async () => {
    const prompt = "Once upon a time";
    const { status, body } = await post(MODEL, { prompt, raw: true, max_tokens: 24, temperature: 0 });
    expect(status).toBe(200);
    const completion = await server.client.completions.create({ model: "stories260K.gguf", prompt, max_tokens: 24, temperature: 0 });
    expect(body.result!.response!.length).toBeGreaterThan(0);
    expect(body.result!.response).toBe(completion.choices[0]!.text);
  });

  it("a bad field is a 400 envelope naming it; a missing key is a 401", async () => {
    const { status, body } = await post(MODEL, { prompt: "x", tool_choice: "always" });
    expect(status).toBe(400);
    expect(body).toMatchObject({ result: null, success: false, messages: [] });
    expect(body.errors[0]).toMatchObject({ code: "invalid_value", param: "tool_choice" });
    expect(body.errors[0]!.message).toContain("tool_choice");
    const anon = await fetch(`${server.dev.url}/v1/ai/run/${MODEL}`, { method: "POST", body: JSON.stringify({ prompt: "x" }) });
    expect(anon.status).toBe(401);
  });
});
