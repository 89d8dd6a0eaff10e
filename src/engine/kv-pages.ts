// KV cache pages: fixed runs of positions across all layers, the unit in which a session persists and restores its cache.
import type { KvLayout } from "../backends/backend";
import { kvBytesPerPosition, kvRowBytes, kvTypeOf } from "../backends/kv-format";
import type { LlamaContext } from "./context";

/** Largest page the storage layer accepts in one row (Durable Object SQLite rows must stay under 2 MB). */
export const MAX_PAGE_BYTES = 1 << 20;

/** Bytes of one position (K and V of every layer, in the layout's KV type: f32 4, f16 2, q8_0 34/32 bytes per element). */
export { kvBytesPerPosition };

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

/**
 * The bytes of page `index` of a context's cache, holding only evaluated positions: the cache's stored bytes in the
 * layout of Backend.readKvBytes (an f16 or q8_0 cache is stored as it is held, never widened to floats).
 */
export function readPage(ctx: LlamaContext, index: number, perPage: number): Uint8Array {
  const { start, end } = pageSpan(index, perPage);
  const stop = Math.min(end, ctx.nEvaluated);
  if (start >= stop) return new Uint8Array(0);
  return ctx.model.backend.readKvBytes(ctx.cache, start, stop - start);
}

/** Concatenates stored pages (in order) into the bytes LlamaContext.restore expects for `evaluated` positions. */
export function joinPages(pages: readonly Uint8Array[], layout: KvLayout, evaluated: number): Uint8Array {
  const perPos = kvBytesPerPosition(layout);
  const row = kvRowBytes(kvTypeOf(layout), layout.nKvHeads * layout.headDim);
  const out = new Uint8Array(evaluated * perPos);
  // Pages are [layer][k|v][pos][row] each, so positions interleave per layer: copy layer by layer.
  let pos0 = 0;
  for (const page of pages) {
    if (page.byteLength % perPos !== 0) throw new RangeError(`KV page of ${page.byteLength} bytes is not a whole number of positions`);
    const n = page.byteLength / perPos;
    const take = Math.max(0, Math.min(n, evaluated - pos0));
    for (let part = 0; part < layout.nLayers * 2; part++) {
      const src = page.subarray(part * n * row, part * n * row + take * row);
      out.set(src, part * evaluated * row + pos0 * row);
    }
    pos0 += n;
  }
  if (pos0 < evaluated) throw new RangeError(`KV pages hold ${pos0} positions, ${evaluated} needed`);
  return out;
}
