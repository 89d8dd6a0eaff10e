// What keeping a sharded session's shards in step cost: catch-ups of shards that lost positions, and shard objects that loaded their part of the model mid-session.

/** Counters of one pipeline context (a session's live state): monotonic, so a request reports the difference across it. */
export interface PipelineStats {
  /** Steps or flushes refused with shard_behind after which the batches since the last flush ran again (catch-up.ts). */
  catchUps: number;
  /** Positions those catch-ups ran again through the whole pipeline (the tokens of every batch replayed to its end). */
  replayedTokens: number;
  /** Shard calls that found their object without its part of the model (a new instance) and loaded it from R2 first. */
  shardLoads: number;
  /** The time those loads took inside the shards (ms, summed). */
  shardLoadMs: number;
}

export const newPipelineStats = (): PipelineStats => ({ catchUps: 0, replayedTokens: 0, shardLoads: 0, shardLoadMs: 0 });

/** What happened between two readings of the same counters (`before` taken at a request's start). */
export function statsSince(now: PipelineStats, before: PipelineStats): PipelineStats {
  return {
    catchUps: now.catchUps - before.catchUps,
    replayedTokens: now.replayedTokens - before.replayedTokens,
    shardLoads: now.shardLoads - before.shardLoads,
    shardLoadMs: now.shardLoadMs - before.shardLoadMs,
  };
}
