// Request schemas (zod): sampling parameters shared by every endpoint, then each endpoint's body.
import { z } from "zod";
import type { SamplerConfig } from "../engine/sampler";

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

export const generateBody = z.object({
  text: opt(z.string()),
  max_tokens: maxTokens(64),
  stop,
  stream: opt(z.boolean()),
  logprobs: topLogprobs,
  ...samplingFields,
});

export const rewindBody = z.object({ tokens: z.number().int().min(0) });

export const sessionIdField = opt(z.string());

export const completionBody = z.object({
  model: opt(z.string()),
  prompt: z.union([z.string(), z.array(z.string()).length(1)]).transform((p) => (typeof p === "string" ? p : p[0]!)),
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
