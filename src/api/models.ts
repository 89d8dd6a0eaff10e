// GET /v1/models and GET /v1/models/{id}: the one served model in OpenAI's list and model shapes.
import { Hono } from "hono";
import type { Env } from "../env";
import { ApiError } from "./errors";

export const models = new Hono<{ Bindings: Env }>();

/** OpenAI's model object; `created` is 0: the deployment does not know when the file was made. */
const modelObject = (id: string) => ({ id, object: "model", created: 0, owned_by: "edge-llama" });

models.get("/models", (c) => c.json({ object: "list", data: [modelObject(c.env.MODEL_NAME)] }));

models.get("/models/:id", (c) => {
  const id = c.req.param("id");
  // OpenAI answers an unknown model with 404 model_not_found (invalid_request_error there; not_found_error here, by status).
  if (id !== c.env.MODEL_NAME) throw ApiError.notFound(`the model '${id}' does not exist; this deployment serves '${c.env.MODEL_NAME}'`, "model_not_found");
  return c.json(modelObject(id));
});
