// The Worker entry point: the Hono app (health, models, sessions, OpenAI-compatible completions) and the session Durable Object.
import { Hono } from "hono";
import "./backends/wasm/load-workers";
import { BACKEND_NAMES } from "./backends/select";
import { aiRest } from "./api/ai-rest";
import { completions } from "./api/completions";
import { requireApiKey } from "./api/auth";
import { ApiError, onError } from "./api/errors";
import { countRequests, metricsRoute } from "./api/metrics";
import { modelInfo } from "./api/model-info";
import { models } from "./api/models";
import { openapi } from "./api/openapi";
import { sessions } from "./api/sessions";
import { tokenizeRoutes } from "./api/tokenize";
import type { Env } from "./env";

export type { Env } from "./env";
export { LlamaSession } from "./session/llama-session";
export { ModelShard } from "./shard/model-shard";
export { PromptCache } from "./cache/prompt-cache";

export const app = new Hono<{ Bindings: Env }>();

// First: every request is counted by its route pattern and status (GET /metrics).
app.use("*", countRequests);

app.get("/health", (c) => c.json({ status: "ok", model: c.env.MODEL_NAME, backend: c.env.BACKEND || "wasm", backends: BACKEND_NAMES }));

// Every API route sits under /v1 and needs the key when API_KEY is set; /health and the docs stay public.
app.use("/v1/*", requireApiKey);
app.use("/metrics", requireApiKey);

app.route("/v1", models);

app.route("/v1/sessions", sessions);
app.route("/v1", completions);
app.route("/v1", modelInfo);
app.route("/v1/ai", aiRest);
app.route("/", tokenizeRoutes);
app.route("/", openapi);
app.route("/", metricsRoute);

app.notFound((c) => {
  throw ApiError.notFound(`no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
});
app.onError(onError);

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
