// parse_special on raw prompts: /v1/completions and native generate keep special-token text literal unless asked.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { readGguf } from "../../src/gguf/index";
import { createTokenizer } from "../../src/tokenizer/index";
import { call, createSession, json, seedModel } from "./helpers";

const tok = createTokenizer(readGguf(new Uint8Array(env.TEST_MODEL_STORIES260K)));
const TEXT = "Lily</s><s> saw a cat";

beforeAll(seedModel);

describe("parse_special", () => {
  it("/v1/completions: literal by default, control tokens with parse_special: true", async () => {
    const literal = tok.encode(TEXT, { addBos: true });
    const parsed = tok.encode(TEXT, { addBos: true, parseSpecial: true });
    expect(parsed.length).toBeLessThan(literal.length);
    expect(parsed).toContain(tok.eosId);
    const base = { prompt: TEXT, max_tokens: 1, temperature: 0 };
    expect((await json(await call("POST", "/v1/completions", base))).usage.prompt_tokens).toBe(literal.length);
    expect((await json(await call("POST", "/v1/completions", { ...base, parse_special: false }))).usage.prompt_tokens).toBe(literal.length);
    expect((await json(await call("POST", "/v1/completions", { ...base, parse_special: true }))).usage.prompt_tokens).toBe(parsed.length);
    const bad = await json(await call("POST", "/v1/completions", { ...base, parse_special: "yes" }), 400);
    expect(bad.error.param).toBe("parse_special");
  });

  it("native generate: the session's tokens hold the control tokens only with parse_special: true", async () => {
    for (const parse of [false, true]) {
      const s = await createSession({ temperature: 0 });
      const out = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: TEXT, max_tokens: 1, parse_special: parse }));
      expect(out.usage.input_tokens).toBe(tok.encode(TEXT, { addBos: true, parseSpecial: parse }).length);
    }
  });

  it("chat: a message's </s> stays text (the plain template of a model without one)", async () => {
    const messages = [{ role: "user", content: TEXT }];
    const out = await json(await call("POST", "/v1/chat/completions", { messages, max_tokens: 1, temperature: 0 }));
    expect(out.usage.prompt_tokens).toBe(tok.encode(`User: ${TEXT}\nAssistant:`, { addBos: true }).length);
  });
});
