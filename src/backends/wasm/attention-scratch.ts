// Scratch bytes the f32-cache attention kernel takes (kernels/wasm/attention.ts), for the backend and memory budgets.

/**
 * The f32 kernel's scores scratch for a context of nCtx positions: a row of scores per query head (it walks the cache
 * once for all KV heads, a chunk of positions at a time), then 16 bytes its cache touches store to.
 */
export function f32ScoresBytes(nHeads: number, nCtx: number): number {
  return nHeads * nCtx * 4 + 16;
}
