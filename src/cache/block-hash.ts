// Prompt-cache block addressing: a chain of sha256 hashes over (model identity, token prefix), and the block checksum.

/**
 * Tokens per cache block. Equal to the context's prefill batch (LlamaContext maxBatch, 32): a prompt restored from
 * k whole blocks prefills its remainder in the same batches a cold prefill uses from position 0, so every K/V byte
 * and every logit is computed exactly as without the cache (a 16-token block would shift the batch boundaries).
 */
export const BLOCK_TOKENS = 32;

const encoder = new TextEncoder();

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  // Every caller's bytes live in a plain ArrayBuffer (TextEncoder output or a new array), never a shared one.
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** What makes two caches' bytes interchangeable: the model file, the backend that computes, the KV type and layout. */
export interface CacheIdentity {
  /** The model's key in MODELS and its stored version (R2 etag): a re-uploaded file never reuses old blocks. */
  readonly model: string;
  readonly etag: string;
  /** The resolved backend (ref, wasm-relaxed, wasm-simd128, webgpu): kernels round differently, so they never share. */
  readonly backend: string;
  readonly kvType: string;
  readonly nLayers: number;
  readonly nKvHeads: number;
  readonly headDim: number;
}

/** The identity as one canonical string, the seed of every chain (n_ctx is not part of it: block bytes do not depend on it). */
export function identityKey(id: CacheIdentity): string {
  return JSON.stringify(["edge-llama-prompt-cache/1", id.model, id.etag, id.backend, id.kvType, id.nLayers, id.nKvHeads, id.headDim, BLOCK_TOKENS]);
}

/**
 * Hashes of the first `count` whole blocks of `tokens`: h0 = sha256(identity), h(i+1) = sha256(h(i) ‖ block i as
 * little-endian int32). A block's hash therefore names the model and every token up to the block's end, so equal
 * hashes mean equal prefixes (and a block is only ever restored after all the blocks before it).
 */
export async function blockHashes(identity: string, tokens: readonly number[], count: number, blockTokens = BLOCK_TOKENS): Promise<string[]> {
  if (!Number.isInteger(count) || count < 0 || count * blockTokens > tokens.length) throw new RangeError(`${count} blocks of ${blockTokens} tokens need more than the ${tokens.length} tokens given`);
  const out: string[] = [];
  let prev = await sha256(encoder.encode(identity));
  for (let i = 0; i < count; i++) {
    const buf = new Uint8Array(prev.length + 4 * blockTokens);
    buf.set(prev, 0);
    const view = new DataView(buf.buffer);
    for (let j = 0; j < blockTokens; j++) view.setInt32(prev.length + 4 * j, tokens[i * blockTokens + j]!, true);
    prev = await sha256(buf);
    out.push(hex(prev));
  }
  return out;
}

/** Whole blocks a lookup may restore from a prompt of n tokens: at least one token is left to prefill (its logits start decoding). */
export function lookupBlocks(n: number, blockTokens = BLOCK_TOKENS): number {
  return n <= 0 ? 0 : Math.floor((n - 1) / blockTokens);
}

/** The checksum stored with a block and verified on every read: sha256 of the block's bytes bound to its hash. */
export async function blockChecksum(hash: string, data: Uint8Array): Promise<string> {
  const key = encoder.encode(hash);
  const buf = new Uint8Array(key.length + data.length);
  buf.set(key, 0);
  buf.set(data, key.length);
  return hex(await sha256(buf));
}
