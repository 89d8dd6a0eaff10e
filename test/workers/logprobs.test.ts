// logprobs / top_logprobs: real log-probabilities of the model (checked against the engine), in OpenAI's completions and chat shapes, streamed or not.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { call, createSession, json, parseSse, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

const logSumExp = (xs: number[]) => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};

function expectSortedDescending(xs: number[]) {
  for (let i = 1; i < xs.length; i++) expect(xs[i]!).toBeLessThanOrEqual(xs[i - 1]!);
}

/** The log-softmax of the model's logits after the prompt, computed by the engine directly (reference backend). */
function promptLogSoftmax(prompt: string): Float64Array {
  const model = LlamaModel.load(new Uint8Array(env.TEST_MODEL_STORIES260K), createBackend("ref"));
  const ctx = new LlamaContext(model, { nCtx: 64 });
  ctx.append(model.tokenizer.encode(prompt));
  const logits = Array.from(ctx.nextLogits());
  const lse = logSumExp(logits);
  return Float64Array.from(logits, (l) => l - lse);
}

/** The SSE chunks of a streamed OpenAI response (without the final [DONE]). */
async function chunks(res: Response): Promise<any[]> {
  const frames = parseSse(await res.text());
  expect(frames.at(-1)!.data).toBe("[DONE]");
  return frames.slice(0, -1).map((f) => JSON.parse(f.data));
}

describe("logprobs", () => {
  it("native API: the first token's log-probabilities equal the engine's log-softmax of the logits, ids included", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    const g = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: run.prompt, max_tokens: 6, logprobs: 5 }));
    expect(g.logprobs).toHaveLength(6);
    const expected = promptLogSoftmax(run.prompt);
    const first = g.logprobs[0];
    expect(first.id).toBe(run.generatedTokens[0]);
    const want = Array.from(expected.keys()).sort((a, b) => expected[b]! - expected[a]!).slice(0, 5);
    expect(first.top_logprobs.map((t: any) => t.id)).toEqual(want);
    for (const t of first.top_logprobs) expect(t.logprob).toBeCloseTo(expected[t.id]!, 3);
    expect(first.logprob).toBeCloseTo(expected[first.id]!, 3);
    expect(g.logprobs.map((e: any) => e.id)).toEqual(g.tokens);
  });

  it("completions (greedy): legacy shape, sorted alternatives, the chosen token is the most likely, logsumexp <= 0", async () => {
    const run = referenceRun();
    const body = await json(await call("POST", "/v1/completions", { prompt: run.prompt, max_tokens: 20, temperature: 0, logprobs: 4 }));
    const choice = body.choices[0];
    const lp = choice.logprobs;
    expect(Object.keys(lp).sort()).toEqual(["text_offset", "token_logprobs", "tokens", "top_logprobs"]);
    expect(lp.tokens).toHaveLength(body.usage.completion_tokens);
    expect(lp.tokens.join("")).toBe(choice.text);
    for (let i = 0; i < lp.tokens.length; i++) {
      const top = Object.values(lp.top_logprobs[i]) as number[];
      expect(top.length).toBeGreaterThan(0);
      expect(top.length).toBeLessThanOrEqual(4);
      expectSortedDescending(top);
      expect(logSumExp(top)).toBeLessThanOrEqual(1e-6);
      expect(lp.token_logprobs[i]).toBeLessThan(0);
      // Greedy picks the most likely token: its log-probability is the maximum.
      expect(lp.token_logprobs[i]).toBe(Math.max(...top));
      expect(lp.top_logprobs[i][lp.tokens[i]]).toBe(lp.token_logprobs[i]);
    }
    expect(lp.text_offset[0]).toBe(0);
    for (let i = 1; i < lp.tokens.length; i++) expect(lp.text_offset[i]).toBe(lp.text_offset[i - 1] + lp.tokens[i - 1].length);
  });

  it("chat: content entries with bytes and top_logprobs; logprobs without top_logprobs gives none; off gives null", async () => {
    const messages = [{ role: "user", content: "Tell me a story." }];
    const body = await json(await call("POST", "/v1/chat/completions", { messages, max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 3 }));
    const content = body.choices[0].logprobs.content;
    expect(content).toHaveLength(body.usage.completion_tokens);
    expect(content.map((e: any) => e.token).join("")).toBe(body.choices[0].message.content);
    for (const e of content) {
      expect(new TextDecoder().decode(new Uint8Array(e.bytes))).toBe(e.token);
      expect(e.top_logprobs).toHaveLength(3);
      expectSortedDescending(e.top_logprobs.map((t: any) => t.logprob));
      expect(e.logprob).toBe(e.top_logprobs[0].logprob);
      expect(e.token).toBe(e.top_logprobs[0].token);
      expect(logSumExp(e.top_logprobs.map((t: any) => t.logprob))).toBeLessThanOrEqual(1e-6);
    }
    const bare = await json(await call("POST", "/v1/chat/completions", { messages, max_tokens: 12, temperature: 0, logprobs: true }));
    expect(bare.choices[0].logprobs.content.map((e: any) => [e.token, e.logprob, e.top_logprobs])).toEqual(content.map((e: any) => [e.token, e.logprob, []]));
    const off = await json(await call("POST", "/v1/chat/completions", { messages, max_tokens: 12, temperature: 0 }));
    expect(off.choices[0].logprobs).toBeNull();
    expect(off.choices[0].message.content).toBe(body.choices[0].message.content);
  });

  it("streamed logprobs equal the non-streamed ones (completions and chat)", async () => {
    const req = { prompt: referenceRun().prompt, max_tokens: 15, temperature: 0, logprobs: 2 };
    const whole = (await json(await call("POST", "/v1/completions", req))).choices[0].logprobs;
    const streamed = (await chunks(await call("POST", "/v1/completions", { ...req, stream: true }))).filter((c) => c.choices[0].logprobs);
    expect({
      tokens: streamed.flatMap((c) => c.choices[0].logprobs.tokens),
      token_logprobs: streamed.flatMap((c) => c.choices[0].logprobs.token_logprobs),
      top_logprobs: streamed.flatMap((c) => c.choices[0].logprobs.top_logprobs),
      text_offset: streamed.flatMap((c) => c.choices[0].logprobs.text_offset),
    }).toEqual(whole);

    const chat = { messages: [{ role: "user", content: "Hello" }], max_tokens: 10, temperature: 0, logprobs: true, top_logprobs: 2 };
    const chatWhole = (await json(await call("POST", "/v1/chat/completions", chat))).choices[0].logprobs.content;
    const chatStreamed = (await chunks(await call("POST", "/v1/chat/completions", { ...chat, stream: true }))).flatMap((c) => c.choices[0].logprobs?.content ?? []);
    expect(chatStreamed).toEqual(chatWhole);
  });

  it("sampled: asking for logprobs does not change the tokens, and each chosen token's logprob is in its distribution", async () => {
    const req = { prompt: "Once upon a time", max_tokens: 24, temperature: 0.9, top_k: 40, seed: 7 };
    const plain = await json(await call("POST", "/v1/completions", req));
    const withLp = await json(await call("POST", "/v1/completions", { ...req, logprobs: 20 }));
    expect(withLp.choices[0].text).toBe(plain.choices[0].text);
    const lp = withLp.choices[0].logprobs;
    for (let i = 0; i < lp.tokens.length; i++) {
      const top = Object.values(lp.top_logprobs[i]) as number[];
      expect(lp.token_logprobs[i]).toBeLessThanOrEqual(top[0]!);
      expect(logSumExp(top)).toBeLessThanOrEqual(1e-6);
      if (lp.tokens[i] in lp.top_logprobs[i]) expect(lp.top_logprobs[i][lp.tokens[i]]).toBe(lp.token_logprobs[i]);
    }
  });
});
