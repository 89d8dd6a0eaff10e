// GET /openapi.json: the OpenAPI 3.1 document, built from the request schemas in schemas.ts and the response schemas in openapi-schemas.ts.
import { Hono } from "hono";
import { z } from "zod";
import type { Env } from "../env";
import * as res from "./openapi-schemas";
import { chatBody, completionBody, createSessionBody, generateBody, rewindBody } from "./schemas";
import { TOKENIZE_ROUTES, TOKENIZE_SCHEMAS } from "./openapi-tokenize";
import { OPENAI_ROUTES, OPENAI_SCHEMAS } from "./openapi-openai";
import { AI_REST_ROUTES, AI_REST_SCHEMAS } from "./openapi-ai-rest";

type Method = "get" | "post" | "delete";

export interface ResponseDoc {
  readonly status: number;
  readonly description: string;
  /** Name of a schema in SCHEMAS (the JSON body). */
  readonly schema?: SchemaName;
  readonly example?: unknown;
  /** With `stream: true` the route answers text/event-stream; this describes the frames. */
  readonly sse?: string;
  /** A text/plain answer (GET /metrics); this is its example. */
  readonly text?: string;
}

export interface RouteDoc {
  readonly method: Method;
  /** Path as Hono writes it (`/v1/sessions/:id`). */
  readonly path: string;
  readonly summary: string;
  readonly tag: "service" | "sessions" | "openai" | "workers-ai";
  /** Behind the API key although outside /v1 (llama.cpp's /tokenize and /detokenize paths). */
  readonly auth?: boolean;
  readonly body?: { readonly schema: SchemaName; readonly optional?: boolean; readonly example: unknown };
  readonly responses: readonly ResponseDoc[];
  /** Path parameters other than a session id (the default description and pattern). */
  readonly params?: Readonly<Record<string, { readonly description: string }>>;
}

/** Every named schema of the document: request bodies (parsed input side) and responses. */
export const SCHEMAS = {
  CreateSessionRequest: createSessionBody,
  GenerateRequest: generateBody,
  RewindRequest: rewindBody,
  CompletionRequest: completionBody,
  ChatCompletionRequest: chatBody,
  Error: res.errorResponse,
  Health: res.healthResponse,
  ModelList: res.modelListResponse,
  ModelInfo: res.modelInfoResponse,
  Session: res.sessionResponse,
  Generation: res.generationResponse,
  SessionDeleted: res.sessionDeletedResponse,
  Completion: res.completionResponse,
  ChatCompletion: res.chatCompletionResponse,
  ...TOKENIZE_SCHEMAS,
  ...OPENAI_SCHEMAS,
  ...AI_REST_SCHEMAS,
} satisfies Record<string, z.ZodType>;
export type SchemaName = keyof typeof SCHEMAS;

const ex = res.responseExamples;
const bad = (description = "invalid request (the message names the parameter)"): ResponseDoc => ({ status: 400, description, schema: "Error", example: ex.error });
/** Generating routes: a bad parameter, or an input that does not fit (400 context_length_exceeded, as OpenAI answers). */
const badGen = bad("invalid request (the message names the parameter); code context_length_exceeded when the input (plus max_tokens where given) does not fit in the context");
const missing: ResponseDoc = { status: 404, description: "no such session", schema: "Error" };
const busy: ResponseDoc = { status: 409, description: "the session is generating", schema: "Error" };

const limited: ResponseDoc = { status: 429, description: "too many generations in progress; retry after the Retry-After header's seconds", schema: "Error" };
const noRoom: ResponseDoc = { status: 503, description: "the model does not fit in the memory budget (MEMORY_BUDGET_MB) or is not in the bucket; shard_behind: a shard of a sharded model restarted, retry after the Retry-After header's seconds", schema: "Error" };
const noModel: ResponseDoc = { status: 503, description: "the model is not in the bucket", schema: "Error" };
const unauthorized: ResponseDoc = { status: 401, description: "API_KEY is set and the bearer key is missing or wrong", schema: "Error" };
/** What every generating route may also answer. */
const generating = [limited, noRoom];
const session = (status: number, description: string): ResponseDoc => ({ status, description, schema: "Session", example: ex.session });
const OPENAI_SSE =
  "data: {chunk} frames (the CompletionChunk schema): choices carry index (n > 1), a chat choice's first delta has its role; a reply's tool calls come as delta.tool_calls once the reply ends (per call: index, id, type, function.name, then function.arguments), finish_reason \"tool_calls\"; with stream_options.include_usage every chunk has usage: null and one last chunk with choices [] carries usage; then data: [DONE]";

/** The documented routes; a test checks this list against the routes the Hono app registers. */
export const ROUTES: readonly RouteDoc[] = [
  { method: "get", path: "/health", summary: "Liveness, the configured model and backend", tag: "service", responses: [{ status: 200, description: "ok", schema: "Health", example: ex.health }] },
  { method: "get", path: "/openapi.json", summary: "This document", tag: "service", responses: [{ status: 200, description: "the OpenAPI 3.1 document" }] },
  { method: "get", path: "/v1/models", summary: "The served model (OpenAI shape)", tag: "openai", responses: [{ status: 200, description: "one model", schema: "ModelList", example: ex.modelList }] },
  { method: "get", path: "/v1/model", summary: "Model configuration, the backend that runs it, its memory needs (from the GGUF header)", tag: "service", responses: [{ status: 200, description: "the served model", schema: "ModelInfo", example: ex.modelInfo }, noModel] },
  {
    method: "post", path: "/v1/sessions", summary: "Create a session (its own Durable Object and KV cache)", tag: "sessions",
    body: { schema: "CreateSessionRequest", optional: true, example: { n_ctx: 512, temperature: 0.8, top_k: 40, seed: 42 } },
    responses: [session(201, "the new session"), bad(), noRoom],
  },
  { method: "get", path: "/v1/sessions/:id", summary: "Inspect a session: text, tokens in cache, settings, storage", tag: "sessions", responses: [session(200, "the session"), missing] },
  {
    method: "post", path: "/v1/sessions/:id/generate", summary: "Append text and generate, as JSON or streamed as SSE", tag: "sessions",
    body: { schema: "GenerateRequest", optional: true, example: { text: "Once upon a time", max_tokens: 32, temperature: 0.8, stream: true } },
    responses: [
      { status: 200, description: "the generation", schema: "Generation", example: ex.generation, sse: "event: token frames ({token, text}), then one event: done frame with the Generation object (or event: error)" },
      badGen, missing, busy, ...generating,
    ],
  },
  {
    method: "post", path: "/v1/sessions/:id/rewind", summary: "Truncate a session to its first N tokens", tag: "sessions",
    body: { schema: "RewindRequest", example: { tokens: 12 } },
    responses: [session(200, "the truncated session"), bad(), missing, busy],
  },
  { method: "post", path: "/v1/sessions/:id/fork", summary: "Copy a session (KV cache included) into a new one", tag: "sessions", responses: [session(201, "the new session"), missing, busy] },
  { method: "delete", path: "/v1/sessions/:id", summary: "Delete a session and everything it stores", tag: "sessions", responses: [{ status: 200, description: "deleted", schema: "SessionDeleted", example: ex.sessionDeleted }, missing] },
  {
    method: "post", path: "/v1/completions", summary: "OpenAI text completion (one-shot, or in a session with session_id)", tag: "openai",
    body: { schema: "CompletionRequest", example: { model: "stories260K.gguf", prompt: "Once upon a time", max_tokens: 16, temperature: 0 } },
    responses: [{ status: 200, description: "the completion", schema: "Completion", example: ex.completion, sse: OPENAI_SSE }, badGen, missing, busy, ...generating],
  },
  {
    method: "post", path: "/v1/chat/completions", summary: "OpenAI chat completion (the model's chat template, or the plain one), with tool calls (tools, tool_choice)", tag: "openai",
    body: {
      schema: "ChatCompletionRequest",
      example: {
        messages: [{ role: "user", content: "What is the weather in Paris?" }],
        tools: [{ type: "function", function: { name: "get_weather", description: "The weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }],
        tool_choice: "required",
        max_tokens: 64,
      },
    },
    responses: [{ status: 200, description: "the reply (here a tool call)", schema: "ChatCompletion", example: ex.chatCompletionToolCalls, sse: OPENAI_SSE }, badGen, missing, busy, ...generating],
  },
  ...TOKENIZE_ROUTES,
  ...OPENAI_ROUTES,
  ...AI_REST_ROUTES,
];

/** `/v1/sessions/:id` → `/v1/sessions/{id}` and its path parameters. */
export function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  // A Hono regex param (`:model{.+}`) is the plain parameter in OpenAPI.
  const out = path.replace(/:([A-Za-z_]\w*)(?:\{[^}]*\})?/g, (_, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: out, params };
}

/** JSON Schema of one zod schema: the input side for requests (what clients send, before defaults and transforms). */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });

function responseObject(r: ResponseDoc) {
  if (r.text !== undefined) return { description: r.description, content: { "text/plain": { schema: { type: "string" }, example: r.text } } };
  if (!r.schema) return { description: r.description, content: r.status === 200 ? { "application/json": {} } : undefined };
  const content: Record<string, unknown> = { "application/json": { schema: ref(r.schema), ...(r.example !== undefined ? { example: r.example } : {}) } };
  if (r.sse) content["text/event-stream"] = { schema: { type: "string", description: r.sse } };
  return { description: r.description, content };
}

function operation(r: RouteDoc) {
  const { params } = openApiPath(r.path);
  const api = r.path.startsWith("/v1/") || r.auth === true;
  return {
    summary: r.summary,
    tags: [r.tag],
    operationId: `${r.method}${r.path.replace(/[^A-Za-z0-9]+(\w)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
    // /v1 routes need the key only when API_KEY is set: either no credentials or a bearer token.
    ...(api ? { security: [{}, { bearerAuth: [] }] } : {}),
    ...(params.length > 0
      ? {
          parameters: params.map((name) =>
            r.params?.[name]
              ? { name, in: "path", required: true, description: r.params[name].description, schema: { type: "string" } }
              : { name, in: "path", required: true, description: "session id (32 hex digits)", schema: { type: "string", pattern: "^[0-9a-f]{32}$" } },
          ),
        }
      : {}),
    ...(r.body ? { requestBody: { required: !r.body.optional, content: { "application/json": { schema: ref(r.body.schema), example: r.body.example } } } } : {}),
    responses: Object.fromEntries([...r.responses, ...(api ? [unauthorized] : [])].map((x) => [String(x.status), responseObject(x)])),
  };
}

/** The whole document; `serverUrl` is where it was fetched from, so "try it" tools call the same deployment. */
export function openApiDocument(serverUrl?: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) (paths[openApiPath(r.path).path] ??= {})[r.method] = operation(r);
  return {
    openapi: "3.1.0",
    info: {
      title: "edge-llama",
      version: "0.1.0",
      description: "A compact quantized LLaMA inside a Cloudflare Worker: OpenAI-compatible completions and a native session API (one Durable Object and KV cache per session).",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    tags: [
      { name: "service", description: "health, model, this document" },
      { name: "sessions", description: "stateful sessions: the KV cache is kept between requests" },
      { name: "openai", description: "OpenAI-compatible endpoints" },
      { name: "workers-ai", description: "Cloudflare Workers AI's REST shape, served by this deployment's model" },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(SCHEMAS).map(([name, s]) => [name, jsonSchema(s)])),
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "the API_KEY secret, when the deployment sets one" } },
    },
  };
}

export const openapi = new Hono<{ Bindings: Env }>();

openapi.get("/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)));
