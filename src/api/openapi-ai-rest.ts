// The OpenAPI description of POST /v1/ai/run/{model}, Workers AI's REST shape (the route is in ai-rest.ts).
import { aiRunBody, aiRunError, aiRunResponse } from "./ai-rest";
import type { RouteDoc } from "./openapi";

export const AI_REST_SCHEMAS = { AiRunRequest: aiRunBody, AiRun: aiRunResponse, AiRunError: aiRunError };

const envelopeError = { result: null, success: false, errors: [{ code: "invalid_value", message: "tool_choice: Invalid option: expected one of \"auto\"|\"required\"|\"required-first\"", param: "tool_choice" }], messages: [] };

/** Examples: real answers of stories260K.gguf (greedy). */
export const AI_REST_ROUTES: readonly RouteDoc[] = [
  {
    method: "post", path: "/v1/ai/run/:model{.+}", tag: "workers-ai",
    summary: "Workers AI text generation in api.cloudflare.com's /ai/run/{model} shape, served by this deployment's model (tool_choice is edge-llama's extension)",
    params: { model: { description: "any Workers AI model name (@cf/meta/llama-3.1-8b-instruct) maps to the served model; a .gguf name must be that model" } },
    body: { schema: "AiRunRequest", example: { prompt: "Once upon a time", raw: true, max_tokens: 16, temperature: 0 } },
    responses: [
      {
        status: 200, description: "the envelope with Workers AI's output as result", schema: "AiRun",
        example: { result: { response: ", there was a little girl named Lily. She loved to play", usage: { prompt_tokens: 5, completion_tokens: 16, total_tokens: 21 } }, success: true, errors: [], messages: [] },
        sse: "with stream: true, data: {\"response\": \"…\"} frames, the last one also carrying usage (and, with tools, the whole reply and its tool_calls), then data: [DONE]",
      },
      { status: 400, description: "invalid request (the error's message and param name the field; code model_not_found for another .gguf model)", schema: "AiRunError", example: envelopeError },
      { status: 429, description: "too many generations in progress; retry after the Retry-After header's seconds", schema: "AiRunError" },
      { status: 503, description: "the model does not fit in the memory budget or is not in the bucket", schema: "AiRunError" },
    ],
  },
];
