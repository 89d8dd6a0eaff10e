// POST /v1/ai/run/{model}: the Workers AI REST envelope over LocalAi: results, errors, model names, streaming, the API key.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { LocalAi } from "../../src/ai/local-ai";
import { aiRunError, aiRunResponse } from "../../src/api/ai-rest";
import { app } from "../../src/index";
import { BASE, call, json, parseSse, referenceRun, seedModel } from "./helpers";

const MODEL = "@cf/meta/llama-3.1-8b-instruct";
const question = [{ role: "user" as const, content: "Where did Lily go?" }];
const weather = { name: "get_weather", description: "The weather in a city", parameters: { type: "object", properties: { city: { type: "string", description: "city name" } }, required: ["city"] } };

describe("POST /v1/ai/run/{model}", () => {
  beforeAll(seedModel);

  it("answers LocalAi's output in the {result, success, errors, messages} envelope, for slashed model names and the served .gguf", async () => {
    const ref = referenceRun();
    const inputs = { prompt: ref.prompt, raw: true, max_tokens: ref.generatedTokens.length, temperature: 0 };
    const body = await json(await call("POST", `/v1/ai/run/${MODEL}`, inputs));
    expect(aiRunResponse.parse(body)).toEqual(body);
    expect(body.success).toBe(true);
    expect(body.errors).toEqual([]);
    expect(body.messages).toEqual([]);
    expect(body.result.response).toBe(ref.generatedText);
    expect(body.result).toEqual(await new LocalAi(env).run(MODEL, inputs));
    const gguf = await json(await call("POST", `/v1/ai/run/${env.MODEL_NAME}`, inputs));
    expect(gguf.result).toEqual(body.result);
  });

  it("errors: the envelope with success false, the product's status, code and the field named", async () => {
    const cases: [string, unknown, number, string, string | null][] = [
      [MODEL, { prompt: "x", tool_choice: "always" }, 400, "invalid_value", "tool_choice"],
      [MODEL, { prompt: "x", top_p: 2 }, 400, "invalid_value", "top_p"],
      [MODEL, { max_tokens: 4 }, 400, "invalid_value", null],
      ["other-model.gguf", { prompt: "x" }, 400, "model_not_found", "model"],
      [MODEL, "{not json", 400, "invalid_json", null],
      [MODEL, [1, 2], 400, "invalid_value", null],
    ];
    for (const [model, input, status, code, param] of cases) {
      const res = await call("POST", `/v1/ai/run/${model}`, input);
      const body = await json(res, status);
      expect(aiRunError.parse(body)).toEqual(body);
      expect(body).toMatchObject({ result: null, success: false, messages: [] });
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]).toMatchObject({ code, param });
      if (param) expect(body.errors[0].message).toContain(param);
    }
  });

  it('tool_choice "required" (edge-llama\'s extension) makes the reply a call; the default "auto" does not for greedy stories260K', async () => {
    const forced = await json(await call("POST", `/v1/ai/run/${MODEL}`, { messages: question, tools: [weather], tool_choice: "required", temperature: 1, seed: 4, max_tokens: 100 }));
    expect(forced.result.tool_calls, JSON.stringify(forced)).toHaveLength(1);
    expect(forced.result.tool_calls[0].name).toBe("get_weather");
    expect(typeof forced.result.tool_calls[0].arguments.city).toBe("string");
    const direct = await new LocalAi(env, { toolChoice: "required" }).run(MODEL, { messages: question, tools: [weather], temperature: 1, seed: 4, max_tokens: 100 });
    expect(forced.result).toEqual(direct);
    const auto = await json(await call("POST", `/v1/ai/run/${MODEL}`, { messages: question, tools: [weather], temperature: 0, max_tokens: 20 }));
    expect(auto.result.tool_calls).toBeUndefined();
    expect(auto.result.response.length).toBeGreaterThan(0);
  });

  it("stream: true answers LocalAi's SSE stream as text/event-stream", async () => {
    const inputs = { prompt: referenceRun().prompt, raw: true, max_tokens: 12, temperature: 0 };
    const res = await call("POST", `/v1/ai/run/${MODEL}`, { ...inputs, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const frames = parseSse(await res.text());
    expect(frames.at(-1)!.data).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data) as { response: string; usage?: { completion_tokens: number } });
    const whole = await json(await call("POST", `/v1/ai/run/${MODEL}`, inputs));
    expect(chunks.map((c) => c.response).join("")).toBe(whole.result.response);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBe(12);
  });

  it("sits behind the API key when API_KEY is set", async () => {
    const KEY = "sk-ai-rest-test";
    const send = (headers: Record<string, string>) =>
      Promise.resolve(app.request(`${BASE}/v1/ai/run/${MODEL}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ prompt: "Once", raw: true, max_tokens: 2 }) }, { ...env, API_KEY: KEY }));
    const missing = await send({});
    expect(missing.status).toBe(401);
    expect(await missing.text()).not.toContain("usage");
    expect((await send({ authorization: "Bearer wrong" })).status).toBe(401);
    const ok = await send({ authorization: `Bearer ${KEY}` });
    expect(ok.status).toBe(200);
    expect((await ok.json<{ success: boolean }>()).success).toBe(true);
  });
});
