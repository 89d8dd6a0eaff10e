// The plan `npm run shards:config` writes configs for: the Worker's own planner (shardPlan) on the model's header, read from a local file or the local bucket.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { basename } from "node:path";
import type { Env } from "../../src/env";
import { shardPlan } from "../../src/shard/session-shards";
import type { ShardPlan } from "../../src/shard/plan";
import type { RawWorkerConfig } from "./shards-config";

/** The part of R2Bucket the header reader uses (head, ranged get), over a local file stored under `key`. */
export function fileBucket(path: string, key = basename(path)): R2Bucket {
  const size = statSync(path).size;
  const bucket = {
    head: async (name: string) => (name === key ? { key, size } : null),
    get: async (name: string, opts?: { range?: { offset: number; length: number } }) => {
      if (name !== key) return null;
      const offset = opts?.range?.offset ?? 0;
      const length = Math.min(opts?.range?.length ?? size - offset, size - offset);
      const bytes = new Uint8Array(length);
      const fd = openSync(path, "r");
      try {
        readSync(fd, bytes, 0, length, offset);
      } finally {
        closeSync(fd);
      }
      return { size, arrayBuffer: async () => bytes.buffer };
    },
  };
  return bucket as unknown as R2Bucket;
}

/** The Worker's source config as wrangler reads it (TOML or JSON). */
export async function readWorkerConfig(configPath: string): Promise<RawWorkerConfig> {
  const { experimental_readRawConfig } = await import("wrangler");
  return experimental_readRawConfig({ config: configPath }).rawConfig as RawWorkerConfig;
}

/**
 * The plan the Worker makes with these vars for the model MODEL_NAME in `bucket` (the same function, not a copy).
 * Refusals: the model is not there, or the planner's own (a layer over the budget, a var that is not a number).
 */
export async function planFor(bucket: R2Bucket, vars: Readonly<Record<string, string>>): Promise<ShardPlan> {
  const env = { ...vars, MODELS: bucket } as unknown as Env;
  const found = await shardPlan(env);
  if (!found) throw new Error(`model ${JSON.stringify(vars.MODEL_NAME ?? "stories260K.gguf")} not found (pass --model FILE, or seed the local bucket: npm run seed:r2)`);
  return found.plan;
}
