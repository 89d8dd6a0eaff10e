// PipelineContext: a session's sequence whose forward passes run through the shards of a plan (the KV cache lives in the shards).
import type { LlamaContext } from "../engine/context";
import { EngineError } from "../engine/errors";
import type { LlamaModel } from "../engine/model";
import { TokenLog } from "../engine/token-log";
import type { ShardPlan } from "./plan";
import { newNextEmbedding, pipelineStep, type ShardCaller } from "./pipeline";
import { pickOfGreedyRow, type ArgmaxLogits, type BestLogit } from "./greedy";
import { CatchUpLog, isShardBehind, MAX_CATCH_UPS } from "./catch-up";
import { newPipelineStats, type PipelineStats } from "./pipeline-stats";

/** Shard-side housekeeping the context asks for (trim to a length, flush before a commit); the Worker implements it by RPC. */
export interface ShardHousekeeping {
  /** Every shard drops this session's positions at and past `n` (memory and pages). */
  trim(n: number): Promise<void>;
  /** Every layer shard makes the session's first `n` positions durable in its pages (in parallel); fails when one holds fewer. */
  flush(n: number): Promise<void>;
  /** Every layer shard takes the session's cache out of memory (a throwaway generation ended; it has no pages). */
  release(): Promise<void>;
}

/**
 * The token log and pending tokens of LlamaContext (the same TokenLog), with the public surface the session and
 * generate() use; the forward pass is pipelineStep. Only the async entry points work (RPC is asynchronous).
 */
export class PipelineContext extends TokenLog implements ArgmaxLogits {
  /** A trim the shards have not confirmed yet; the next step waits for it, so no shard runs on stale positions. */
  private trimming: Promise<void> | null = null;
  /** Set when the session is deleted: no step may reach a shard after that. */
  private closed = false;
  /** A step was sent: the shards may hold a cache of this sequence. */
  private stepped = false;
  /** The generation samples greedily from the raw row: decode steps bring back only the best logit (greedy.ts). */
  private argmax = false;
  /**
   * The row nextLogitsAsync returns, reused by the next step (generate() samples from it before the next step and
   * keeps nothing): a fresh 513 KB row per token costs more in page faults than the sampler's pass over it.
   */
  private row: Float32Array | undefined;
  /** The last greedy pick's embedding row (tied models): the next decode step feeding that token skips the embedding shards. */
  private readonly next = newNextEmbedding();
  /** The batches since every shard last held the sequence durably: a shard that lost them is caught up (catch-up.ts). */
  private readonly ran = new CatchUpLog();

  constructor(
    readonly model: LlamaModel,
    nCtx: number,
    private readonly plan: ShardPlan,
    private readonly call: ShardCaller,
    private readonly shards: ShardHousekeeping,
    readonly maxBatch = 32,
    /** Catch-ups counted here; the caller counts the shard loads its calls report into the same object. */
    readonly stats: PipelineStats = newPipelineStats(),
  ) {
    super(nCtx, model.config.vocabSize);
  }

  /** The session code is typed against LlamaContext; this object offers every member it uses (see the class comment). */
  asContext(): LlamaContext {
    return this as unknown as LlamaContext;
  }

  /** Set by the session before each generation (useArgmaxLogits): true only when the sampler needs nothing but the argmax. */
  argmaxLogits(on: boolean): void {
    this.argmax = on;
  }

  /** Whether the current generation's steps may bring back the greedy pick alone (see argmaxLogits). */
  get argmaxOn(): boolean {
    return this.argmax;
  }

  /** As LlamaContext.nextPickAsync: the step's greedy pick (token -1 when no logit is finite), no row for the sampler to scan. */
  async nextPickAsync(): Promise<BestLogit> {
    if (!this.argmax) throw new EngineError("greedy picks are off for this generation (argmaxLogits)", "invalid_state");
    return pickOfGreedyRow(await this.nextLogitsAsync());
  }

  nextLogits(): Float32Array {
    throw new EngineError("a sharded model runs asynchronously: use nextLogitsAsync", "invalid_state");
  }

  evaluate(): Float32Array {
    throw new EngineError("a sharded model runs asynchronously: use evaluateAsync", "invalid_state");
  }

  /** As LlamaContext.nextLogitsAsync: evaluates the pending tokens (or the last token again) and returns the last logits. */
  async nextLogitsAsync(): Promise<Float32Array> {
    this.requeueLastIfIdle();
    const logits = await this.run(this.pendingTokens, this.argmax ? "best" : "last", true);
    this.pendingTokens.length = 0;
    return logits;
  }

  async evaluateAsync(tokens: readonly number[], options: { allLogits?: boolean } = {}): Promise<Float32Array> {
    if (this.pendingTokens.length > 0) throw new EngineError("pending tokens must be evaluated first (nextLogits)", "invalid_state");
    return this.run(tokens, options.allLogits === true ? "all" : "last");
  }

  /** Batches of maxBatch through the pipeline; the log grows per batch and rolls back if a batch fails. */
  private async run(tokens: readonly number[], want: "all" | "last" | "best", reuse = false): Promise<Float32Array> {
    const all = want === "all";
    if (tokens.length === 0) throw new EngineError("evaluate needs at least one token", "invalid_parameter");
    this.checkTokens(tokens, this.log.length);
    const start = this.log.length;
    const vocab = this.model.config.vocabSize;
    const out = all ? new Float32Array(tokens.length * vocab) : null;
    let last: Float32Array = new Float32Array(0);
    try {
      await this.settle();
      for (let i = 0; i < tokens.length; i += this.maxBatch) {
        if (this.closed) throw new EngineError("the session was deleted", "invalid_state");
        const batch = tokens.slice(i, i + this.maxBatch);
        this.stepped = true;
        // Only the last batch's logits are returned: earlier prefill batches skip the classifier slices.
        const final = i + this.maxBatch >= tokens.length;
        if (reuse) this.row ??= new Float32Array(vocab);
        const pos0 = this.log.length;
        last = await this.caughtUp(pos0, () => pipelineStep(this.plan, this.model.config, this.call, batch, pos0, all || final ? want : "none", reuse ? this.row : undefined, this.next));
        this.ran.record(pos0, batch);
        this.log.push(...batch);
        if (out) out.set(last, i * vocab);
      }
    } catch (e) {
      this.log.length = start;
      throw e;
    }
    return out ?? last;
  }

  /** Waits for a trim in flight (rewind, restore); a failed trim fails the step that waits for it. */
  async settle(): Promise<void> {
    const t = this.trimming;
    if (!t) return;
    try {
      await t;
    } finally {
      if (this.trimming === t) this.trimming = null;
    }
  }

  /**
   * Before the session commits an evaluated count of n: every shard writes its pages up to n (after any trim in flight),
   * so the committed state is never ahead of what a restarted shard can restore.
   */
  async flush(n: number): Promise<void> {
    await this.settle();
    await this.caughtUp(n, () => this.shards.flush(n));
    if (n === this.log.length) this.ran.reset(n);
  }

  /**
   * Runs a step at `pos0` (or a flush up to it); when a shard refuses it because it lost positions since the last
   * flush (its object was evicted or restarted mid-request: Durable Objects may be, at any time), the batches since
   * then run again through the pipeline, logits unused, and the step is tried again. Exact, because those are the
   * same positions in the same batches; a shard that cannot be caught up fails the request with shard_behind.
   */
  private async caughtUp<T>(pos0: number, attempt: () => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (e) {
        const again = isShardBehind(e) && tries < MAX_CATCH_UPS && !this.closed ? this.ran.plan(pos0) : null;
        if (!again) throw e;
        this.stats.catchUps++;
        try {
          for (const b of again) {
            await pipelineStep(this.plan, this.model.config, this.call, b.tokens, b.pos0, "none");
            this.stats.replayedTokens += b.tokens.length;
          }
        } catch (replayed) {
          if (!isShardBehind(replayed) || tries + 1 >= MAX_CATCH_UPS) throw replayed;
        }
      }
    }
  }

  truncate(n: number): void {
    if (this.truncateLog(n)) {
      this.ran.truncate(n);
      this.startTrim(n);
    }
  }

  /** The session's committed state: `evaluated` positions are in the shards; shards drop anything past it (the commit point). */
  restore(tokens: readonly number[], evaluated: number): void {
    this.restoreLog(tokens, evaluated);
    // Every shard holds the commit in its pages; the trim drops anything past it.
    this.ran.reset(evaluated);
    this.startTrim(evaluated);
  }

  private startTrim(n: number): void {
    const before = this.trimming ?? Promise.resolve();
    const next = before.then(() => this.shards.trim(n));
    next.catch(() => {}); // reported to whoever settles
    this.trimming = next;
  }

  close(): void {
    this.closed = true;
  }

  /**
   * A throwaway generation ended (done, failed or cancelled): no further step, and the shards that may hold its cache
   * drop it now instead of when the least-recently-used rule gets to it. Nothing was stored, so nothing is written.
   */
  async release(): Promise<void> {
    this.closed = true;
    await this.settle().catch(() => {}); // a trim still in flight must not bring the cache back after the release
    if (this.stepped) await this.shards.release();
  }

  /** Nothing to free in this isolate: the KV caches live in the shards. */
  dispose(): void {}
}

/** Flushes the shards of a pipeline context up to n before its session commits; null for a single-object context (nothing to wait for). */
export function flushPipeline(llm: LlamaContext, n: number): Promise<void> | null {
  const ctx = llm as unknown;
  return ctx instanceof PipelineContext ? ctx.flush(n) : null;
}
