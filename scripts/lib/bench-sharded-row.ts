// The sharded bench's report row, the shard stats it reads from GET /v1/model?shard_stats=1, and the stage arithmetic over a plan.

/** A shard's plan entry as GET /v1/model?shard_stats=1 reports it. */
export interface PlanEntry {
  index: number;
  layers: [number, number];
  embed_rows: [number, number] | null;
  head_rows: [number, number] | null;
  total_bytes: number;
  replicas: { isolate?: string; steps: number; forwarded: number; compute_ms: number; persist_ms: number; handler_ms?: number; memory: { weights_bytes: number; kv_bytes: number; scratch_bytes: number; reserved_bytes: number } | null }[];
}
export interface ModelInfo {
  file_bytes: number;
  backend: string;
  sharding: { shards: number; budget_bytes: number; plan: PlanEntry[] };
}
export interface Generation {
  tokens: number[];
  timings: { prefill_ms: number; decode_ms: number };
  /** What keeping the shards in step cost the request (docs/api.md): catch-ups and loads of a shard's part. */
  shards?: ShardCounts;
}

/** A sharded request's catch-ups (and the positions they ran again) and shard objects that loaded their part first. */
export interface ShardCounts {
  catch_ups: number;
  replayed_tokens: number;
  loads: number;
  load_ms: number;
}

/** The counts of several requests added up (a request without them adds nothing). */
export function addShardCounts(total: ShardCounts, ...gens: readonly Generation[]): ShardCounts {
  for (const g of gens) {
    if (!g.shards) continue;
    total.catch_ups += g.shards.catch_ups;
    total.replayed_tokens += g.shards.replayed_tokens;
    total.loads += g.shards.loads;
    total.load_ms += g.shards.load_ms;
  }
  return total;
}

export interface ShardedRow {
  model: string;
  backend: string;
  file_bytes: number;
  budget_bytes: number;
  shards: number;
  /** Worker scripts the shards ran in (1: all in the main Worker's; else one per shard, `npm run shards:config`). */
  shard_scripts?: number;
  /** Distinct isolates the shard objects reported (per-shard scripts report theirs; null when not reported). */
  isolates?: number | null;
  /** Calls one after another per forward step: parallel row slices of the embedding or classifier count once. */
  stages: number;
  /**
   * Of those, the stages a decode step called (a greedy step on a tied model skips the embedding slices: the pick's
   * row comes back with it); the per-stage overhead divides by these. Absent in reports made before it was recorded.
   */
  decode_stages?: number;
  /** The plan's largest shard (weights + KV + buffers), and each shard's memory by the backend's accounting after the run. */
  max_shard_plan_bytes: number;
  shard_memory: { index: number; weights_bytes: number; kv_bytes: number; scratch_bytes: number; reserved_bytes: number }[];
  node: { prefill_tokens_per_s: number; decode_tokens_per_s: number };
  sharded: { prefill_tokens_per_s: number; decode_tokens_per_s: number };
  /** Decode ms per token in the session, of which inside the shards on the critical path (compute, page writes: per stage its slowest shard), and the rest per stage. */
  decode_ms_per_token: number;
  /** Null when a shard object lost its isolate during a run (its counters restarted): see `shard_resets`. */
  shard_compute_ms_per_token: number | null;
  shard_persist_ms_per_token: number | null;
  hop_overhead_ms: number | null;
  /**
   * Every shard's time per decode step summed (parallel row slices added up, not overlapped): locally every isolate
   * runs one at a time in the local workerd, so slices called in parallel compute one after another.
   */
  shard_all_ms_per_token?: number | null;
  /** Shard calls per decode step (a row slice counts when it is called). */
  calls_per_token?: number;
  /** What is left of a step once every shard's time is taken out, per call: the RPC and the session's own work. */
  call_overhead_ms?: number | null;
  /**
   * Every shard's time per decode step from a step's arrival in the object to its answer, summed (call_overhead_ms's
   * part inside the objects is this less shard_all_ms_per_token; the rest is the RPC and the session's own work).
   */
  shard_handler_ms_per_token?: number | null;
  /**
   * Runs in which a shard's counters went back (its isolate was reset and the object reloaded its part and restored its
   * pages mid-run: workerd runs every object of a class in one isolate, whose memory the shards share).
   */
  shard_resets: number;
  /**
   * Over every measured request (each run's prefill and decode, the two sessions'; not the warm-up): steps or commits a
   * shard refused because it had lost positions (its object evicted), caught up by running the batches since the last
   * commit again (`replayed_tokens` positions), and shard calls that loaded their object's part of the model first (a
   * new instance; `shard_load_ms` in all). Absent in reports made before they were recorded.
   */
  shard_counts?: ShardCounts;
  /**
   * wrangler dev's local observability (X_LOCAL_OBSERVABILITY): when on, workerd streams every invocation of every
   * Worker (each shard RPC included) to a collector, which costs more than the RPC itself. Absent in reports made
   * before it was recorded (it was on).
   */
  local_observability?: boolean;
  /** Two sessions decoding at once on the same shards: their tokens together per second, against one session alone (both timed from Node). */
  one_session_decode_tokens_per_s: number;
  two_sessions_decode_tokens_per_s: number;
  prefill_tokens: number;
  decode_tokens: number;
  runs: number;
}

/**
 * Sequential stages of a step, as positions in the plan: embedding slices (called in parallel: one stage), the chain of
 * layer shards (one stage each), classifier slices (parallel: one stage).
 */
export function stageGroups(plan: readonly PlanEntry[], vocab: number): number[][] {
  const layer = (s: PlanEntry) => s.layers[1] > s.layers[0] || (s.embed_rows?.[0] === 0 && s.embed_rows[1] === vocab);
  const at = (f: (s: PlanEntry) => boolean) => plan.flatMap((s, k) => (f(s) ? [k] : []));
  const embedSlices = at((s) => !layer(s) && s.embed_rows !== null);
  const headSlices = at((s) => !layer(s) && !s.embed_rows && s.head_rows !== null);
  return [embedSlices, ...at(layer).map((k) => [k]), headSlices].filter((g) => g.length > 0);
}

export function stagesOf(plan: readonly PlanEntry[], vocab: number): number {
  return stageGroups(plan, vocab).length;
}

/** Each shard's counters (summed over its replicas): the time it spent inside steps, for a before/after difference. */
export function shardTime(plan: readonly PlanEntry[]) {
  const sum = (s: PlanEntry, f: (r: PlanEntry["replicas"][number]) => number) => s.replicas.reduce((n, r) => n + f(r), 0);
  return {
    compute: plan.map((s) => sum(s, (r) => r.compute_ms)),
    persist: plan.map((s) => sum(s, (r) => r.persist_ms)),
    handler: plan.map((s) => sum(s, (r) => r.handler_ms ?? 0)),
    steps: plan.map((s) => sum(s, (r) => r.steps)),
  };
}

/** Time on a step's critical path: per stage the slowest of its shards (parallel slices overlap), summed over stages. */
export function criticalMs(groups: readonly number[][], before: readonly number[], after: readonly number[]): number {
  return groups.reduce((t, g) => t + Math.max(...g.map((k) => after[k]! - before[k]!)), 0);
}
