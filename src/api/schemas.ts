// Request schemas (zod): sampling parameters shared by every endpoint, then each endpoint's body.
import { z } from "zod";
import type { SamplerConfig } from "../protocol";

// OpenAI clients send null for "not set"; treat it as absent.
const opt = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);

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
  const out: Partial<SamplerConfig> = {
    temperature: b.temperature,
    topP: b.top_p,
    topK: b.top_k,
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
}).refine((b) => b.text === undefined || b.tokens === undefined, { message: "give text or tokens, not both", path: ["tokens"] });

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

export const completionBody = z.object({
  model: opt(z.string()),
  prompt: completionPrompt,
  parse_special: parseSpecial,
  // Absent: 16 (OpenAI's default), and the completion may end early on a full context; given: it must fit (else 413).
  max_tokens: opt(tokenCount),
  stop,
  stream: opt(z.boolean()),
  logprobs: topLogprobs,
  n: opt(z.literal(1)),
  session_id: sessionIdField,
  ...samplingFields,
});

export const chatBody = z.object({
  model: opt(z.string()),
  messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })).min(1),
  // Absent: 128, and the reply may end early on a full context; given: it must fit (else 413).
  max_tokens: opt(tokenCount),
  max_completion_tokens: opt(tokenCount),
  stop,
  stream: opt(z.boolean()),
  n: opt(z.literal(1)),
  session_id: sessionIdField,
  logprobs: opt(z.boolean()),
  top_logprobs: topLogprobs,
  ...samplingFields,
}).refine((b) => b.top_logprobs === undefined || b.logprobs === true, { message: "top_logprobs needs logprobs: true", path: ["top_logprobs"] });
