// POST /tokenize and /detokenize (and their /v1 aliases), as llama.cpp's server has them: the served model's vocabulary,
// built from the GGUF header in this isolate (cached per model version), never the weights.
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { Env } from "../env";
import { errorBody, modelTokenizer } from "../protocol";
import { requireApiKey } from "./auth";
import { ApiError } from "./errors";
import { readBody } from "./validate";

/** Longest content one request may tokenize (characters) and most ids one request may detokenize. */
export const MAX_TOKENIZE_CHARS = 1_000_000;
export const MAX_DETOKENIZE_TOKENS = 1_000_000;

const opt = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);

export const tokenizeBody = z.object({
  content: z.string().max(MAX_TOKENIZE_CHARS).describe("the text to tokenize"),
  add_special: opt(z.boolean()).describe("add BOS / EOS where the vocabulary asks for them (tokenizer.ggml.add_bos_token...); default false, as llama.cpp's server"),
  parse_special: opt(z.boolean()).describe(
    "turn special-token text (<|im_end|>, <s>) into those tokens; default false, as this API's completions (llama.cpp's server defaults to true)",
  ),
  with_pieces: opt(z.boolean()).describe("answer {id, piece} objects: piece is the token's text, or its bytes when they are not valid UTF-8"),
});

export const detokenizeBody = z.object({
  tokens: z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).max(MAX_DETOKENIZE_TOKENS).describe("token ids of the served model's vocabulary"),
});

export const tokenizeResponse = z.object({
  tokens: z.union([z.array(z.number().int()), z.array(z.object({ id: z.number().int(), piece: z.union([z.string(), z.array(z.number().int())]) }))]),
});

export const detokenizeResponse = z.object({ content: z.string() });

export const tokenizeExamples = {
  // SmolLM2's vocabulary (ids checked with the project's tokenizer).
  tokenizeRequest: { content: "<|im_start|>user\nHi<|im_end|>", parse_special: true, with_pieces: true },
  tokenize: { tokens: [{ id: 1, piece: "<|im_start|>" }, { id: 4093, piece: "user" }, { id: 198, piece: "\n" }, { id: 26843, piece: "Hi" }, { id: 2, piece: "<|im_end|>" }] },
  detokenizeRequest: { tokens: [1, 4093, 198, 26843, 2] },
  detokenize: { content: "<|im_start|>user\nHi<|im_end|>" },
} as const;

type Tokenizer = Awaited<ReturnType<typeof modelTokenizer>>;

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // ignoreBOM: a BOM piece stays in the text

/** llama.cpp's piece: the text when the bytes are valid UTF-8 (a byte token, half a character, is not), else the bytes. */
function pieceJson(bytes: Uint8Array): string | number[] {
  try {
    return fatal.decode(bytes);
  } catch {
    return [...bytes];
  }
}

async function tokenizer(c: Context<{ Bindings: Env }>): Promise<Tokenizer> {
  return modelTokenizer(c.env).catch((e: unknown) => {
    throw new ApiError(errorBody(e)); // model_not_found 503, model_load_failed 500, as GET /v1/model
  });
}

async function tokenize(c: Context<{ Bindings: Env }>) {
  const b = await readBody(c, tokenizeBody);
  const t = await tokenizer(c);
  const ids = t.encode(b.content, { addSpecial: b.add_special ?? false, parseSpecial: b.parse_special ?? false });
  return c.json({ tokens: b.with_pieces ? ids.map((id) => ({ id, piece: pieceJson(t.pieceBytes(id)) })) : ids });
}

async function detokenize(c: Context<{ Bindings: Env }>) {
  const b = await readBody(c, detokenizeBody);
  const t = await tokenizer(c);
  const bad = b.tokens.findIndex((id) => id >= t.vocabSize);
  if (bad >= 0) {
    throw ApiError.invalid(`tokens[${bad}] is ${b.tokens[bad]}, not a token id of this model (its vocabulary has ${t.vocabSize} tokens: 0..${t.vocabSize - 1})`, "tokens");
  }
  // llama.cpp's tokens_to_str: every piece as llama_token_to_piece(special = true) gives it, joined; no leading-space strip.
  return c.json({ content: t.decode(b.tokens, { skipSpecial: false, stripLeadingSpace: false }) });
}

export const tokenizeRoutes = new Hono<{ Bindings: Env }>();

// The /v1 aliases get the key check from the app's /v1/* middleware; the llama.cpp-style root paths need their own.
tokenizeRoutes.post("/tokenize", requireApiKey, tokenize);
tokenizeRoutes.post("/detokenize", requireApiKey, detokenize);
tokenizeRoutes.post("/v1/tokenize", tokenize);
tokenizeRoutes.post("/v1/detokenize", detokenize);
