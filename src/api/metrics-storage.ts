// The /metrics figures kept in Durable Object storage: the prompt cache's blocks and counters, and the bytes sessions store.
import { cacheStub } from "../protocol/prompt-cache-rpc";
import { modelName, type Env } from "../env";
import type { Registry } from "./metrics-registry";

/**
 * Families read from the served model's PromptCache object at scrape time. Unlike the per-isolate figures, these are
 * the deployment's: the object counts every isolate's lookups, and holds the ledger of bytes each session of the
 * model last reported (KV pages and state row; a sharded model's pages live in its shards and are not counted).
 */
export function storageMetrics(registry: Registry) {
  const blocks = registry.gauge("edge_llama_prompt_cache_blocks", "KV blocks the prompt cache holds for the served model file.");
  const lookups = registry.counter("edge_llama_prompt_cache_block_lookups_total", "Prompt cache blocks asked for, by result: hit (restored), miss (not held), corrupt (failed its length or checksum check: dropped, recomputed).");
  const published = registry.counter("edge_llama_prompt_cache_published_blocks_total", "KV blocks stored in the prompt cache after a prefill.");
  const evictions = registry.counter("edge_llama_prompt_cache_evictions_total", "KV blocks evicted from the prompt cache to stay within PROMPT_CACHE_MB (least recently used first).");
  const sessions = registry.gauge("edge_llama_stored_sessions", "Sessions of the served model with stored state, as their objects last reported.");
  const bytes = registry.gauge(
    "edge_llama_storage_bytes",
    "Bytes held in Durable Object storage, by kind: session_kv_pages and session_state (as each session last reported them), prompt_cache_blocks (KV block data).",
  );
  return {
    /** Reads the cache object's figures; a failure leaves the previous values (logged), the scrape still answers. */
    async refresh(env: Env): Promise<void> {
      try {
        const name = modelName(env);
        const head = await env.MODELS.head(name);
        if (!head) return;
        const s = await cacheStub(env, name, head.etag).stats();
        blocks.set(s.blocks);
        lookups.set(s.hitBlocks, { result: "hit" });
        lookups.set(s.missedBlocks, { result: "miss" });
        lookups.set(s.corruptBlocks, { result: "corrupt" });
        published.set(s.publishedBlocks);
        evictions.set(s.evictedBlocks);
        sessions.set(s.sessions);
        bytes.set(s.sessionKvBytes, { kind: "session_kv_pages" });
        bytes.set(s.sessionStateBytes, { kind: "session_state" });
        bytes.set(s.blockBytes, { kind: "prompt_cache_blocks" });
      } catch (e) {
        console.warn(`metrics: the prompt cache object did not answer: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}
