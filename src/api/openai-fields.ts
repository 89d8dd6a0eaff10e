// OpenAI request fields beyond the shared sampling ones: OpenAI's ranges, logit_bias, n/best_of, echo, stream_options,
// chat content parts, and the fields this server refuses by name (a field is honoured or refused, never dropped).
import { z } from "zod";
import type { ChatMessage } from "../protocol";
import { toolFields } from "../tools/fields";

// OpenAI clients send null for "not set"; treat it as absent.
export const opt = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);

/** Most logit_bias entries one request may carry (OpenAI documents no bound; this keeps a request's work small). */
export const MAX_LOGIT_BIAS = 1024;

/** Token id (a decimal string, as JSON object keys are) → bias in [-100, 100]; sent to the session as [id, bias] pairs. */
const logitBias = opt(
  z
    .record(z.string().regex(/^(0|[1-9]\d{0,8})$/, "logit_bias keys are token ids (decimal integers)"), z.number().min(-100).max(100))
    .refine((r) => Object.keys(r).length <= MAX_LOGIT_BIAS, `at most ${MAX_LOGIT_BIAS} entries`)
    .describe("token id → bias in [-100, 100] added to its logit before sampling (greedy too); -100 bans the token. Ids are checked against the vocabulary."),
).transform((r) => (r === undefined ? undefined : Object.entries(r).map(([id, bias]) => [Number(id), bias] as [number, number])));

/** Fields OpenAI defines that this server cannot honour: any value but "not set" is a 400 naming the field. */
function refused(why: string) {
  return z.unknown().refine((v) => v === undefined || v === null, { message: why }).optional().describe(`refused: ${why}`);
}

/** The OpenAI fields of both endpoints, with OpenAI's ranges (the native session API keeps its wider temperature range). */
export const openAiFields = {
  temperature: opt(z.number().min(0).max(2)),
  // top_p 0 (accepted by OpenAI) keeps only the most likely token: samplerOf maps it to top_k 1.
  top_p: opt(z.number().min(0).max(1)),
  stop: opt(z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).transform((s) => (typeof s === "string" ? [s] : s))),
  n: opt(z.number().int().min(1).max(128)).describe("choices to generate (1–128): the prompt is evaluated once and each choice continues from its KV state; not with session_id"),
  logit_bias: logitBias,
  stream_options: opt(z.strictObject({ include_usage: opt(z.boolean()) })).describe("with include_usage: true, one last chunk with choices: [] carries usage (usage: null on the others)"),
  user: opt(z.string()).describe("accepted and not used (OpenAI's end-user id for abuse monitoring)"),
  // Structured output (response_format, llama.cpp's grammar and json_schema): see structured-output.ts.
};

/** A chat content part: only text parts; another type is refused naming it. */
const contentPart = z
  .looseObject({ type: z.string(), text: z.unknown().optional() })
  .superRefine((p, ctx) => {
    if (p.type !== "text") ctx.addIssue({ code: "custom", path: ["type"], message: `content parts of type "${p.type}" are not supported (only "text")` });
    else if (typeof p.text !== "string") ctx.addIssue({ code: "custom", path: ["text"], message: "a text part needs text (a string)" });
    const extra = Object.keys(p).find((k) => k !== "type" && k !== "text");
    if (extra !== undefined) ctx.addIssue({ code: "custom", path: [extra], message: `${extra} is not supported in a content part` });
  })
  .transform((p) => p.text as string);

/** A message field that may only be empty: a client replaying an assistant message sends `refusal: null`, `audio: null`. */
const emptyOnly = (name: string) =>
  z
    .unknown()
    .refine((v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0), { message: `${name} is not supported in messages (only null or empty)` })
    .optional();

/** A tool call an assistant turn made, as OpenAI returned it (arguments: JSON text). */
const messageToolCall = z.strictObject({
  id: z.string().min(1),
  type: z.literal("function"),
  function: z.strictObject({ name: z.string().min(1), arguments: z.string() }),
});

/**
 * One chat message: `developer` is taken as `system` (OpenAI's newer name for it), and content may be an array of text
 * parts, joined with "\n" (as vLLM joins them). An assistant turn may carry `tool_calls` (its content then may be null);
 * a `tool` turn is a tool's result (`tool_call_id`, or `name` as Workers AI's runWithTools sends). Other roles
 * (function) and other part types are refused.
 */
export const chatMessage = z
  .strictObject({
    role: z.enum(["developer", "system", "user", "assistant", "tool"]),
    content: z.union([z.string(), z.array(contentPart).min(1)]).nullish(),
    refusal: emptyOnly("refusal"),
    tool_calls: opt(z.array(messageToolCall)),
    tool_call_id: opt(z.string().min(1)),
    function_call: emptyOnly("function_call"),
    audio: emptyOnly("audio"),
    annotations: emptyOnly("annotations"),
    name: opt(z.string().min(1)),
  })
  .superRefine((m, ctx) => {
    const calls = m.role === "assistant" && (m.tool_calls?.length ?? 0) > 0;
    if (m.content == null && !calls) ctx.addIssue({ code: "custom", path: ["content"], message: m.role === "assistant" ? "an assistant message needs content or tool_calls" : "content is required" });
    if (m.tool_calls !== undefined && m.role !== "assistant") ctx.addIssue({ code: "custom", path: ["tool_calls"], message: "tool_calls is only for assistant messages" });
    if (m.tool_call_id !== undefined && m.role !== "tool") ctx.addIssue({ code: "custom", path: ["tool_call_id"], message: "tool_call_id is only for tool messages" });
    if (m.role === "tool" && m.tool_call_id === undefined && m.name === undefined) ctx.addIssue({ code: "custom", path: ["tool_call_id"], message: "a tool message needs tool_call_id (or the tool's name)" });
    if (m.name !== undefined && m.role !== "tool") ctx.addIssue({ code: "custom", path: ["name"], message: "name is only supported on tool messages" });
  })
  .transform((m): ChatMessage => {
    const content = m.content == null ? "" : typeof m.content === "string" ? m.content : m.content.join("\n");
    const role = m.role === "developer" ? "system" : m.role;
    return {
      role,
      content,
      ...(m.tool_calls?.length ? { tool_calls: m.tool_calls } : {}),
      ...(m.tool_call_id !== undefined ? { tool_call_id: m.tool_call_id } : {}),
      ...(m.name !== undefined ? { name: m.name } : {}),
    };
  });

/** Chat-only fields: tools (tools/fields.ts); the legacy functions API is refused. */
export const chatOnlyFields = {
  ...toolFields,
  functions: refused("functions is not supported (use tools)"),
  function_call: refused("function_call is not supported (use tool_choice)"),
};

/** Completions-only fields. */
export const completionOnlyFields = {
  echo: opt(z.boolean()).describe("prepend the prompt to the returned text (not with logprobs)"),
  best_of: opt(z.number().int().min(1).max(20)).describe("generate best_of choices and return the n with the highest cumulative log-probability; not with stream"),
  suffix: opt(z.string().refine((s) => s === "", { message: "suffix is not supported (the model has no fill-in-the-middle tokens)" })),
};
