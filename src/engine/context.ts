// LlamaContext: one sequence's state on top of a shared model: its KV cache, its token log and its run buffers.
import type { KvCache } from "../backends/backend";
import type { KvType } from "../backends/kv-format";
import { EngineError } from "./errors";
import { createRunBuffers, forwardBatch, forwardBatchAsync, NO_LOGITS, recordForward, type RunBuffers } from "./forward";
import { backendBest, bestOf, type BestLogit } from "../shard/greedy";
import type { LlamaModel } from "./model";
import { TokenLog } from "./token-log";

/** A forward pass that reads nothing out (nextPick finds the pick where the logits lie). */
const recordOnly: typeof forwardBatch = (backend, c, w, s, cache, tokens, pos0, allLogits, head) => {
  recordForward(backend, c, w, s, cache, tokens, pos0, allLogits, head);
  return NO_LOGITS;
};

export interface ContextOptions {
  /** Context length in tokens (default: the model's training context, capped at 2048). */
  nCtx?: number;
  /** Tokens per forward pass during prefill (default 32): weights are read once per batch instead of once per token. */
  maxBatch?: number;
  /** How the KV cache stores K and V: f32 (default), f16 or q8_0 (llama.cpp's --cache-type-k/v; see docs/models.md). */
  kvType?: KvType;
}

export class LlamaContext extends TokenLog {
  readonly cache: KvCache;
  private readonly buffers: RunBuffers;

  constructor(
    readonly model: LlamaModel,
    options: ContextOptions = {},
  ) {
    const c = model.config;
    const nCtx = options.nCtx ?? Math.min(c.nCtxTrain, 2048);
    if (!Number.isInteger(nCtx) || nCtx < 1) throw new EngineError(`nCtx must be a positive integer, got ${nCtx}`, "invalid_parameter");
    const maxBatch = options.maxBatch ?? 32;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new EngineError(`maxBatch must be a positive integer, got ${maxBatch}`, "invalid_parameter");
    super(nCtx, c.vocabSize);
    const kvType = options.kvType ?? "f32";
    const layout = { nLayers: c.nLayers, nCtx, nKvHeads: c.nKvHeads, headDim: c.headDim, type: kvType };
    if (kvType === "q8_0" && c.headDim % 32 !== 0) throw new EngineError(`a q8_0 KV cache needs a head dimension divisible by 32; this model's is ${c.headDim}`, "invalid_parameter");
    this.cache = model.backend.createKvCache(layout);
    // Logits for one row: every pass but an allLogits one wants only the last token's (that one grows the buffer).
    this.buffers = createRunBuffers(model.backend, c, maxBatch, undefined, 1);
  }

  /**
   * Logits for the next token: evaluates the pending tokens (a batched prefill) and returns the last row.
   * With nothing pending, the last token is evaluated again (its cache row is simply rewritten).
   */
  nextLogits(): Float32Array {
    this.requeueLastIfIdle();
    // The pending tokens leave the queue only once evaluated: a failed forward pass (out of memory, a backend
    // error) keeps the sequence as it was, so a retry or a persisted checkpoint still sees every token.
    const logits = this.run(this.pendingTokens, false);
    this.pendingTokens.length = 0;
    return logits;
  }

  /**
   * Evaluates tokens right away at the next positions (batches of maxBatch) and returns the logits after the last,
   * or after each of them when `allLogits` ([tokens.length × vocab]). Pending tokens must be evaluated first.
   */
  evaluate(tokens: readonly number[], options: { allLogits?: boolean } = {}): Float32Array {
    if (this.pendingTokens.length > 0) throw new EngineError("pending tokens must be evaluated first (nextLogits)", "invalid_state");
    return this.run(tokens, options.allLogits === true);
  }

  /** The forward passes over `tokens`; on failure the log is rolled back to where it was (cache rows past it are overwritten later). */
  private run(tokens: readonly number[], all: boolean, pass: typeof forwardBatch = forwardBatch): Float32Array {
    const start = this.begin(tokens);
    try {
      const { backend, config, weights } = this.model;
      if (!all && tokens.length <= this.buffers.maxBatch) {
        // One pass (every decode step): what batches() would yield once, without its generator and slice.
        const logits = pass(backend, config, weights, this.buffers, this.cache, tokens, start, false, true);
        for (let i = 0; i < tokens.length; i++) this.log.push(tokens[i]!);
        return logits;
      }
      const passes = this.batches(tokens, all);
      let step = passes.next();
      while (!step.done) step = passes.next(pass(backend, config, weights, this.buffers, this.cache, step.value.tokens, this.log.length, all, step.value.head));
      return step.value;
    } catch (e) {
      this.log.length = start;
      throw e;
    }
  }

  /** Checks tokens about to be evaluated; returns the log length to roll back to if the passes fail. */
  private begin(tokens: readonly number[]): number {
    if (tokens.length === 0) throw new EngineError("evaluate needs at least one token", "invalid_parameter");
    this.checkTokens(tokens, this.log.length);
    return this.log.length;
  }

  /**
   * The batches of `tokens` (maxBatch each, at the next positions): yields a batch and whether it needs the head (the
   * last batch, or every one when `all`: the others only fill the cache), is resumed with its logits, logs its
   * tokens, and returns the last token's logits or every token's; one loop for the sync and async passes.
   */
  private *batches(tokens: readonly number[], all: boolean): Generator<{ tokens: readonly number[]; head: boolean }, Float32Array, Float32Array> {
    const vocab = this.model.config.vocabSize;
    const out = all ? new Float32Array(tokens.length * vocab) : null;
    let last: Float32Array = new Float32Array(0);
    for (let i = 0; i < tokens.length; i += this.buffers.maxBatch) {
      const batch = tokens.slice(i, i + this.buffers.maxBatch);
      last = yield { tokens: batch, head: all || i + this.buffers.maxBatch >= tokens.length };
      for (const t of batch) this.log.push(t);
      if (out) out.set(last, i * vocab);
    }
    return out ?? last;
  }

  /** Set before each generation (useArgmaxLogits, src/shard/greedy.ts): the sampler needs only each row's argmax. */
  private argmax = false;

  /** Called by useArgmaxLogits: whether generate() takes greedy picks (nextPickAsync) instead of whole rows. */
  argmaxLogits(on: boolean): void {
    this.argmax = on;
  }

  /** Whether the current generation's steps may bring back the greedy pick alone (see argmaxLogits). */
  get argmaxOn(): boolean {
    return this.argmax;
  }

  /**
   * nextLogits, but only the sampler's greedy pick of the last row comes back (token -1 when no logit is finite):
   * the backend finds it where the row lies (Backend.argmax: the wasm kernel), so no row is copied out and no JS loop
   * runs over the vocabulary; a backend without it reads the row and picks in TS. Same passes, log and rollback.
   */
  nextPick(): BestLogit {
    this.requeueLastIfIdle();
    const tokens = this.pendingTokens;
    const start = this.log.length;
    this.run(tokens, false, recordOnly);
    try {
      const best = backendBest(this.model.backend, this.buffers.logits, this.model.config.vocabSize, 0);
      tokens.length = 0;
      return best;
    } catch (e) {
      this.log.length = start;
      throw e;
    }
  }

  /** nextPick for every backend: one that reads back asynchronously (webgpu) reads the row and picks in TS. */
  async nextPickAsync(): Promise<BestLogit> {
    return this.model.backend.readAsync ? bestOf(await this.nextLogitsAsync(), 0) : this.nextPick();
  }

  /**
   * nextLogits for every backend, including those that read results back asynchronously (webgpu); on the others it
   * is nextLogits itself. generate() calls this one.
   */
  async nextLogitsAsync(): Promise<Float32Array> {
    if (!this.model.backend.readAsync) return this.nextLogits();
    this.requeueLastIfIdle();
    const logits = await this.runAsync(this.pendingTokens, false);
    this.pendingTokens.length = 0;
    return logits;
  }

  /** evaluate() for every backend, including asynchronous ones. */
  async evaluateAsync(tokens: readonly number[], options: { allLogits?: boolean } = {}): Promise<Float32Array> {
    if (!this.model.backend.readAsync) return this.evaluate(tokens, options);
    if (this.pendingTokens.length > 0) throw new EngineError("pending tokens must be evaluated first (nextLogits)", "invalid_state");
    return this.runAsync(tokens, options.allLogits === true);
  }

  /** run() with asynchronous readback: the same batches and the same rollback of the log on failure. */
  private async runAsync(tokens: readonly number[], all: boolean): Promise<Float32Array> {
    const start = this.begin(tokens);
    try {
      const passes = this.batches(tokens, all);
      let step = passes.next();
      while (!step.done) step = passes.next(await this.forwardBatchRecovering(step.value.tokens, all, step.value.head));
      return step.value;
    } catch (e) {
      this.log.length = start;
      throw e;
    }
  }

  /** KV contents are valid for this backend generation (a failover to another device empties every cache). */
  private cacheGeneration = 0;

  /**
   * One batch; when the backend recovers from an error (a lost GPU device: it moved to wasm) or has moved since this
   * cache was filled, the cache is rebuilt from the token log and the batch retried, so the generation continues.
   */
  private async forwardBatchRecovering(batch: readonly number[], all: boolean, head: boolean): Promise<Float32Array> {
    const { backend, config, weights } = this.model;
    for (;;) {
      try {
        const generation = backend.generation ?? 0;
        if (generation !== this.cacheGeneration) {
          for (let i = 0; i < this.log.length; i += this.buffers.maxBatch) {
            await forwardBatchAsync(backend, config, weights, this.buffers, this.cache, this.log.slice(i, i + this.buffers.maxBatch), i, false, false);
          }
          this.cacheGeneration = generation;
        }
        return await forwardBatchAsync(backend, config, weights, this.buffers, this.cache, batch, this.log.length, all, head);
      } catch (e) {
        if (!backend.recover || !(await backend.recover(e))) throw e;
      }
    }
  }

  /** Keeps the first n tokens of the sequence and forgets the rest (cache rows past n are overwritten later). */
  truncate(n: number): void {
    this.truncateLog(n);
  }

  /**
   * Restores a sequence from persisted state: K/V rows for the first `evaluated` tokens, as the stored bytes of
   * Backend.readKvBytes (what KV pages hold) or as floats ([layer][k|v][pos][kvDim], Backend.readKv), the rest of
   * `tokens` pending.
   */
  restore(tokens: readonly number[], evaluated: number, kv: Uint8Array | Float32Array): void {
    this.restoreLog(tokens, evaluated, () => {
      if (evaluated === 0) return;
      if (kv instanceof Uint8Array) this.model.backend.writeKvBytes(this.cache, 0, evaluated, kv);
      else this.model.backend.writeKv(this.cache, 0, evaluated, kv);
    });
  }

  /** Releases the KV cache and buffers held by the backend. */
  dispose(): void {
    const b = this.model.backend;
    b.release(this.cache);
    for (const buf of Object.values(this.buffers)) if (typeof buf !== "number") b.release(buf);
  }
}
