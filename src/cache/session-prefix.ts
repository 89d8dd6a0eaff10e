// A session's side of the prompt cache: restore the longest cached prefix of a fresh context's prompt, publish the blocks it computed.
import { joinPages, kvBytesPerPosition } from "../engine/kv-pages";
import type { LlamaContext } from "../engine/context";
import type { LlamaModel } from "../engine/model";
import type { Sampler } from "../engine/sampler";
import { modelName, promptCacheBytes, promptCacheOn, type Env } from "../env";
import { host } from "../session/model-host";
import { isPipeline } from "../shard/session-shards";
import { BLOCK_TOKENS, blockHashes, identityKey, lookupBlocks } from "./block-hash";
import { cacheStub, type PublishedBlock } from "../protocol/prompt-cache-rpc";

export interface PrefixPlan {
  /** What is left to prefill (the whole input on a miss). */
  readonly input: number[];
  /** Prompt tokens restored from the cache (a multiple of BLOCK_TOKENS). */
  readonly cached: number;
  /** Stores the prompt's whole blocks the context computed (after the generation); never throws. */
  publish(): Promise<void>;
}

const nothing = (input: number[]): PrefixPlan => ({ input, cached: 0, publish: async () => {} });

/**
 * For a context that holds nothing yet (a new session's first request, or a one-shot one): looks up the prompt's
 * whole blocks, restores the longest cached run into the context (and the sampler's penalty window, as if the tokens
 * had been appended), and returns the rest to prefill. Only such contexts take part: their prefill starts at
 * position 0, so the blocks they publish hold exactly the bytes a cold prefill writes. Sharded models are left out
 * (their KV lives in the shards). A failing cache is a miss, never a failed request.
 */
export async function cachedPrefix(env: Env, model: LlamaModel, llm: LlamaContext, sampler: Sampler, input: number[]): Promise<PrefixPlan> {
  const etag = host.etagOf(model);
  if (!promptCacheOn(env) || llm.length !== 0 || isPipeline(llm) || etag === undefined || input.length < BLOCK_TOKENS) return nothing(input);
  const layout = llm.cache.layout;
  const c = model.config;
  const name = modelName(env);
  const identity = identityKey({ model: name, etag, backend: model.backend.name, kvType: layout.type ?? "f32", nLayers: c.nLayers, nKvHeads: c.nKvHeads, headDim: c.headDim });
  const hashes = await blockHashes(identity, input, Math.floor(input.length / BLOCK_TOKENS));
  const blockBytes = BLOCK_TOKENS * kvBytesPerPosition(layout);
  const stub = cacheStub(env, name, etag);
  let found: Uint8Array[] = [];
  try {
    // A prompt of exactly one block has nothing to look up (one token must be prefilled), but still publishes it.
    const ask = hashes.slice(0, lookupBlocks(input.length));
    if (ask.length > 0) found = await stub.lookup(ask, blockBytes);
  } catch (e) {
    console.warn(`prompt cache lookup failed, prefilling the whole prompt: ${e instanceof Error ? e.message : String(e)}`);
  }
  const cached = found.length * BLOCK_TOKENS;
  if (cached > 0) {
    llm.restore(input.slice(0, cached), cached, joinPages(found, layout, cached));
    for (const t of input.slice(0, cached)) sampler.accept(t);
  }
  const publish = async () => {
    try {
      const blocks: PublishedBlock[] = [];
      for (let i = found.length; i < hashes.length; i++) {
        // Only positions this context evaluated from this very prompt (max_tokens 0 leaves them pending).
        const end = (i + 1) * BLOCK_TOKENS;
        if (llm.nEvaluated < end || !samePrefix(llm.tokens, input, end)) break;
        const backend = model.backend;
        const data = backend.readKvBytesAsync ? await backend.readKvBytesAsync(llm.cache, i * BLOCK_TOKENS, BLOCK_TOKENS) : backend.readKvBytes(llm.cache, i * BLOCK_TOKENS, BLOCK_TOKENS);
        blocks.push({ hash: hashes[i]!, data });
      }
      if (blocks.length > 0) await stub.publish(hashes.slice(0, found.length + blocks.length), blocks, promptCacheBytes(env));
    } catch (e) {
      console.warn(`prompt cache publish failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return { input: input.slice(cached), cached, publish };
}

function samePrefix(a: readonly number[], b: readonly number[], n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs `after` once the generation has returned its result (before its done event is sent), then returns that result. */
export async function* thenRun<T, R>(steps: AsyncGenerator<T, R>, after: () => Promise<void>): AsyncGenerator<T, R> {
  const result = yield* steps;
  await after();
  return result;
}

/**
 * Reports a session's stored bytes to its model's cache object (the storage ledger /metrics sums); fire and forget:
 * a lost report leaves the gauge stale until the session's next report, never fails the request.
 */
export async function reportStorage(env: Env, model: LlamaModel | null, session: string, kvBytes: number, stateBytes: number): Promise<void> {
  try {
    const name = modelName(env);
    const etag = (model && host.etagOf(model)) ?? (await env.MODELS.head(name))?.etag;
    if (etag !== undefined) await cacheStub(env, name, etag).record(session, kvBytes, stateBytes);
  } catch (e) {
    console.warn(`storage report failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
