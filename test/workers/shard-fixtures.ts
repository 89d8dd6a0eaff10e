// Shared setup of the sharded workers tests: the seeded model's plan, the single-object engine on the same backend, and shard stubs.
import { env } from "cloudflare:test";
import { beforeAll } from "vitest";
import { createBackend } from "../../src/backends/select";
import { LlamaModel } from "../../src/engine/model";
import type { ShardPlan, ShardSpec } from "../../src/shard/plan";
import { replicaOf, shardName, shardPlan } from "../../src/shard/session-shards";
import { call, json, seedModel } from "./helpers";

export const REPLICAS = Number(env.SHARD_REPLICAS ?? "1");

/** The Durable Object key of a session id: what shards store a session's positions under. */
export const keyOf = (id: string): string => env.SESSIONS.idFromName(id).toString();

/**
 * Seeds the model, plans its shards and loads the single-object engine on the same backend in this isolate: the oracle
 * every sharded result must equal bit for bit.
 */
export async function loadShardFixtures(): Promise<{ plan: ShardPlan; single: LlamaModel }> {
  await seedModel();
  const plan = (await shardPlan(env))!.plan;
  const single = LlamaModel.load(env.TEST_MODEL_STORIES260K, createBackend(env.BACKEND === "wasm" ? "wasm" : env.BACKEND));
  return { plan, single };
}

/** The shards of a plan that hold layers (and so KV caches). */
export const layerShardsOf = (plan: ShardPlan): ShardSpec[] => plan.shards.filter((s) => s.layers[1] > s.layers[0]);

/** The stub of replica `replica` of shard `i`. */
export const shardStub = (plan: ShardPlan, i: number, replica = 0) => env.SHARDS.getByName(shardName(env, plan, plan.shards[i]!, replica));

/** The replica of every layer shard that serves a session (the session's stub and its spec). */
export const sessionShardsOf = (plan: ShardPlan, id: string) => layerShardsOf(plan).map((s) => ({ spec: s, stub: shardStub(plan, s.index, replicaOf(keyOf(id), REPLICAS)) }));

/** POST /v1/sessions/:id/generate, the JSON answer. */
export const generateIn = async (id: string, body: Record<string, unknown>) => json(await call("POST", `/v1/sessions/${id}/generate`, body));

/**
 * Loads the fixtures before the calling file's tests (its beforeAll) and gives the single-object engine and the plan's
 * shard accessors (layer shards, a shard's stub, a session's replicas).
 */
export function useShardFixtures() {
  let fixtures: { plan: ShardPlan; single: LlamaModel } | undefined;
  beforeAll(async () => {
    fixtures = await loadShardFixtures();
  });
  const plan = () => fixtures!.plan;
  return {
    single: () => fixtures!.single,
    layerShards: () => layerShardsOf(plan()),
    stub: (i: number, replica: number) => shardStub(plan(), i, replica),
    sessionShards: (id: string) => sessionShardsOf(plan(), id),
  };
}
