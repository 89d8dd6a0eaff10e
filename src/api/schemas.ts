// Request schemas (zod): sampling parameters shared by every endpoint, then each endpoint's body.
import { z } from "zod";
import type { SamplerConfig } from "../protocol";

import { chatMessage, chatOnlyFields, completionOnlyFields, openAiFields, opt } from "./openai-fields";
import { grammarFields, responseFormat, structuredRules } from "./structured-output";
import { toolRules } from "../tools/fields";

export const samplingFields = {
  temperature: opt(z.number().min(0).max(100)),
  top_p: opt(z.number().gt(0).max(1)),
  top_k: opt(z.number().int().min(0)),
  min_p: opt(z.number().min(0).max(1)),
  seed: opt(z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER)),
  presence_penalty: opt(z.number().min(-2).max(2)),
  frequency_penalty: opt(z.number().min(-2).max(2)),
  repetition_penalty: opt(z.number().gt(0).max(100)),
  penalty_last_n: opt(z.number().int().min(-1)),
};

type Sampling = { [K in keyof typeof samplingFields]: z.output<(typeof samplingFields)[K]> };

/** The sampler settings a request sets (absent fields stay absent, so a session keeps its own). */
export function samplerOf(b: Sampling): Partial<SamplerConfig> {
  // OpenAI's top_p 0 keeps only the most likely token, which is top_k 1 (the sampler's top_p must be > 0).
  const onlyBest = b.top_p === 0;
  const out: Partial<SamplerConfig> = {
    temperature: b.temperature,
    topP: onlyBest ? 1 : b.top_p,
    topK: onlyBest ? 1 : b.top_k,
    minP: b.min_p,
    seed: b.seed,
    presencePenalty: b.presence_penalty,
    frequencyPenalty: b.frequency_penalty,
    repetitionPenalty: b.repetition_penalty,
    penaltyLastN: b.penalty_last_n,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<SamplerConfig>;
}

const stop = opt(z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]).transform((s) => (typeof s === "string" ? [s] : s)));
const tokenCount = z.number().int().min(0).max(1_000_000);
const maxTokens = (fallback: number) => tokenCount.nullish().transform((v) => v ?? fallback);
/** Alternatives per token a request may ask log-probabilities for (OpenAI's range). */
const topLogprobs = opt(z.number().int().min(0).max(20));

export const createSessionBody = z.object({ n_ctx: opt(z.number().int().min(1)), ...samplingFields });

/** llama_tokenize's parse_special for a raw text prompt: special-token text ("<|im_end|>") becomes those tokens. Default false. */
const parseSpecial = opt(z.boolean()).describe("turn special-token text in the prompt (<|im_end|>, <s>) into those control tokens; default false: literal text");

export const generateBody = z.object({
  text: opt(z.string()),
  /** Token ids appended exactly as given (no BOS), instead of text. */
  tokens: opt(z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).min(1)),
  parse_special: parseSpecial,
  max_tokens: maxTokens(64),
  stop,
  stream: opt(z.boolean()),
  logprobs: topLogprobs,
  ...samplingFields,
  ...grammarFields,
})
  .refine((b) => b.text === undefined || b.tokens === undefined, { message: "give text or tokens, not both", path: ["tokens"] })
  .superRefine(structuredRules);

export const rewindBody = z.object({ tokens: z.number().int().min(0) });

export const sessionIdField = opt(z.string());

/** Why a prompt is none of OpenAI's four single-prompt forms; a bad token id is named by its index. */
function promptError(input: unknown): string {
  if (!Array.isArray(input)) return "expected a string, an array of one string, an array of token ids or an array of one array of token ids";
  if (input.length === 0) return "expected a prompt, got an empty array";
  const nested = input.every((p) => typeof p === "string" || Array.isArray(p));
  if (nested && input.length > 1) return `one prompt per request, got ${input.length} (batches are not supported)`;
  const ids: unknown[] = nested && Array.isArray(input[0]) ? input[0] : input;
  if (ids.length === 0) return "a token prompt needs at least one token id";
  // Safe integers: what z.number().int() accepts.
  const bad = ids.findIndex((t) => !Number.isSafeInteger(t) || (t as number) < 0);
  return `token ids are integers >= 0; index ${bad} is ${JSON.stringify(ids[bad])}`;
}

// Checks abort so that a failing form never stands in for the union: every refusal gets promptError's message.
const tokenIds = z.array(z.number().int({ abort: true }).min(0, { abort: true })).min(1, { abort: true });
/** A string (or one in an array), or token ids (or one array of them) taken as they are: no BOS is added. */
const completionPrompt = z
  .union([z.string(), z.array(z.string()).length(1, { abort: true }), tokenIds, z.array(tokenIds).length(1, { abort: true })], {
    error: (issue) => (issue.code === "invalid_union" ? promptError(issue.input) : undefined),
  })
  .transform((p): string | number[] => (typeof p === "string" ? p : typeof p[0] === "number" ? (p as number[]) : (p[0] as string | number[])))
  .describe("A string (or an array of one), or token ids (or an array of one array of them): ids are appended as given, no BOS is added.");

/** Cross-field rules of both OpenAI bodies. */
function openAiRules(b: { stream?: boolean; stream_options?: unknown; n?: number; session_id?: string }, ctx: z.RefinementCtx) {
  if (b.stream_options !== undefined && b.stream !== true) ctx.addIssue({ code: "custom", path: ["stream_options"], message: "stream_options is only allowed with stream: true" });
  if ((b.n ?? 1) > 1 && b.session_id !== undefined) ctx.addIssue({ code: "custom", path: ["n"], message: "n > 1 is not supported with session_id (a session keeps one continuation)" });
}

export const completionBody = z
  .object({
    model: opt(z.string()),
    prompt: completionPrompt,
    parse_special: parseSpecial,
    // Absent: 16 (OpenAI's default), and the completion may end early on a full context; given: it must fit (else 400 context_length_exceeded).
    max_tokens: opt(tokenCount),
    stream: opt(z.boolean()),
    logprobs: topLogprobs,
    session_id: sessionIdField,
    ...samplingFields,
    ...openAiFields,
    ...completionOnlyFields,
    response_format: responseFormat,
    ...grammarFields,
  })
  .strict()
  .superRefine((b, ctx) => {
    openAiRules(b, ctx);
    structuredRules(b, ctx);
    const n = b.n ?? 1;
    if (b.best_of !== undefined && b.best_of < n) ctx.addIssue({ code: "custom", path: ["best_of"], message: `best_of must be at least n (${n})` });
    if (b.best_of !== undefined && b.best_of > n && b.stream) ctx.addIssue({ code: "custom", path: ["best_of"], message: "best_of > n is not supported with stream (the choices are ranked once all are done)" });
    if (b.best_of !== undefined && b.best_of > 1 && b.session_id !== undefined) ctx.addIssue({ code: "custom", path: ["best_of"], message: "best_of > 1 is not supported with session_id (a session keeps one continuation)" });
    // Prompt tokens' log-probabilities would need the logits of every prompt position; the engine keeps the last row only.
    if (b.echo && b.logprobs !== undefined) ctx.addIssue({ code: "custom", path: ["echo"], message: "echo with logprobs is not supported (the prompt tokens' log-probabilities are not computed)" });
  });

export const chatBody = z
  .object({
    model: opt(z.string()),
    messages: z.array(chatMessage).min(1),
    // Absent: 128, and the reply may end early on a full context; given: it must fit (else 400 context_length_exceeded).
    max_tokens: opt(tokenCount),
    max_completion_tokens: opt(tokenCount),
    stream: opt(z.boolean()),
    session_id: sessionIdField,
    logprobs: opt(z.boolean()),
    top_logprobs: topLogprobs,
    ...samplingFields,
    ...openAiFields,
    ...chatOnlyFields,
    response_format: responseFormat,
    ...grammarFields,
  })
  .strict()
  .superRefine((b, ctx) => {
    openAiRules(b, ctx);
    structuredRules(b, ctx);
    if (b.top_logprobs !== undefined && b.logprobs !== true) ctx.addIssue({ code: "custom", path: ["top_logprobs"], message: "top_logprobs needs logprobs: true" });
    if (b.max_tokens !== undefined && b.max_completion_tokens !== undefined && b.max_tokens !== b.max_completion_tokens) {
      ctx.addIssue({ code: "custom", path: ["max_completion_tokens"], message: `max_completion_tokens (${b.max_completion_tokens}) and max_tokens (${b.max_tokens}) differ; give one` });
    }
    toolRules(b, ctx);
    // A forced tool call is itself a grammar: it cannot also follow a response_format, grammar or json_schema.
    const forced = b.tool_choice !== undefined && b.tool_choice !== "none" && b.tool_choice !== "auto";
    const other = b.response_format !== undefined && b.response_format.type !== "text" ? "response_format" : b.grammar !== undefined ? "grammar" : b.json_schema !== undefined ? "json_schema" : null;
    if (forced && other) ctx.addIssue({ code: "custom", path: ["tool_choice"], message: `tool_choice ${typeof b.tool_choice === "string" ? JSON.stringify(b.tool_choice) : "naming a function"} and ${other} both constrain the output; give one` });
  });
