// The OpenAPI description of POST /tokenize, /detokenize and their /v1 aliases (the routes are in tokenize.ts).
import type { RouteDoc } from "./openapi";
import { detokenizeBody, detokenizeResponse, tokenizeBody, tokenizeExamples as ex, tokenizeResponse } from "./tokenize";

export const TOKENIZE_SCHEMAS = {
  TokenizeRequest: tokenizeBody,
  DetokenizeRequest: detokenizeBody,
  Tokenize: tokenizeResponse,
  Detokenize: detokenizeResponse,
};

const bad = { status: 400, description: "invalid request (the message names the parameter; a token id outside the vocabulary names tokens)", schema: "Error" } as const;
const noModel = { status: 503, description: "the model is not in the bucket", schema: "Error" } as const;

function pair(path: string): RouteDoc[] {
  return [
    {
      method: "post", path: `${path}/tokenize`, tag: "service", auth: true,
      summary: "Text to token ids of the served model's vocabulary (llama.cpp's server shape; read from the GGUF header, no weights)",
      body: { schema: "TokenizeRequest", example: ex.tokenizeRequest },
      responses: [{ status: 200, description: "the token ids, or {id, piece} objects with with_pieces", schema: "Tokenize", example: ex.tokenize }, bad, noModel],
    },
    {
      method: "post", path: `${path}/detokenize`, tag: "service", auth: true,
      summary: "Token ids to text (control tokens rendered as their text, as llama.cpp's server)",
      body: { schema: "DetokenizeRequest", example: ex.detokenizeRequest },
      responses: [{ status: 200, description: "the text", schema: "Detokenize", example: ex.detokenize }, bad, noModel],
    },
  ];
}

/** /tokenize and /detokenize, then the /v1 aliases. */
export const TOKENIZE_ROUTES: readonly RouteDoc[] = [...pair(""), ...pair("/v1")];
