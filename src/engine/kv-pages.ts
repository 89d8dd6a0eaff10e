// KV cache pages: fixed runs of positions across all layers, the unit in which a session persists and restores its cache.
import { kvFloatsPerPosition, type KvLayout } from "../backends/backend";
import type { LlamaContext } from "./context";

/** Largest page the storage layer accepts in one row (Durable Object SQLite rows must stay under 2 MB). */
export const MAX_PAGE_BYTES = 1 << 20;

/** Bytes of one position (K and V of every layer, float32). */
export function kvBytesPerPosition(layout: KvLayout): number {
  return kvFloatsPerPosition(layout) * 4;
}

/** Positions per page: as many as fit in maxBytes (at least one). */
export function positionsPerPage(layout: KvLayout, maxBytes = MAX_PAGE_BYTES): number {
  const per = kvBytesPerPosition(layout);
  if (per > maxBytes) throw new RangeError(`one KV position takes ${per} bytes, more than a page of ${maxBytes}`);
  return Math.floor(maxBytes / per);
}

/** Page `index` covers positions [start, end). */
export function pageSpan(index: number, perPage: number): { start: number; end: number } {
  return { start: index * perPage, end: (index + 1) * perPage };
}

/**
 * Pages to write after the cache grew from `before` to `after` evaluated positions: the partly filled last page
 * is rewritten whole (it is small), every later page is new. Nothing before it is touched.
 */
export function dirtyPages(before: number, after: number, perPage: number): number[] {
  if (after <= before) return [];
  const first = Math.floor(before / perPage);
  const last = Math.floor((after - 1) / perPage);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** The bytes of page `index` of a context's cache, holding only evaluated positions (layout of Backend.readKv). */
export function readPage(ctx: LlamaContext, index: number, perPage: number): Uint8Array {
  const { start, end } = pageSpan(index, perPage);
  const stop = Math.min(end, ctx.nEvaluated);
  if (start >= stop) return new Uint8Array(0);
  const floats = ctx.model.backend.readKv(ctx.cache, start, stop - start);
  return new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
}

/** Concatenates stored pages (in order) into the float array LlamaContext.restore expects for `evaluated` positions. */
export function joinPages(pages: readonly Uint8Array[], layout: KvLayout, evaluated: number): Float32Array {
  const perPos = kvFloatsPerPosition(layout);
  const out = new Float32Array(evaluated * perPos);
  // Pages are [layer][k|v][pos][kvDim] each, so positions interleave per layer: copy layer by layer.
  const kvDim = layout.nKvHeads * layout.headDim;
  let pos0 = 0;
  for (const page of pages) {
    if (page.byteLength % (perPos * 4) !== 0) throw new RangeError(`KV page of ${page.byteLength} bytes is not a whole number of positions`);
    const n = page.byteLength / (perPos * 4);
    const floats = new Float32Array(page.slice().buffer);
    for (let part = 0; part < layout.nLayers * 2; part++) {
      const src = floats.subarray(part * n * kvDim, (part + 1) * n * kvDim);
      out.set(src.subarray(0, Math.max(0, Math.min(n, evaluated - pos0)) * kvDim), part * evaluated * kvDim + pos0 * kvDim);
    }
    pos0 += n;
  }
  if (pos0 < evaluated) throw new RangeError(`KV pages hold ${pos0} positions, ${evaluated} needed`);
  return out;
}
