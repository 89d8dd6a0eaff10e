// A generation as a pull stream of newline-delimited JSON events: one token per read, so a reader that stops stops the model; n choices one after another.
import type { FinishReason, GenerateStep, generate } from "../engine/generate";
import { errorBody } from "../protocol/errors";
import type { GenerateEvent, ShardRequestStats, TokenLogprobs } from "../protocol/generate";
import type { PipelineStats } from "../shard/pipeline-stats";

const encoder = new TextEncoder();
/** Tokens between two turns of the event loop during a generation. */
const YIELD_EVERY = 16;
const line = (e: GenerateEvent) => encoder.encode(JSON.stringify(e) + "\n");

/** The choices of one request: `count` generations, the i-th started only when the one before it has ended. */
export interface Choices {
  readonly count: number;
  start(index: number): ReturnType<typeof generate>;
  /** Sum each choice's token log-probabilities onto its done event (the steps must carry logprob). */
  readonly sumLogprobs?: boolean;
}

export interface StreamHooks {
  /** Aborted by a client disconnect (or a delete): the generation ends with "abort". */
  readonly abort: AbortController;
  /**
   * The request's time budget: once `ms` have passed since the stream started (and at least one token came out),
   * `abort` stops the generation, which then ends with "length" and can be continued exactly by the next request.
   */
  readonly budget: { readonly ms: number; readonly abort: AbortController };
  /** Log-probabilities of a step, when the request asked for them. */
  logprobs?(step: GenerateStep): TokenLogprobs | undefined;
  readonly inputTokens: number;
  /** Of those, the prompt tokens restored from the prompt cache instead of prefilled. */
  readonly cachedTokens?: number;
  /** Tokens between two checkpoints. */
  readonly checkpointEvery: number;
  /**
   * Persist the state mid-generation (the context and sampler are consistent between two tokens). A promise (a sharded
   * model's shards flush first) is awaited before the next token; a plain return keeps the single-object path as it was.
   */
  checkpoint(): void | Promise<void>;
  /** The generation ended (finish reason), or failed (null): persist or drop, and free the session (awaited when a promise). */
  end(finish: FinishReason | null): void | Promise<void>;
  /** Session length and context after the generation. */
  sessionTokens(): { length: number; nCtx: number };
  /** A sharded model: the request's catch-ups and shard loads so far (on the last done event, or an error event). */
  shards?(): PipelineStats;
}

/** The request's shard counters as the last done event or an error event carries them (nothing for a single-object model). */
function shardsOf(hooks: StreamHooks): { shards?: ShardRequestStats } {
  const s = hooks.shards?.();
  return s ? { shards: { catchUps: s.catchUps, replayedTokens: s.replayedTokens, loads: s.shardLoads, loadMs: s.shardLoadMs } } : {};
}

export function generationStream(choices: Choices, hooks: StreamHooks): ReadableStream<Uint8Array> {
  let index = 0;
  let steps = choices.start(0);
  let logprobSum = 0;
  // Events name their choice only when there are several: a one-choice stream is what it always was.
  const tag = (i: number) => (choices.count > 1 ? { index: i } : {});
  let sinceCheckpoint = 0;
  let generated = 0;
  let closed = false;
  // Workers clocks advance only between I/O events (and at the yields below); the budget is checked before each token.
  const startedAt = Date.now();
  // A generation the budget stopped ended on a limit, like max_tokens: "length", not the client's "abort".
  const reason = (r: FinishReason): FinishReason => (r === "abort" && hooks.budget.abort.signal.aborted && !hooks.abort.signal.aborted ? "length" : r);
  const end = (finish: FinishReason | null): void | Promise<void> => {
    if (closed) return;
    closed = true;
    return hooks.end(finish);
  };
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        if (closed) return;
        try {
          // Now and then a macrotask: the object takes other requests meanwhile (a second generate gets its 409, a
          // delete is seen, the clock moves for the budget) instead of a reader that pulls without pause holding it for
          // the whole run. Not every token: a timer turn costs about a millisecond, ~10 tokens of the smallest model.
          if (generated > 0 && generated % YIELD_EVERY === 0) {
            await new Promise((r) => setTimeout(r, 0));
            if (closed) return; // cancelled meanwhile: cancel() already drained the generation
          }
          if (generated > 0 && Date.now() - startedAt >= hooks.budget.ms) hooks.budget.abort.abort();
          const step = await steps.next();
          if (!step.done) {
            const logprobs = hooks.logprobs?.(step.value);
            if (step.value.logprob !== undefined) logprobSum += step.value.logprob;
            controller.enqueue(line({ type: "token", ...tag(index), token: step.value.token, text: step.value.text, ...(logprobs ? { logprobs } : {}) }));
            if (step.value.token !== null) generated++;
            if (step.value.token !== null && ++sinceCheckpoint >= hooks.checkpointEvery) {
              const committing = hooks.checkpoint();
              if (committing) await committing;
              sinceCheckpoint = 0;
            }
            return;
          }
          const r = step.value;
          const finishReason = reason(r.finishReason);
          const last = index === choices.count - 1;
          // The done event goes out once the state is committed (a sharded model's shards flushed first).
          const ending = last ? end(finishReason) : undefined;
          if (ending) await ending;
          const { length, nCtx } = hooks.sessionTokens();
          controller.enqueue(
            line({
              type: "done",
              ...tag(index),
              ...(choices.sumLogprobs ? { logprob: logprobSum } : {}),
              finishReason,
              canContinue: finishReason === "length" && length < nCtx,
              tokens: r.tokens,
              text: r.text,
              inputTokens: hooks.inputTokens,
              cachedTokens: hooks.cachedTokens ?? 0,
              prefillTokens: r.timings.prefillTokens,
              sessionTokens: length,
              timings: { prefillMs: r.timings.prefillMs, decodeMs: r.timings.decodeMs },
              // Every choice's steps are the request's: the counts go on the last done event only (after its commit).
              ...(last ? shardsOf(hooks) : {}),
            }),
          );
          if (!last) {
            // The next choice starts from the prompt's KV state (start() cuts the sequence back).
            steps = choices.start(++index);
            logprobSum = 0;
            return;
          }
          controller.close();
        } catch (e) {
          await end(null);
          controller.enqueue(line({ type: "error", error: errorBody(e), ...shardsOf(hooks) }));
          controller.close();
        }
      },
      // The reader went away (a client disconnect): stop after the current token, keep and store what was generated.
      cancel: async () => {
        if (closed) return;
        hooks.abort.abort();
        try {
          let step = await steps.next();
          while (!step.done) step = await steps.next();
          await end(reason(step.value.finishReason));
        } catch {
          await end(null);
        }
      },
    },
    // No read-ahead: the next token is computed only when the reader asks for it.
    { highWaterMark: 0 },
  );
}
