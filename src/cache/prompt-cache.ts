// PromptCache: one Durable Object per model file, holding content-addressed KV blocks of prompt prefixes (docs/prompt-cache.md).
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { BlockStore } from "./block-store";
import type { CacheStats, PromptCacheRpc, PublishedBlock } from "../protocol/prompt-cache-rpc";

export class PromptCache extends DurableObject<Env> implements PromptCacheRpc {
  private readonly store = new BlockStore(this.ctx.storage);

  async lookup(hashes: readonly string[], blockBytes: number): Promise<Uint8Array[]> {
    return this.store.lookup(hashes, blockBytes);
  }

  async publish(chain: readonly string[], blocks: readonly PublishedBlock[], budgetBytes: number): Promise<number> {
    return this.store.publish(chain, blocks, budgetBytes);
  }

  async record(session: string, kvBytes: number, stateBytes: number): Promise<void> {
    this.store.record(session, kvBytes, stateBytes);
  }

  async stats(): Promise<CacheStats> {
    return this.store.stats();
  }
}
