// The shard plan as GET /v1/model reports it: one shard when the model fits an isolate, else every shard's layers, bytes and tensors.
import { numberVar, type Env } from "../env";
import type { ModelCard } from "../protocol/model-card";
import { shardPlan, shardStub } from "./session-shards";
import type { ShardPlan } from "./plan";

/** Plans per model version and vars: the header is read once per isolate for them. */
const plans = new Map<string, Promise<ShardPlan | null>>();

/**
 * Reads the header again only when the card says the model does not fit one isolate (then the session objects shard
 * it too); a plan that cannot work throws the plan's HostError (503 memory_budget_exceeded naming the layer).
 * `live` adds each replica's counters and memory accounting (RPC to every shard object: for benchmarks, not polling).
 */
export async function planInfo(env: Env, card: ModelCard, live = false) {
  if (card.memory.usedBytes <= card.memory.budgetBytes) return { sharded: false, shards: 1 };
  const key = `${env.MODEL_NAME}|${card.fileBytes}|${env.MEMORY_BUDGET_MB}|${env.N_CTX}|${env.SHARD_SESSIONS}`;
  let p = plans.get(key);
  if (!p) {
    p = shardPlan(env).then((r) => r?.plan ?? null);
    plans.set(key, p);
    p.catch(() => plans.delete(key));
  }
  const plan = await p;
  if (!plan) return { sharded: false, shards: 1 };
  const replicas = Math.max(1, Math.floor(numberVar(env, "SHARD_REPLICAS", 1)));
  const stats = live
    ? await Promise.all(plan.shards.map((s) => Promise.all([...Array(replicas).keys()].map((r) => shardStub(env, plan, s, r).stats()))))
    : null;
  return {
    sharded: plan.shards.length > 1,
    shards: plan.shards.length,
    budget_bytes: plan.budgetBytes,
    n_ctx: plan.nCtx,
    sessions_per_shard: plan.sessionsPerShard,
    plan: plan.shards.map((s) => ({
      index: s.index,
      embed_rows: s.embedRows,
      layers: s.layers,
      head_rows: s.headRows,
      weights_bytes: s.weightBytes,
      kv_bytes: s.kvBytes,
      buffer_bytes: s.bufferBytes,
      total_bytes: s.totalBytes,
      tensors: s.tensors,
      ...(stats && {
        replicas: stats[s.index]!.map((st) => ({
          steps: st.steps,
          forwarded: st.forwarded,
          compute_ms: st.computeMs,
          persist_ms: st.persistMs,
          // The steps' time in the object from arrival to answer (compute and page writes included).
          handler_ms: st.handlerMs,
          // Page write transactions (flushes at commits, trims, forks, caches dropped for room) and the pages they wrote.
          saves: st.saves,
          pages_written: st.pagesWritten,
          ...(st.isolate !== undefined && { isolate: st.isolate }),
          memory: st.memory && { weights_bytes: st.memory.weightsBytes, kv_bytes: st.memory.kvBytes, scratch_bytes: st.memory.scratchBytes, reserved_bytes: st.memory.reservedBytes },
        })),
      }),
    })),
  };
}
