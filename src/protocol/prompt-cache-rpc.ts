// The PromptCache Durable Object's RPC contract (the Env types its namespace by it, without importing the object) and its naming.
import type { Env } from "../env";

/** A block as a session publishes it: its chain hash and the KV bytes of its positions (Backend.readKvBytes layout). */
export interface PublishedBlock {
  readonly hash: string;
  readonly data: Uint8Array;
}

/** What the cache object holds and has counted since it was created (durable: survives restarts). */
export interface CacheStats {
  readonly blocks: number;
  /** Bytes of block data held (the LRU budget counts these). */
  readonly blockBytes: number;
  readonly lookups: number;
  /** Blocks served to a lookup. */
  readonly hitBlocks: number;
  /** Blocks asked for and not served (absent, after a gap, or after a corrupt one). */
  readonly missedBlocks: number;
  /** Blocks that failed their length or checksum check on read: deleted, never served. */
  readonly corruptBlocks: number;
  readonly evictedBlocks: number;
  readonly publishedBlocks: number;
  /** Sessions of this model with stored state, and the bytes they last reported (KV pages, state row). */
  readonly sessions: number;
  readonly sessionKvBytes: number;
  readonly sessionStateBytes: number;
}

/** The prompt cache object of a model file: one per (MODELS key, etag), so a replaced file starts an empty cache. */
export function cacheStub(env: Env, model: string, etag: string) {
  return env.PROMPT_CACHE.getByName(`${model}@${etag}`);
}

export interface PromptCacheRpc extends Rpc.DurableObjectBranded {
  lookup(hashes: readonly string[], blockBytes: number): Promise<Uint8Array[]>;
  publish(chain: readonly string[], blocks: readonly PublishedBlock[], budgetBytes: number): Promise<number>;
  record(session: string, kvBytes: number, stateBytes: number): Promise<void>;
  stats(): Promise<CacheStats>;
}
