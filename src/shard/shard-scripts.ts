// Which Durable Object namespace serves a shard: its own Worker script (binding SHARDS_<i>, one isolate per shard) or the shared SHARDS binding, and the plan fingerprint both sides agree on.
import type { Env } from "../env";
import { HostError } from "../protocol/errors";
import type { ShardRpc } from "../protocol/shard-rpc";
import type { ShardPlan } from "./plan";
import { planFingerprint, shardBindingName, SHARDS_CONFIG_COMMAND } from "./plan-fingerprint";

const bindingsOf = new WeakMap<Env, Map<number, DurableObjectNamespace<ShardRpc>>>();

/** The SHARDS_<i> bindings the Worker has, by index: read once per env (a step asks for a namespace on every hop). */
function perShardBindings(env: Env): Map<number, DurableObjectNamespace<ShardRpc>> {
  const known = bindingsOf.get(env);
  if (known) return known;
  const found = new Map<number, DurableObjectNamespace<ShardRpc>>();
  for (const [k, v] of Object.entries(env)) {
    const m = /^SHARDS_(\d+)$/.exec(k);
    if (m && v) found.set(Number(m[1]), v as DurableObjectNamespace<ShardRpc>);
  }
  bindingsOf.set(env, found);
  return found;
}

/** True when the deployment serves its shards from per-shard scripts (a generated config set SHARD_PLAN or SHARDS_<i>). */
export function perShardScripts(env: Env): boolean {
  return (env.SHARD_PLAN ?? "") !== "" || perShardBindings(env).size > 0;
}

function misconfigured(what: string): HostError {
  return new HostError(`${what}; run \`${SHARDS_CONFIG_COMMAND}\` and deploy (or start) every shard script with the main Worker (docs/sharding.md)`, "shards_not_configured");
}

/**
 * Checks, before any step, that the per-shard scripts match this plan: SHARD_PLAN equals the plan's fingerprint and
 * every shard has its SHARDS_<i> binding. Nothing to check when the Worker uses the shared SHARDS binding.
 */
export function checkShardScripts(env: Env, plan: ShardPlan): void {
  if (!perShardScripts(env)) return;
  const want = planFingerprint(plan);
  if (env.SHARD_PLAN !== want) {
    throw misconfigured(`the shard scripts were generated for another plan (SHARD_PLAN ${JSON.stringify(env.SHARD_PLAN ?? "")}, this model and these vars plan ${JSON.stringify(want)}): the model file or a var changed since`);
  }
  const have = perShardBindings(env);
  const missing = plan.shards.filter((s) => !have.has(s.index)).map((s) => shardBindingName(s.index));
  if (missing.length) throw misconfigured(`shard binding ${missing.join(", ")} missing (the plan has ${plan.shards.length} shards)`);
}

/** The namespace of shard `index`: SHARDS_<index> when the Worker has per-shard scripts (never a silent fallback), else SHARDS. */
export function shardNamespace(env: Env, index: number): DurableObjectNamespace<ShardRpc> {
  if (!perShardScripts(env)) return env.SHARDS;
  const ns = perShardBindings(env).get(index);
  if (!ns) throw misconfigured(`shard ${index} has no binding ${shardBindingName(index)}`);
  return ns;
}
