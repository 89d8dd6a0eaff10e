// The Worker's bindings and vars (wrangler.toml) and the defaults read from them: one Env for the Hono app and the session objects.
import type { SessionRpc } from "./protocol/session-rpc";
import type { ShardRpc } from "./protocol/shard-rpc";
import type { PromptCacheRpc } from "./protocol/prompt-cache-rpc";

export interface Env {
  /** R2 bucket holding the GGUF model files. */
  MODELS: R2Bucket;
  /**
   * One Durable Object per session. Typed by the RPC contract, not by the LlamaSession class: the Worker sees only
   * what it may call, and the contract does not import the object (whose module imports this one).
   */
  SESSIONS: DurableObjectNamespace<SessionRpc>;
  /** One Durable Object per shard (and replica) of a model too big for one isolate (src/shard, docs/sharding.md). */
  SHARDS: DurableObjectNamespace<ShardRpc>;
  /**
   * Shard i's own Worker script (one isolate per shard), in a config written by `npm run shards:config`: when present,
   * every shard of the plan must have one (src/shard/shard-scripts.ts), and SHARDS is not used for the pipeline.
   */
  readonly [shardScript: `SHARDS_${number}`]: DurableObjectNamespace<ShardRpc> | undefined;
  /** The plan the generated shard configs were made for (its fingerprint); a Worker whose plan differs refuses with 503. */
  SHARD_PLAN?: string;
  /** In a shard script: the index of the plan entry it serves. */
  SHARD_INDEX?: string;
  /** Replicas of every shard of a sharded model; sessions map to one by their id (default 1). */
  SHARD_REPLICAS?: string;
  /** Sessions whose KV cache the shard plan sizes each shard for at N_CTX (default 1; more are kept as pages). */
  SHARD_SESSIONS?: string;
  /** Key of the model inside MODELS (default stories260K.gguf). */
  MODEL_NAME: string;
  /** Engine backend: ref | wasm | wasm-simd128 | wasm-relaxed (default wasm). */
  BACKEND?: string;
  /** Memory the model and the KV caches of one isolate may use, in MiB (default 128). */
  MEMORY_BUDGET_MB?: string;
  /** Default context length of a new session in tokens (default 512). */
  N_CTX?: string;
  /**
   * How session KV caches store K and V: f32 (default), f16 (half the bytes) or q8_0 (34 bytes per 32 elements),
   * llama.cpp's --cache-type-k/v. A comma-separated list may add per-model entries NAME=TYPE keyed by MODEL_NAME,
   * e.g. "q8_0, stories260K.gguf=f32". Fixed per session when it is created; see docs/models.md.
   */
  KV_CACHE_TYPE?: string;
  /** Largest KV page row in bytes (default and maximum 1 MiB: Durable Object SQLite rows stay under 2 MB). */
  KV_PAGE_BYTES?: string;
  /** Tokens decoded between two writes of a session's state during a long generation (default 32). */
  PERSIST_EVERY?: string;
  /** Generations one isolate runs at once; more are refused with 429 and Retry-After (default 4). */
  MAX_CONCURRENT_GENERATIONS?: string;
  /** Wall-clock milliseconds one request may decode for before it ends with finish_reason "length" (default 20000). */
  REQUEST_BUDGET_MS?: string;
  /** One Durable Object per model file: the prompt cache's KV blocks and the sessions' storage ledger (docs/prompt-cache.md). */
  PROMPT_CACHE: DurableObjectNamespace<PromptCacheRpc>;
  /** "off" disables the prompt cache (default "on"): new sessions and one-shot requests then prefill every prompt token. */
  PROMPT_CACHE_MODE?: string;
  /** Bytes of KV blocks the prompt cache keeps per model, in MiB (default 256); least recently used blocks go first. */
  PROMPT_CACHE_MB?: string;
  /** Bearer key every /v1 route requires when set (a secret: `wrangler secret put API_KEY`). */
  API_KEY?: string;
}

const MiB = 1 << 20;

/** Reads an optional numeric var; a var that is set but not a number is a configuration error worth failing on. */
export function numberVar(env: Env, name: keyof Env, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`var ${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

/** The model's key in MODELS (MODEL_NAME, default stories260K.gguf). */
export function modelName(env: Env): string {
  return env.MODEL_NAME || "stories260K.gguf";
}

/** The backend setting (BACKEND, default wasm), before "wasm" resolves to a build. */
export function backendSetting(env: Env): string {
  return env.BACKEND || "wasm";
}

/** The isolate's memory budget in bytes (MEMORY_BUDGET_MB, default 128). */
export function budgetBytes(env: Env): number {
  return numberVar(env, "MEMORY_BUDGET_MB", 128) * MiB;
}

/** KV cache types a deployment may name (the engine's KvType). */
export type KvCacheType = "f32" | "f16" | "q8_0";

/**
 * The KV cache type for `model` (a MODELS key): its NAME=TYPE entry in KV_CACHE_TYPE, else the list's bare type,
 * else f32. An unknown type or a malformed entry is a configuration error.
 */
export function kvCacheType(env: Env, model: string): KvCacheType {
  const raw = env.KV_CACHE_TYPE ?? "";
  let fallback: KvCacheType = "f32";
  let chosen: KvCacheType | undefined;
  for (const entry of raw.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const eq = entry.lastIndexOf("=");
    const type = (eq < 0 ? entry : entry.slice(eq + 1)).trim().toLowerCase();
    if (type !== "f32" && type !== "f16" && type !== "q8_0") throw new Error(`var KV_CACHE_TYPE: unknown type ${JSON.stringify(type)} in ${JSON.stringify(raw)} (f32 | f16 | q8_0)`);
    if (eq < 0) fallback = type;
    else if (entry.slice(0, eq).trim() === model) chosen = type;
  }
  return chosen ?? fallback;
}

/** The context a session gets when it asks for none: N_CTX (default 512), at most the model's training context. */
export function defaultNCtx(env: Env, nCtxTrain: number): number {
  return Math.min(numberVar(env, "N_CTX", 512), nCtxTrain);
}

/** Whether the prompt cache is on (PROMPT_CACHE_MODE: on | off, default on); another value is a configuration error. */
export function promptCacheOn(env: Env): boolean {
  const mode = (env.PROMPT_CACHE_MODE ?? "on").trim().toLowerCase() || "on";
  if (mode !== "on" && mode !== "off") throw new Error(`var PROMPT_CACHE_MODE must be on or off, got ${JSON.stringify(env.PROMPT_CACHE_MODE)}`);
  return mode === "on";
}

/** The prompt cache's byte budget per model (PROMPT_CACHE_MB, default 256; fractions allowed). */
export function promptCacheBytes(env: Env): number {
  return Math.floor(numberVar(env, "PROMPT_CACHE_MB", 256) * MiB);
}
