/// <reference types="@webgpu/types" />
// The webgpu backend's KV cache ops: storing and rounding K/V to the cache type, attention over the cache, and reading and writing its positions.
import type { AttentionShape } from "../backend";
import { kvFloatsPerPosition } from "../backend";
import { kvBytesToFloats, kvFloatsToBytes, kvTypeOf, type KvType } from "../kv-format";
import type { GpuBuffer, GpuKvCache } from "./buffers";
import { groupsOf, type GpuContext } from "./context";

const HEADS_PER_GROUP = 8; // HG in attention.wgsl
const MAX_HEAD_DIM = 128; // MAX_HD in attention.wgsl
/** kv_round.wgsl's mode per KV type (0: nothing to round). */
const KV_ROUND: Record<KvType, number> = { f32: 0, f16: 1, q8_0: 2 };

/** Copies nTokens rows of k and v into the cache's layer at positions pos0.. (rounded to the cache type). */
export function recordStoreKv(ctx: GpuContext, c: GpuKvCache, layer: number, pos0: number, nTokens: number, k: GpuBuffer, v: GpuBuffer): void {
  if (pos0 < 0 || pos0 + nTokens > c.layout.nCtx) throw new RangeError(`KV positions ${pos0}..${pos0 + nTokens} exceed the context of ${c.layout.nCtx}`);
  if (layer < 0 || layer >= c.layout.nLayers) throw new RangeError(`layer ${layer} outside 0..${c.layout.nLayers - 1}`);
  const bytes = nTokens * c.kvDim * 4;
  ctx.rec.copy(k.gpu, 0, c.k[layer]!, pos0 * c.kvDim * 4, bytes);
  ctx.rec.copy(v.gpu, 0, c.v[layer]!, pos0 * c.kvDim * 4, bytes);
  // An f16 or q8_0 cache is held as f32 planes of the values that type stores (rounded in place; see kv_round.wgsl):
  // the same numbers and page bytes as ref and wasm, though GPU memory stays f32 (it is not the isolate's budget).
  const mode = KV_ROUND[kvTypeOf(c.layout)];
  if (mode !== 0) for (const plane of [c.k[layer]!, c.v[layer]!]) roundKv(ctx, plane, pos0 * c.kvDim, nTokens * c.kvDim, mode);
}

/** Rounds n floats of `buffer` from element `first` to the KV type `mode` (kv_round.wgsl). */
function roundKv(ctx: GpuContext, buffer: GPUBuffer, first: number, n: number, mode: number): void {
  ctx.run("kv_round", [buffer], { a: [first, n, mode] }, groupsOf(mode === 1 ? n : n / 32));
}

/** Causal attention of nTokens queries at positions pos0.. over the cache's layer, into o. */
export function recordAttention(ctx: GpuContext, o: GpuBuffer, qb: GpuBuffer, c: GpuKvCache, layer: number, pos0: number, nTokens: number, shape: AttentionShape): void {
  if (pos0 + nTokens > c.layout.nCtx) throw new RangeError(`attention past the context of ${c.layout.nCtx}`);
  const { nHeads, nKvHeads, headDim } = shape;
  if (nHeads % nKvHeads !== 0) throw new RangeError(`attention: ${nHeads} heads do not share ${nKvHeads} KV heads evenly`);
  const chunks = Math.ceil(nHeads / nKvHeads / HEADS_PER_GROUP);
  if (headDim > MAX_HEAD_DIM) throw new RangeError(`attention: head dimension ${headDim} exceeds the kernel's ${MAX_HEAD_DIM}`);
  // On a typed cache the query is rounded as the K type's dot takes it, in a copy (the caller's q is left as is).
  const mode = KV_ROUND[kvTypeOf(c.layout)];
  const qBytes = nTokens * nHeads * headDim * 4;
  const qr = mode === 0 ? null : ctx.pool.take(Math.ceil(qBytes / 16) * 16);
  if (qr) {
    ctx.rec.copy(qb.gpu, 0, qr, 0, qBytes);
    roundKv(ctx, qr, 0, qBytes / 4, mode);
  }
  ctx.intoTarget(o, [qb], (target) =>
    ctx.run("attention", [qr ?? qb.gpu, c.k[layer]!, c.v[layer]!, target], { a: [nHeads, nKvHeads, headDim], b: [pos0, nTokens, chunks], f: [1 / Math.sqrt(headDim)] }, nTokens * nKvHeads * chunks),
  );
  if (qr) ctx.pool.give(qr); // later users of the buffer run after this dispatch (commands execute in order)
}

/** Submits everything recorded and reads positions [pos0, pos0 + n) of every layer's K and V (readKv's order). */
export async function readKvFloats(ctx: GpuContext, c: GpuKvCache, pos0: number, n: number): Promise<Float32Array> {
  const runs = c.runs(pos0, n);
  return ctx.readBack(runs.length * runs[0]!.bytes, (staging) => runs.forEach((r, i) => ctx.rec.copy(r.plane, r.offset, staging, i * r.bytes, r.bytes)));
}

/** Writes positions [pos0, pos0 + n) from readKv-ordered floats, rounded to the cache type as storeKv would. */
export function writeKvFloats(ctx: GpuContext, c: GpuKvCache, pos0: number, n: number, floats: Float32Array): void {
  // A typed cache holds what its type stores: round the floats as storeKv would (exact values pass unchanged).
  const data = kvTypeOf(c.layout) === "f32" ? floats : kvBytesToFloats(c.layout, kvFloatsToBytes(c.layout, floats));
  if (data.length !== n * kvFloatsPerPosition(c.layout)) throw new RangeError(`writeKv: expected ${n * kvFloatsPerPosition(c.layout)} floats, got ${data.length}`);
  const runs = c.runs(pos0, n);
  ctx.rec.flush(); // queue writes land before later submissions, so recorded work goes first
  runs.forEach((r, i) => ctx.device.queue.writeBuffer(r.plane, r.offset, data.buffer, data.byteOffset + i * r.bytes, r.bytes));
}
