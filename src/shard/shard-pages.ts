// A shard's KV pages: runs of positions of its own layers, as float32 in Backend.readKv's layout ([layer][k|v][pos][kvDim]).
import { MAX_PAGE_BYTES } from "../engine/kv-pages";
import { numberVar, type Env } from "../env";
import type { ShardEngine, ShardSeq } from "./shard-engine";

/**
 * Page size of a shard: KV_PAGE_BYTES capped at 64 KiB. A shard writes its pages when the session commits (every
 * PERSIST_EVERY tokens and at the end of a request; the commit point must never be ahead of them), rewriting the partly
 * filled last page each time: small pages keep that write small.
 */
export function shardPageBytes(env: Env): number {
  return Math.min(numberVar(env, "KV_PAGE_BYTES", MAX_PAGE_BYTES), 64 << 10);
}

/** Page `index` of a session's positions, holding at most the first `upTo` positions (default: all it holds). */
export function readShardPage(engine: ShardEngine, seq: ShardSeq, index: number, perPage: number, upTo = seq.evaluated): Uint8Array {
  const start = index * perPage;
  const stop = Math.min(start + perPage, seq.evaluated, upTo);
  if (start >= stop) return new Uint8Array(0);
  const f = engine.backend.readKv(seq.cache, start, stop - start);
  return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
}

/** Stored pages (in order) as the floats Backend.writeKv restores `evaluated` positions from. */
export function joinShardPages(pages: readonly Uint8Array[], engine: ShardEngine, evaluated: number): Float32Array {
  const perPos = engine.floatsPerPosition();
  const kvDim = engine.config.kvDim;
  const parts = perPos / kvDim;
  const out = new Float32Array(evaluated * perPos);
  let pos0 = 0;
  for (const page of pages) {
    const n = page.byteLength / (perPos * 4);
    if (!Number.isInteger(n)) throw new RangeError(`shard KV page of ${page.byteLength} bytes is not a whole number of positions`);
    const floats = new Float32Array(page.slice().buffer);
    const take = Math.max(0, Math.min(n, evaluated - pos0));
    for (let part = 0; part < parts; part++) out.set(floats.subarray(part * n * kvDim, part * n * kvDim + take * kvDim), part * evaluated * kvDim + pos0 * kvDim);
    pos0 += n;
  }
  if (pos0 < evaluated) throw new RangeError(`shard KV pages hold ${pos0} positions, ${evaluated} needed`);
  return out;
}
