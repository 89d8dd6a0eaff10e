// POST /tokenize, /detokenize (and /v1 aliases): llama.cpp's server shapes, from the GGUF header in the Worker (no weights),
// zod-validated, behind the key; and GET /v1/model's chat template and end-of-generation tokens.
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { metaOptString, readGguf } from "../../src/gguf/index";
import { app } from "../../src/index";
import { ModelHost } from "../../src/session/model-host";
import { createTokenizer } from "../../src/tokenizer/index";
import { synthModel } from "../../scripts/lib/synth/model";
import { BASE, json, seedModel } from "./helpers";

const post = (path: string, body: unknown, bindings: Partial<Env> = {}, headers: Record<string, string> = {}) =>
  app.fetch(new Request(BASE + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) }), { ...env, ...bindings });
const get = (path: string, bindings: Partial<Env> = {}) => app.fetch(new Request(BASE + path), { ...env, ...bindings });

const stories = createTokenizer(readGguf(new Uint8Array(env.TEST_MODEL_STORIES260K)));

beforeAll(seedModel);
afterEach(() => vi.restoreAllMocks());

describe("POST /tokenize and /detokenize (stories260K)", () => {
  it("tokenizes as llama.cpp's server: add_special off by default, with_pieces gives {id, piece}, bytes for broken UTF-8", async () => {
    const load = vi.spyOn(ModelHost.prototype, "model");
    for (const prefix of ["", "/v1"]) {
      expect(await json(await post(`${prefix}/tokenize`, { content: "Once upon a time" }))).toEqual({ tokens: stories.encode("Once upon a time", { addSpecial: false }) });
      const withBos = await json(await post(`${prefix}/tokenize`, { content: "Once upon a time", add_special: true }));
      expect(withBos.tokens[0]).toBe(stories.bosId);
      // llama.cpp's README example for stories260K: "á" is two byte tokens, each piece half a character (and, as
      // llama_tokenize does for SentencePiece even without add_special, the space prefix "▁" first).
      expect(await json(await post(`${prefix}/tokenize`, { content: "á", with_pieces: true }))).toEqual({ tokens: [{ id: 410, piece: " " }, { id: 198, piece: [195] }, { id: 164, piece: [161] }] });
      const pieces = await json(await post(`${prefix}/tokenize`, { content: "Hi there", add_special: true, with_pieces: true }));
      expect(pieces.tokens.map((t: { piece: string }) => t.piece).join("")).toBe("<s> Hi there");
    }
    expect(load).not.toHaveBeenCalled(); // the Worker reads the header; it never loads the weights
  });

  it("detokenizes as llama.cpp's tokens_to_str: pieces joined, control tokens as their text, no leading-space strip", async () => {
    const ids = stories.encode("Once upon a time", { addBos: true });
    for (const prefix of ["", "/v1"]) {
      expect(await json(await post(`${prefix}/detokenize`, { tokens: ids }))).toEqual({ content: "<s> Once upon a time" });
      expect(await json(await post(`${prefix}/detokenize`, { tokens: [] }))).toEqual({ content: "" });
    }
  });

  it("refuses bad bodies with a 400 naming the field; ids outside the vocabulary name tokens", async () => {
    const cases: [string, unknown, string][] = [
      ["/tokenize", {}, "content"],
      ["/tokenize", { content: 5 }, "content"],
      ["/tokenize", { content: "x", parse_special: "yes" }, "parse_special"],
      ["/v1/tokenize", { content: "x", with_pieces: 1 }, "with_pieces"],
      ["/detokenize", {}, "tokens"],
      ["/detokenize", { tokens: [1, -2] }, "tokens.1"],
      ["/v1/detokenize", { tokens: [1, 2.5] }, "tokens.1"],
    ];
    for (const [path, body, param] of cases) {
      const e = await json(await post(path, body), 400);
      expect(e.error).toMatchObject({ type: "invalid_request_error", code: "invalid_value", param });
    }
    const out = await json(await post("/detokenize", { tokens: [1, 512] }), 400);
    expect(out.error).toMatchObject({ param: "tokens", message: expect.stringMatching(/^tokens\[1\] is 512, not a token id of this model \(its vocabulary has 512 tokens/) });
    const notJson = await app.fetch(new Request(BASE + "/tokenize", { method: "POST", body: "{" }), env);
    expect((await json(notJson, 400)).error.code).toBe("invalid_json");
  });

  it("is behind the API key, at the root paths and under /v1", async () => {
    for (const path of ["/tokenize", "/v1/tokenize", "/detokenize", "/v1/detokenize"]) {
      const body = path.endsWith("detokenize") ? { tokens: [1] } : { content: "x" };
      expect((await post(path, body, { API_KEY: "sekrit" })).status).toBe(401);
      expect((await post(path, body, { API_KEY: "sekrit" }, { authorization: "Bearer wrong" })).status).toBe(401);
      expect((await post(path, body, { API_KEY: "sekrit" }, { authorization: "Bearer sekrit" })).status).toBe(200);
    }
  });

  it("a missing model is a 503 model_not_found", async () => {
    const e = await json(await post("/tokenize", { content: "x" }, { MODEL_NAME: "no-such.gguf" }), 503);
    expect(e.error.code).toBe("model_not_found");
  });

  it("GET /v1/model: no chat template (null) and the EOG set of a SentencePiece vocabulary", async () => {
    const m = await json(await get("/v1/model"));
    expect(m.chat_template).toBeNull();
    expect(m.eog_tokens).toEqual([{ id: 2, piece: "</s>" }]);
  });
});

const smol = env.TEST_VOCAB_SMOLLM2;
if (!smol) console.warn("skipping the SmolLM2 tokenize tests: vocab/smollm2.gguf not found; set EDGE_LLAMA_MODELS to the larger fixture set");

describe.skipIf(!smol)("a SmolLM2-shaped model with the real vocabulary", () => {
  const name = "tokenize-smollm2-synth.gguf";
  const bindings = { MODEL_NAME: name };
  const tok = smol ? createTokenizer(readGguf(new Uint8Array(smol))) : undefined!;
  beforeAll(async () => {
    if (!(await env.MODELS.head(name))) await env.MODELS.put(name, synthModel({ shape: "tiny", type: "f32", seed: 3, vocabFrom: new Uint8Array(smol!) }));
  }, 120_000); // a 49k-token vocabulary model: seconds to build on a loaded machine

  it("parse_special is off by default: <|im_end|> typed by a user is text; on, it is the control token", async () => {
    const text = "<|im_start|>user\nHi<|im_end|>";
    const literal = await json(await post("/tokenize", { content: text }, bindings));
    expect(literal.tokens).toEqual(tok.encode(text, { addSpecial: false }));
    expect(literal.tokens).not.toContain(2);
    const parsed = await json(await post("/tokenize", { content: text, parse_special: true, with_pieces: true }, bindings));
    expect(parsed.tokens).toEqual(tok.encode(text, { addSpecial: false, parseSpecial: true }).map((id) => ({ id, piece: tok.tokenText(id).startsWith("<|") ? tok.tokenText(id) : expect.any(String) })));
    expect(parsed.tokens[0]).toEqual({ id: 1, piece: "<|im_start|>" });
    expect(parsed.tokens.at(-1)).toEqual({ id: 2, piece: "<|im_end|>" });
    expect(await json(await post("/detokenize", { tokens: parsed.tokens.map((t: { id: number }) => t.id) }, bindings))).toEqual({ content: text });
  });

  it("GET /v1/model shows the GGUF's chat template and the EOG tokens with their pieces", async () => {
    const m = await json(await get("/v1/model", bindings));
    expect(m.chat_template).toBe(metaOptString(readGguf(new Uint8Array(smol!)), "tokenizer.chat_template"));
    expect(m.chat_template).toContain("<|im_start|>assistant\n");
    expect(m.eog_tokens).toEqual([{ id: 0, piece: "<|endoftext|>" }, { id: 2, piece: "<|im_end|>" }, { id: 4, piece: "<reponame>" }]);
    expect(m.config.vocab_size).toBe(49152);
  });
});
