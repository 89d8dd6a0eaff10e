// The Worker entry point: a Hono app (health check for now; the OpenAI-compatible and session API build on it).
import { Hono } from "hono";
import { BACKEND_NAMES } from "./backends/select";

export interface Env {
  MODEL_NAME: string;
}

export const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ status: "ok", model: c.env.MODEL_NAME, backends: BACKEND_NAMES }));

app.notFound((c) => c.json({ error: { message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}`, type: "invalid_request_error", code: "not_found" } }, 404));

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
