// A request's generation in a live session: its input, sampling changes, prompt-cache prefix, choices and the event stream wired to the session's commits.
import type { FinishReason, GenerateStep } from "../engine/generate";
import { numberVar, type Env } from "../env";
import type { GenerateRequest, GenerateStart } from "../protocol/generate";
import { ok, type Result } from "../protocol/result";
import { cachedPrefix, thenRun } from "../cache/session-prefix";
import { pipelineMeter } from "../shard/session-shards";
import { requestChoices } from "./choices";
import { andThen, finallyDo } from "./commit";
import { generationStream } from "./event-stream";
import type { Live } from "./live-state";
import { stepLogprobs } from "./logprobs";
import { requestInput } from "./request-input";
import { resumeSampler } from "./sampling";

/** What the generation needs of the session object that owns the live state. */
export interface GenerationOwner {
  readonly env: Env;
  /** False once the session was deleted after the generation started: nothing may be written then. */
  current(): boolean;
  /** Commits the live state (finish null: a checkpoint mid-generation). */
  persist(finish: FinishReason | null): void | Promise<void>;
  /** Tells the model's cache object the session's stored bytes (after the last commit). */
  report(): void;
  /** The context cannot be trusted after the run (a step or the final write failed): the session drops it. */
  dropAfterRun(): void;
  /** The run is over: the session gives back its slot and lock. */
  finish(): void;
}

/**
 * Prepares the request on `live` and returns its event stream. Refusals (bad input, a prompt over the context) come
 * back as a Result before any event. `freshContext`: the live context was made for this request (its shard counters
 * then all belong to it).
 */
export async function startGeneration(live: Live, req: GenerateRequest, abort: AbortController, owner: GenerationOwner, freshContext: boolean): Promise<Result<GenerateStart>> {
  const { llm, model } = live;
  const env = owner.env;
  // A sharded model's catch-ups and shard loads during this request (counted from here, so a restore's trim is in it).
  const shards = pipelineMeter(llm, freshContext);
  const prepared = requestInput(model, llm, req);
  if (!prepared.ok) return prepared;
  const { input, stop } = prepared.value;
  if (req.sampler && Object.keys(req.sampler).length > 0 && !live.ephemeral) {
    live.sampler = resumeSampler(live.sampler.state(), llm.tokens, req.sampler);
    live.state = { ...live.state, settings: { ...live.state.settings, sampler: live.sampler.config } };
  }
  // A fresh context restores the prompt's cached prefix (docs/prompt-cache.md); choice 0 publishes the blocks it computed.
  const prefix = await cachedPrefix(env, model, llm, live.sampler, input);
  const budget = new AbortController();
  const all = requestChoices(live, req, prefix.input, stop, AbortSignal.any([abort.signal, budget.signal]));
  const choices = { ...all, start: (i: number) => (i === 0 ? thenRun(all.start(0), prefix.publish) : all.start(i)) };
  const events = generationStream(choices, {
    abort,
    budget: { ms: numberVar(env, "REQUEST_BUDGET_MS", 20_000), abort: budget },
    ...(req.logprobs === undefined ? {} : { logprobs: (step: GenerateStep) => stepLogprobs(model.tokenizer, step, req.logprobs!) }),
    inputTokens: input.length,
    cachedTokens: prefix.cached,
    checkpointEvery: numberVar(env, "PERSIST_EVERY", 32),
    checkpoint: () => (owner.current() ? owner.persist(null) : undefined),
    end: (finish) =>
      finallyDo(
        // A failed step may have lost pending tokens: drop the context, the next request restores the last stored state.
        () => (finish === null ? owner.dropAfterRun() : owner.current() && !live.ephemeral ? andThen(owner.persist(finish), () => owner.report()) : undefined),
        (failed) => {
          // The final write failed (rolled back): the context is ahead of storage, so it goes too; the run still ends.
          if (failed) owner.dropAfterRun();
          owner.finish();
        },
      ),
    sessionTokens: () => ({ length: live.llm.length, nCtx: live.llm.nCtx }),
    ...(shards && { shards }),
  });
  return ok({ events, inputTokens: input.length, ...(req.echo ? { inputText: model.tokenizer.decode(input) } : {}) });
}
