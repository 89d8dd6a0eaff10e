// Entry of a per-shard Worker script (`npm run shards:config`): only the ModelShard class, checking that every call is for the plan entry this script was generated for.
import "../backends/wasm/load-workers";
import { budgetBytes, type Env } from "../env";
import { errorBody, HostError } from "../protocol/errors";
import { fail, type Result } from "../protocol/result";
import type { ShardForward, ShardOutputWire, ShardStats } from "../protocol/shard-rpc";
import { ModelShard as SharedModelShard } from "./model-shard";
import type { ShardSpec } from "./plan";
import { SHARDS_CONFIG_COMMAND, shardFingerprint } from "./plan-fingerprint";

/**
 * Why `spec` is not this script's part of the plan (SHARD_PLAN, SHARD_INDEX and MEMORY_BUDGET_MB of its config), or
 * null when it is: a main Worker and shard scripts generated (or deployed) from different plans must not mix.
 */
export function specMismatch(env: Env, spec: ShardSpec): string | null {
  const entries = (env.SHARD_PLAN ?? "").split(";");
  const index = Number(env.SHARD_INDEX);
  const budget = /^\d+x(\d+)b/.exec(entries[0] ?? "")?.[1];
  const mine = entries[index + 1];
  if (!Number.isInteger(index) || mine === undefined || budget === undefined) return `shard script without a valid SHARD_PLAN / SHARD_INDEX (got ${JSON.stringify(env.SHARD_PLAN)}, ${JSON.stringify(env.SHARD_INDEX)})`;
  if (Number(budget) !== budgetBytes(env)) return `shard script ${index}: MEMORY_BUDGET_MB is not the budget of its SHARD_PLAN`;
  const asked = shardFingerprint(spec);
  if (asked !== mine) return `shard script ${index} serves ${mine}, asked for ${asked}: the main Worker and the shard scripts come from different plans`;
  return null;
}

function refuse<T>(env: Env, spec: ShardSpec): Result<T> | null {
  const why = specMismatch(env, spec);
  return why === null ? null : fail(errorBody(new HostError(`${why}; run \`${SHARDS_CONFIG_COMMAND}\` and deploy every shard script again`, "shards_not_configured")));
}

/** This isolate's id, made on first use (workerd allows random values only while handling a request). */
let isolateId: string | null = null;

/** The shard object of a per-shard script: the shared ModelShard behind a check of the spec each call carries. */
export class ModelShard extends SharedModelShard {
  override async forward(req: ShardForward): Promise<Result<ShardOutputWire>> {
    return refuse(this.env, req.spec) ?? super.forward(req);
  }

  override async flush(spec: ShardSpec, session: string, n: number): Promise<Result<{ stored: number; persistMs: number }>> {
    return refuse(this.env, spec) ?? super.flush(spec, session, n);
  }

  override async trim(spec: ShardSpec, session: string, n: number): Promise<Result<{ evaluated: number }>> {
    return refuse(this.env, spec) ?? super.trim(spec, session, n);
  }

  override async fork(spec: ShardSpec, source: string, target: string, n: number, targetShard?: string): Promise<Result<{ copied: number }>> {
    return refuse(this.env, spec) ?? super.fork(spec, source, target, n, targetShard);
  }

  /** Its stats name the isolate: one per script means one per shard (docs/sharding.md, "One isolate per shard"). */
  override async stats(session?: string): Promise<ShardStats & { readonly isolate: string }> {
    isolateId ??= crypto.randomUUID();
    return { ...(await super.stats(session)), isolate: isolateId };
  }

  override async importKv(spec: ShardSpec, session: string, nCtx: number, pos0: number, data: ArrayBuffer): Promise<Result<{ evaluated: number }>> {
    return refuse(this.env, spec) ?? super.importKv(spec, session, nCtx, pos0, data);
  }
}

export default {
  // Shards are reached through Durable Object RPC only.
  fetch: () => new Response("edge-llama shard script: reached through the main Worker's Durable Object binding only\n", { status: 404 }),
} satisfies ExportedHandler<Env>;
