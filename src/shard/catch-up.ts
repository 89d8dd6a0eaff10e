// The batches a pipeline context ran since every shard last held its positions durably, so a shard that lost them (its object evicted or restarted mid-request) is brought back by running exactly those batches again.
import { EngineError } from "../engine/errors";

/** One forward step as it ran: its first position and its tokens (the batch sizes are part of the exact result). */
export interface RanBatch {
  readonly pos0: number;
  readonly tokens: readonly number[];
}

/** A step or a flush refused by a shard that holds fewer positions than it builds on. */
export function isShardBehind(e: unknown): boolean {
  return e instanceof EngineError && e.code === "shard_behind";
}

/**
 * How many times a step or a flush catches its shards up before it fails with shard_behind: a shard that loses its
 * positions again and again (evicted after every call) ends the request instead of looping.
 */
export const MAX_CATCH_UPS = 2;

/**
 * Every shard holds the positions before `from` in its pages (the last flush of the whole sequence, or the commit a
 * session restored from). The batches run since then, in order, are what a shard that restarted needs again: the
 * forward pass is deterministic for the same positions in the same batches, so running them again through the
 * pipeline gives every shard the same bits it lost (and the shards that kept them the same bits again). Recomputing
 * in other batch sizes would not be exact (the kernels are not batch-invariant), which is why the batches are kept.
 */
export class CatchUpLog {
  private from = 0;
  /** Null once a truncation cut inside a batch: those positions cannot be rebuilt exactly until the next flush. */
  private batches: RanBatch[] | null = [];

  /** Every shard holds the first `n` positions durably (a flush of the whole sequence, or a restore to a commit). */
  reset(n: number): void {
    this.from = n;
    this.batches = [];
  }

  record(pos0: number, tokens: readonly number[]): void {
    this.batches?.push({ pos0, tokens: [...tokens] });
  }

  /** The sequence was cut to `n` positions (the shards trim to it too). */
  truncate(n: number): void {
    if (!this.batches) return;
    if (this.batches.some((b) => b.pos0 < n && b.pos0 + b.tokens.length > n)) {
      this.batches = null;
      return;
    }
    this.batches = this.batches.filter((b) => b.pos0 < n);
    this.from = Math.min(this.from, n);
  }

  /**
   * The batches to run again so that every shard holds the positions before `upTo` as they were computed, or null when
   * that is not possible exactly (nothing to run again: a shard holding less than the durable point lost what no
   * replay can bring back; or a truncation inside a batch).
   */
  plan(upTo: number): RanBatch[] | null {
    if (!this.batches) return null;
    const todo = this.batches.filter((b) => b.pos0 < upTo);
    if (todo.length === 0) return null;
    let end = this.from;
    for (const b of todo) {
      if (b.pos0 > end) return null;
      end = b.pos0 + b.tokens.length;
    }
    return end >= upTo ? todo : null;
  }
}
