// A shard plan's fingerprint and the per-shard binding names: what `npm run shards:config` writes into the generated configs and the Worker checks (no Workers types: scripts import it too).
import type { ShardPlan, ShardSpec, Span } from "./plan";

/** The command that writes one wrangler config per shard script and the main Worker's bindings to them. */
export const SHARDS_CONFIG_COMMAND = "npm run shards:config";

/** The binding of shard `index`'s own script in the main Worker (a generated config adds one per shard). */
export function shardBindingName(index: number): string {
  return `SHARDS_${index}`;
}

const span = (s: Span | null) => (s ? `${s[0]}-${s[1]}` : "");

/** One shard's part of the fingerprint: its embedding rows, layers and classifier rows. */
export function shardFingerprint(s: ShardSpec): string {
  return `${s.index}:${span(s.embedRows)}/${span(s.layers)}/${span(s.headRows)}`;
}

/**
 * A plan's identity as the generated configs record it (var SHARD_PLAN): shard count, budget, context, sessions per
 * shard, and every shard's rows and layers. A different model file or var that changes the plan changes it.
 */
export function planFingerprint(plan: ShardPlan): string {
  return `${plan.shards.length}x${plan.budgetBytes}b${plan.nCtx}c${plan.sessionsPerShard}s;${plan.shards.map(shardFingerprint).join(";")}`;
}
