// The OpenAPI description of GET /v1/models/{id} and GET /metrics, and the OpenAI response shapes they and the streams use.
import { z } from "zod";
import type { RouteDoc } from "./openapi";

export const modelResponse = z.object({ id: z.string(), object: z.literal("model"), created: z.number().int(), owned_by: z.string() });

const usage = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().int().describe("prompt tokens restored from the prompt cache (whole 32-token blocks of a shared prefix) instead of prefilled; 0 on a miss") }),
});

/** A streamed piece of a tool call: `index` names the call within the choice. */
const toolCallDelta = z.object({
  index: z.number().int(),
  id: z.string().optional(),
  type: z.literal("function").optional(),
  function: z.object({ name: z.string().optional(), arguments: z.string() }),
});

/** One streamed chunk of either endpoint: choices carry `index` (n > 1), usage is absent, null, or (last chunk, choices []) the usage. */
export const completionChunk = z.object({
  id: z.string(),
  object: z.enum(["text_completion", "chat.completion.chunk"]),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      text: z.string().optional().describe("completions"),
      delta: z
        .object({
          role: z.literal("assistant").optional().describe("first delta of a choice only"),
          content: z.string().optional(),
          tool_calls: z.array(toolCallDelta).optional().describe("a call's first delta has index, id, type and function.name (arguments \"\"); later ones add function.arguments text"),
        })
        .optional()
        .describe("chat"),
      logprobs: z.unknown().nullable(),
      finish_reason: z.enum(["stop", "length", "tool_calls"]).nullable(),
    }),
  ),
  usage: usage.nullable().optional().describe("only with stream_options.include_usage: null on every chunk but the last, which has choices []"),
});

export const OPENAI_SCHEMAS = { Model: modelResponse, CompletionChunk: completionChunk };

export const openAiExamples = {
  model: { id: "stories260K.gguf", object: "model", created: 0, owned_by: "edge-llama" },
  chunk: { id: "chatcmpl-9b1e0c2d4f6a8b0c1d2e3f4a5b6c7d8e", object: "chat.completion.chunk", created: 1764390000, model: "stories260K.gguf", choices: [{ index: 0, delta: { role: "assistant", content: " Lily" }, logprobs: null, finish_reason: null }], usage: null },
} as const;

const METRICS_EXAMPLE = `# HELP edge_llama_http_requests_total HTTP requests answered, by route pattern (not the raw path), method and status.
# TYPE edge_llama_http_requests_total counter
edge_llama_http_requests_total{route="/v1/completions",method="POST",status="200"} 3
`;

export const OPENAI_ROUTES: readonly RouteDoc[] = [
  {
    method: "get", path: "/v1/models/:id", summary: "The served model (OpenAI's model object); another id is a 404 model_not_found", tag: "openai",
    params: { id: { description: "the model id (MODEL_NAME, e.g. stories260K.gguf)" } },
    responses: [{ status: 200, description: "the model", schema: "Model", example: openAiExamples.model }, { status: 404, description: "not the served model (model_not_found)", schema: "Error" }],
  },
  {
    method: "get", path: "/metrics", summary: "This isolate's counters and latency histograms, Prometheus text format 0.0.4 (per isolate: see docs/api.md)", tag: "service", auth: true,
    responses: [{ status: 200, description: "the exposition (text/plain; version=0.0.4)", text: METRICS_EXAMPLE }],
  },
];
