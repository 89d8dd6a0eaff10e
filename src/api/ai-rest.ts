// POST /v1/ai/run/{model}: Cloudflare's Workers AI REST shape ({result, success, errors, messages}) over LocalAi.
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { LocalAi, localAiInput, type LocalAiInput } from "../ai/local-ai";
import type { Env } from "../env";
import { errorHeaders, internalError, type ErrorBody } from "../protocol";
import { ApiError } from "./errors";
import { SSE_HEADERS } from "./events";
import { validate } from "./validate";

/** edge-llama's extension: Workers AI has no tool_choice input; this maps to LocalAi's toolChoice option. */
export const aiToolChoice = z.enum(["auto", "required", "required-first"]);

/** Only the extension field is read here; LocalAi validates (and names) every other field itself. */
const extension = z.looseObject({
  tool_choice: aiToolChoice
    .optional()
    .describe('edge-llama\'s extension (Workers AI has none): "auto" (default) the model chooses; "required" always one call; "required-first" a call until a tool result is among the messages, then "auto"'),
});

/** The request body as documented: Workers AI's text-generation input plus the tool_choice extension. */
export const aiRunBody = z.intersection(localAiInput, extension);

const aiError = z.object({ code: z.string(), message: z.string(), param: z.string().nullable() });
const toolCall = z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()) });
const usage = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() });

export const aiRunResponse = z.object({
  result: z.object({ response: z.string().optional(), tool_calls: z.array(toolCall).optional(), usage }),
  success: z.literal(true),
  errors: z.array(aiError).length(0),
  messages: z.array(z.unknown()),
});

export const aiRunError = z.object({ result: z.null(), success: z.literal(false), errors: z.array(aiError).min(1), messages: z.array(z.unknown()) });

/** The envelope of an error: the product's status, code and param, in api.cloudflare.com's shape. */
function envelopeError(c: Context, body: ErrorBody): Response {
  for (const [name, value] of Object.entries(errorHeaders(body))) c.header(name, value);
  const error = { code: body.code, message: body.message, param: body.param };
  return c.json({ result: null, success: false, errors: [error], messages: [] }, body.status as ContentfulStatusCode);
}

async function body(c: Context): Promise<Record<string, unknown>> {
  let json: unknown;
  try {
    json = JSON.parse(await c.req.text());
  } catch {
    throw ApiError.invalid("the request body is not valid JSON", null, "invalid_json");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw ApiError.invalid("the request body must be a JSON object", null);
  return json as Record<string, unknown>;
}

export const aiRest = new Hono<{ Bindings: Env }>();

// A wildcard param: Workers AI model names have slashes (@cf/meta/llama-3.1-8b-instruct).
aiRest.post("/run/:model{.+}", async (c) => {
  try {
    const { tool_choice, ...inputs } = await body(c);
    const toolChoice = validate(extension, { tool_choice }).tool_choice;
    const ai = new LocalAi(c.env, { toolChoice });
    const model = c.req.param("model"); // Hono decodes it
    if (inputs.stream === true) return new Response(await ai.run(model, { ...(inputs as LocalAiInput), stream: true }), { headers: SSE_HEADERS });
    const result = await ai.run(model, inputs as LocalAiInput);
    return c.json({ result, success: true, errors: [], messages: [] });
  } catch (e) {
    if (e instanceof ApiError) return envelopeError(c, e.body);
    console.error("unhandled error", e);
    return envelopeError(c, internalError());
  }
});
