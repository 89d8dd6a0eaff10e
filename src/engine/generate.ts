// generate: the decode loop as an async iterator of tokens and text, with streaming-safe stop strings, EOS, limits and abort.
import type { BestLogit } from "../shard/greedy";
import type { LlamaContext } from "./context";
import type { Sampler } from "./sampler";
import { StopMatcher } from "./stop-strings";

export interface GenerateOptions {
  /** Tokens to add to the sequence before decoding (the prompt, or a new turn). Penalties see them. */
  readonly input?: readonly number[];
  /** Upper bound on new tokens for this call. */
  readonly maxTokens: number;
  /** Stop strings: generation ends before the first occurrence of any; text that could still become one is held back. */
  readonly stop?: readonly string[];
  /** Aborting ends the generation after the current token; what was generated is kept in the context. */
  readonly signal?: AbortSignal;
  /** Include log-probabilities of the chosen token and the top N alternatives (0 = off). */
  readonly topLogprobs?: number;
}

/** Why a generation ended: a stop string, the token limit, end-of-sequence, an abort, or a full context. */
export type FinishReason = "stop" | "length" | "eos" | "abort" | "context_full";

export interface GenerateStep {
  /** The sampled token, or null for held-back text released when the generation ends. */
  readonly token: number | null;
  /** Text that became safe to emit with this token (may be empty while a multi-byte character or a stop string is pending). */
  readonly text: string;
  readonly logprob?: number;
  readonly topLogprobs?: readonly { token: number; logprob: number }[];
}

export interface GenerateResult {
  readonly tokens: number[];
  readonly text: string;
  readonly finishReason: FinishReason;
  /** Time spent evaluating the input batch before the first sampled token, and decoding after it. */
  readonly timings: { readonly prefillMs: number; readonly prefillTokens: number; readonly decodeMs: number; readonly decodeTokens: number };
}

const now = () => performance.now();

/**
 * A context whose steps can bring back the greedy pick alone (LlamaContext; optional for any other context typed as
 * one, e.g. a sharded pipeline's): argmaxOn is set per generation by useArgmaxLogits (src/shard/greedy.ts).
 */
interface GreedyPicks {
  readonly argmaxOn: boolean;
  nextPickAsync(): Promise<BestLogit>;
}

/** The context's greedy picks when this generation may use them: switched on, and the sampler needs nothing else. */
function greedyPicks(ctx: LlamaContext, sampler: Sampler, topLogprobs: number): GreedyPicks | null {
  const c = ctx as unknown as Partial<GreedyPicks>;
  if (c.argmaxOn !== true || typeof c.nextPickAsync !== "function" || topLogprobs > 0 || !sampler.argmaxSuffices) return null;
  return c as GreedyPicks;
}

/**
 * Samples up to maxTokens tokens. Each sampled token joins the context as a pending token (evaluated at the
 * start of the next step or the next call), so a generation split across calls continues exactly where it stopped.
 */
export async function* generate(ctx: LlamaContext, sampler: Sampler, options: GenerateOptions): AsyncGenerator<GenerateStep, GenerateResult> {
  const { maxTokens } = options;
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new RangeError(`maxTokens must be a non-negative integer, got ${maxTokens}`);
  const tokenizer = ctx.model.tokenizer;
  const stop = new StopMatcher(options.stop ?? []);
  const decoder = tokenizer.createStreamDecoder();
  const input = options.input ?? [];
  const constraint = sampler.constraint;
  const picks = greedyPicks(ctx, sampler, options.topLogprobs ?? 0);
  ctx.append(input);
  for (const t of input) sampler.accept(t);

  const tokens: number[] = [];
  let text = "";
  let finishReason: FinishReason = "length";
  const prefillTokens = ctx.pending.length;
  let prefillMs = 0;
  let decodeMs = 0;

  while (true) {
    if (tokens.length >= maxTokens) break;
    if (options.signal?.aborted) {
      finishReason = "abort";
      break;
    }
    if (ctx.length >= ctx.nCtx) {
      finishReason = "context_full";
      break;
    }
    const t0 = now();
    // Synchronous backends return at once; device backends (webgpu) read their logits back asynchronously.
    // Greedy picks: the backend finds the argmax where the row lies; no row comes out and no JS pass runs over it.
    const step = picks
      ? { token: sampler.samplePick((await picks.nextPickAsync()).token) }
      : options.topLogprobs
        ? sampler.sampleWithLogprobs(await ctx.nextLogitsAsync(), options.topLogprobs)
        : { token: sampler.sample(await ctx.nextLogitsAsync()) };
    if (tokens.length === 0) prefillMs = now() - t0;
    else decodeMs += now() - t0;
    const token = step.token;
    tokens.push(token);
    ctx.append([token]);
    // A constraint (grammar) follows each sampled token; its mask allowed EOG only where the grammar is complete.
    constraint?.accept(token);
    if (tokenizer.isEog(token)) {
      finishReason = "eos";
      break;
    }
    const out = stop.push(decoder.push(token));
    text += out.emit;
    yield { token, text: out.emit, ...("logprob" in step ? { logprob: step.logprob, topLogprobs: step.top } : {}) };
    if (out.stopped) {
      finishReason = "stop";
      break;
    }
    // The grammar admits nothing more: the end of generation, as if the model had sampled EOG.
    if (constraint?.isDone()) {
      finishReason = "eos";
      break;
    }
    // Let other work (an abort, a client disconnect) run between tokens.
    await Promise.resolve();
  }

  if (finishReason !== "stop") {
    const tail = stop.push(decoder.flush());
    const rest = tail.stopped ? tail.emit : tail.emit + stop.flush();
    // A stop string nested in a longer one may only be decided by the final flush.
    if (stop.stopped) finishReason = "stop";
    if (rest) {
      text += rest;
      yield { token: null, text: rest };
    }
  }
  return { tokens, text, finishReason, timings: { prefillMs, prefillTokens, decodeMs, decodeTokens: Math.max(0, tokens.length - 1) } };
}
