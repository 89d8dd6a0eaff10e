// The Worker's bindings and vars (wrangler.toml), shared by the Hono app and the session Durable Object.
import type { LlamaSession } from "./llama-session";

export interface Env {
  /** R2 bucket holding the GGUF model files. */
  MODELS: R2Bucket;
  /** One Durable Object per session. */
  SESSIONS: DurableObjectNamespace<LlamaSession>;
  /** Key of the model inside MODELS (default stories260K.gguf). */
  MODEL_NAME: string;
  /** Engine backend: ref | wasm | wasm-simd128 | wasm-relaxed (default wasm). */
  BACKEND?: string;
  /** Memory the model and the KV caches of one isolate may use, in MiB (default 128). */
  MEMORY_BUDGET_MB?: string;
  /** Default context length of a new session in tokens (default 512). */
  N_CTX?: string;
  /** Largest KV page row in bytes (default and maximum 1 MiB: Durable Object SQLite rows stay under 2 MB). */
  KV_PAGE_BYTES?: string;
  /** Tokens decoded between two writes of a session's state during a long generation (default 32). */
  PERSIST_EVERY?: string;
  /** Generations one isolate runs at once; more are refused with 429 and Retry-After (default 4). */
  MAX_CONCURRENT_GENERATIONS?: string;
  /** Wall-clock milliseconds one request may decode for before it ends with finish_reason "length" (default 20000). */
  REQUEST_BUDGET_MS?: string;
  /** Bearer key every /v1 route requires when set (a secret: `wrangler secret put API_KEY`). */
  API_KEY?: string;
}

/** Reads an optional numeric var; a var that is set but not a number is a configuration error worth failing on. */
export function numberVar(env: Env, name: keyof Env, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`var ${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}
