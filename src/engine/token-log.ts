// TokenLog: a sequence's evaluated tokens and the pending ones after them, with the checks every context applies.
import { EngineError } from "./errors";

/**
 * The token bookkeeping a context shares whatever computes its forward passes (LlamaContext in this isolate,
 * PipelineContext through the shards): the log of evaluated tokens, the pending tokens after it, and their checks.
 */
export abstract class TokenLog {
  /** Tokens whose keys and values are in the cache, in order. */
  protected readonly log: number[] = [];
  /** Tokens in the sequence after `log` that are not evaluated yet. */
  protected readonly pendingTokens: number[] = [];

  protected constructor(
    readonly nCtx: number,
    private readonly vocabSize: number,
  ) {}

  /** Tokens whose K/V are in the cache (= the position of the next evaluated token). */
  get nEvaluated(): number {
    return this.log.length;
  }

  /** Every token of the sequence: evaluated ones, then pending ones. */
  get tokens(): readonly number[] {
    return this.pendingTokens.length === 0 ? this.log : [...this.log, ...this.pendingTokens];
  }

  /** Length of the whole sequence, pending tokens included. */
  get length(): number {
    return this.log.length + this.pendingTokens.length;
  }

  /** Tokens accepted into the sequence whose K/V are not computed yet (the next `nextLogits` evaluates them). */
  get pending(): readonly number[] {
    return this.pendingTokens;
  }

  /** Adds tokens to the sequence without evaluating them; checks ids and the context length first. */
  append(tokens: readonly number[]): void {
    this.checkTokens(tokens, this.length);
    for (const t of tokens) this.pendingTokens.push(t);
  }

  /** With nothing pending, the last evaluated token becomes pending again (nextLogits re-evaluates it). */
  protected requeueLastIfIdle(): void {
    if (this.pendingTokens.length === 0) {
      const last = this.log.pop();
      if (last === undefined) throw new EngineError("the sequence is empty: append a prompt first", "empty_sequence");
      this.pendingTokens.push(last);
    }
  }

  /** Keeps the first n tokens; true when evaluated ones were cut (their cache rows no longer belong to the sequence). */
  protected truncateLog(n: number): boolean {
    if (!Number.isInteger(n) || n < 0 || n > this.length) throw new EngineError(`cannot truncate to ${n}: the sequence holds ${this.length} tokens`, "invalid_parameter");
    if (n <= this.log.length) {
      this.log.length = n;
      this.pendingTokens.length = 0;
      return true;
    }
    this.pendingTokens.length = n - this.log.length;
    return false;
  }

  /**
   * Replaces the sequence with `tokens`, the first `evaluated` of them evaluated: the sequence is emptied, the tokens
   * checked, `fill` puts their K/V in place, then the log takes them (a failure on the way leaves an empty sequence).
   */
  protected restoreLog(tokens: readonly number[], evaluated: number, fill: () => void = () => {}): void {
    if (!Number.isInteger(evaluated) || evaluated < 0 || evaluated > tokens.length) throw new EngineError(`cannot restore ${evaluated} evaluated of ${tokens.length} tokens`, "invalid_parameter");
    this.log.length = 0;
    this.pendingTokens.length = 0;
    this.checkTokens(tokens, 0);
    fill();
    this.log.push(...tokens.slice(0, evaluated));
    this.pendingTokens.push(...tokens.slice(evaluated));
  }

  protected checkTokens(tokens: readonly number[], used: number): void {
    if (used + tokens.length > this.nCtx) {
      throw new EngineError(
        `${used + tokens.length} tokens exceed the context length of ${this.nCtx} (${used} already in the sequence, ${tokens.length} new)`,
        "context_length_exceeded",
      );
    }
    const vocab = this.vocabSize;
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= vocab) throw new EngineError(`token id ${t} is outside the vocabulary (0..${vocab - 1})`, "invalid_token");
    }
  }
}
