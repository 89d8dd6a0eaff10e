// The f32-cache attention kernel's (kernels/wasm/attention.ts) scratch bytes and whether it touches the cache ahead.

/**
 * The f32 kernel's scores scratch for a context of nCtx positions: a row of scores per query head (it walks the cache
 * once for all KV heads, a chunk of positions at a time), then 16 bytes its cache touches store to.
 */
export function f32ScoresBytes(nHeads: number, nCtx: number): number {
  return nHeads * nCtx * 4 + 16;
}

/**
 * Bytes of weights and KV above which a decode step's working set cannot stay in a last-level cache (32 MiB: an AMD
 * EPYC core complex's L3), so each layer's K and V come from memory, where touching each chunk in address order first
 * brings them in faster than the dots' strided loads (SmolLM2-135M Q4_0, 80 MiB of weights). Below it (stories15M
 * Q4_0, 15 MiB) they are still in L3, where the dots' own loads are the faster way and the touches only add reads.
 */
export const COLD_WORKING_SET_BYTES = 32 * 2 ** 20;

/** The kernel's touch argument for a backend holding weightsBytes of weights and a cache of kvBytes. */
export function touchKv(weightsBytes: number, kvBytes: number): number {
  return weightsBytes + kvBytes > COLD_WORKING_SET_BYTES ? 1 : 0;
}
