// Token-id prompts: POST /v1/completions ([ids] and [[ids]], OpenAI's forms) and the native generate API's `tokens`: llama.cpp's output, errors, context overflow (400), sessions.
import { beforeAll, describe, expect, it } from "vitest";
import { call, createSession, json, parseSse, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

const complete = (body: Record<string, unknown>, status = 200) => call("POST", "/v1/completions", { temperature: 0, ...body }).then((r) => json(r, status));
const sessionInfo = (id: string) => call("GET", `/v1/sessions/${id}`).then((r) => json(r));
const vocabSize = async (): Promise<number> => (await json(await call("GET", "/v1/model"))).config.vocab_size;

describe("token-id prompts", () => {
  it("the reference prompt's ids (BOS included, as llama.cpp gives them) complete greedily to llama.cpp's text, as the string prompt does", async () => {
    const run = referenceRun();
    const byIds = await complete({ prompt: run.promptTokens, max_tokens: 64 });
    expect(byIds.choices[0]).toMatchObject({ text: run.generatedText, finish_reason: "length" });
    expect(byIds.usage).toEqual({ prompt_tokens: run.promptTokens.length, completion_tokens: 64, total_tokens: run.promptTokens.length + 64, prompt_tokens_details: { cached_tokens: 0 } });
    const byText = await complete({ prompt: run.prompt, max_tokens: 64 });
    expect(byIds.choices[0]).toEqual(byText.choices[0]);
    expect(byIds.usage).toEqual(byText.usage);
    const nested = await complete({ prompt: [run.promptTokens], max_tokens: 64 });
    expect(nested.choices[0]).toEqual(byIds.choices[0]);
  });

  it("the generated ids are llama.cpp's: the session holds exactly the prompt ids, then the reference's tokens", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    const first = await complete({ prompt: run.promptTokens, max_tokens: 20, session_id: s.id });
    expect(first.usage.prompt_tokens).toBe(run.promptTokens.length);
    // The native API continues the same session and reports ids: the reference run goes on, nothing was added.
    const more = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { max_tokens: 10 }));
    expect(more.tokens).toEqual(run.generatedTokens.slice(20, 30));
    expect(await sessionInfo(s.id)).toMatchObject({ token_count: run.promptTokens.length + 30 });
  });

  it("no BOS is added: ids without it are taken as they are and count only themselves", async () => {
    const run = referenceRun();
    const withoutBos = run.promptTokens.slice(1);
    const body = await complete({ prompt: withoutBos, max_tokens: 16 });
    expect(body.usage.prompt_tokens).toBe(withoutBos.length);
    const s = await createSession({ temperature: 0 });
    await complete({ prompt: withoutBos, max_tokens: 0, session_id: s.id });
    expect(await sessionInfo(s.id)).toMatchObject({ token_count: withoutBos.length, text: run.prompt });
  });

  it("streams the same text, with usage counting the ids", async () => {
    const run = referenceRun();
    // Usage comes in the last chunk (choices []) when stream_options.include_usage asks for it, as OpenAI sends it.
    const frames = parseSse(await (await call("POST", "/v1/completions", { prompt: run.promptTokens, max_tokens: 30, temperature: 0, stream: true, stream_options: { include_usage: true } })).text());
    expect(frames.at(-1)!.data).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
    expect(chunks.at(-1).choices).toEqual([]);
    expect(chunks.slice(0, -1).map((c) => c.choices[0].text).join("")).toBe((await complete({ prompt: run.promptTokens, max_tokens: 30 })).choices[0].text);
    expect(chunks.at(-1).usage).toEqual({ prompt_tokens: run.promptTokens.length, completion_tokens: 30, total_tokens: run.promptTokens.length + 30, prompt_tokens_details: { cached_tokens: 0 } });
  });

  it("a token prompt in a session appends exactly those ids after what it holds", async () => {
    const run = referenceRun();
    const more = run.promptTokens.slice(1);
    // One request with everything, and the same ids split over two requests, end in the same session and completion.
    const split = await createSession({ temperature: 0 });
    const a = await complete({ prompt: run.prompt, max_tokens: 5, session_id: split.id });
    const b = await complete({ prompt: more, max_tokens: 12, session_id: split.id });
    expect(b.usage.prompt_tokens).toBe(more.length);
    const whole = await createSession({ temperature: 0 });
    const one = await complete({ prompt: [...run.promptTokens, ...run.generatedTokens.slice(0, 5), ...more], max_tokens: 12, session_id: whole.id });
    expect(a.choices[0].text).toBe(run.generatedText.slice(0, a.choices[0].text.length));
    expect(b.choices[0].text).toBe(one.choices[0].text);
    const [infoSplit, infoWhole] = [await sessionInfo(split.id), await sessionInfo(whole.id)];
    expect(infoSplit.token_count).toBe(run.promptTokens.length + 5 + more.length + 12);
    expect(infoSplit.text).toBe(infoWhole.text);
    expect(infoSplit.token_count).toBe(infoWhole.token_count);
  });
});

describe("bad token prompts", () => {
  it.each([
    [[1, 403, -1], "index 2 is -1"],
    [[[1, 2.5, 3]], "index 1 is 2.5"],
    [[1, "a"], 'index 1 is "a"'],
    [[1, 2 ** 60], `index 1 is ${2 ** 60}`],
    [[[1, 2], [3]], "one prompt per request, got 2"],
    [["a", "b"], "one prompt per request, got 2"],
    [[[]], "at least one token id"],
    [[], "empty array"],
  ])("%j is a 400 naming the problem", async (prompt, message) => {
    const err = await complete({ prompt }, 400);
    expect(err.error).toMatchObject({ type: "invalid_request_error", param: "prompt" });
    expect(err.error.message).toContain(message);
  });

  it("an id outside the vocabulary is a 400 invalid_value naming its index and the vocabulary size; the session is unchanged", async () => {
    const vocab = await vocabSize();
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    await complete({ prompt: run.prompt, max_tokens: 3, session_id: s.id });
    const before = await sessionInfo(s.id);
    const err = await complete({ prompt: [...run.promptTokens.slice(1), vocab], session_id: s.id }, 400);
    expect(err.error).toMatchObject({ type: "invalid_request_error", code: "invalid_value", param: "prompt" });
    expect(err.error.message).toContain(`prompt[${run.promptTokens.length - 1}] is ${vocab}`);
    expect(err.error.message).toContain(`${vocab} tokens`);
    expect(await sessionInfo(s.id)).toEqual(before);
    // The last id of the vocabulary is a token.
    expect((await complete({ prompt: [vocab - 1], max_tokens: 1 })).usage.prompt_tokens).toBe(1);
  });

  it("a token prompt longer than the context is a 400 context_length_exceeded, one-shot and in a session (left unchanged)", async () => {
    const run = referenceRun();
    const ctx = (await json(await call("GET", "/v1/model"))).default_n_ctx as number;
    const ids = (n: number) => Array.from({ length: n }, (_, i) => run.promptTokens[i % run.promptTokens.length]!);
    const err = await complete({ prompt: ids(ctx + 1) }, 400);
    expect(err.error).toMatchObject({ type: "invalid_request_error", code: "context_length_exceeded", param: "prompt" });
    expect(err.error.message).toContain(`over its context length of ${ctx}`);
    const s = await createSession({ n_ctx: 16, temperature: 0 });
    expect((await complete({ prompt: ids(17), session_id: s.id }, 400)).error).toMatchObject({ code: "context_length_exceeded", param: "prompt" });
    expect(await sessionInfo(s.id)).toMatchObject({ token_count: 0, evaluated_tokens: 0 });
    // Exactly the context fits.
    expect((await complete({ prompt: ids(16), max_tokens: 0, session_id: s.id })).usage.prompt_tokens).toBe(16);
  });
});

describe("token ids on the native generate API", () => {
  const generate = (id: string, body: Record<string, unknown>, status = 200) => call("POST", `/v1/sessions/${id}/generate`, body).then((r) => json(r, status));

  it("appends exactly the ids (no BOS) and continues as the text would: llama.cpp's tokens", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    const out = await generate(s.id, { tokens: run.promptTokens, max_tokens: 16 });
    expect(out.tokens).toEqual(run.generatedTokens.slice(0, 16));
    expect(out.usage.input_tokens).toBe(run.promptTokens.length);
    expect(await sessionInfo(s.id)).toMatchObject({ token_count: run.promptTokens.length + 16 });
  });

  it("refuses text and tokens together, bad ids (naming tokens[i]) and too many ids, leaving the session unchanged", async () => {
    const run = referenceRun();
    const vocab = await vocabSize();
    const s = await createSession({ n_ctx: 16, temperature: 0 });
    expect((await generate(s.id, { text: "x", tokens: [1] }, 400)).error).toMatchObject({ param: "tokens" });
    expect((await generate(s.id, { tokens: [1, -1] }, 400)).error).toMatchObject({ param: "tokens.1" });
    const bad = await generate(s.id, { tokens: [1, vocab] }, 400);
    expect(bad.error).toMatchObject({ code: "invalid_value", param: "tokens" });
    expect(bad.error.message).toContain(`tokens[1] is ${vocab}`);
    const ids = Array.from({ length: 17 }, (_, i) => run.promptTokens[i % run.promptTokens.length]!);
    expect((await generate(s.id, { tokens: ids }, 400)).error).toMatchObject({ code: "context_length_exceeded", param: "tokens" });
    expect(await sessionInfo(s.id)).toMatchObject({ token_count: 0, evaluated_tokens: 0 });
  });
});
