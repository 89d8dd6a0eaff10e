// Attention on an f16 or q8_0 KV cache in the wasm backend: attention_typed reads the stored rows, no f32 copy of the cache.
import type { AttentionShape } from "../backend";
import { kvRowBytes, type KvType } from "../kv-format";
import type { KernelExports } from "./kernel-exports";
import { KV_CODE } from "./wasm-handles";

/** One layer of a typed cache: its K and V planes of nCtx rows of rowBytes each. */
export interface TypedKvLayer {
  readonly type: Exclude<KvType, "f32">;
  readonly nCtx: number;
  readonly rowBytes: number;
  readonly k: number;
  readonly v: number;
}

/**
 * Tokens of a batch attention_typed serves per pass over the cache (each run of it decoded once for them): 8 on an f16
 * cache, whose decode is cheap; 32, a whole prefill pass, on q8_0, whose decode costs about as much as the f32 planes'
 * single decode did, so a batch decodes each row once as before.
 */
export function typedTile(type: Exclude<KvType, "f32">): number {
  return type === "f16" ? 8 : 32;
}
/** attention_typed's run buffer (16 KiB) holds four positions of up to this many floats. */
const MAX_HEAD_DIM = 1024;

/**
 * Scratch bytes ("kvK") a batch's attention on an f16 or q8_0 cache of nCtx positions takes beyond the backend's one
 * group of scores: the scores of a tile of tokens' query groups (the model host counts them before a context's first
 * pass; one-token calls use the backend's scores).
 */
export function typedScoresBytes(type: Exclude<KvType, "f32">, nCtx: number, group: number): number {
  return typedTile(type) * group * nCtx * 4;
}

/**
 * out = attention of q over the layer's first pos0 + nTokens positions. The query as the K type's dot takes it
 * (f16-rounded, or Q8_0-quantized and back: d·q is exact); then attention_typed, which decodes each run of stored
 * positions of a KV head to its exact f32 values in a 16 KiB buffer, once per tile of tokens, and attends the
 * head's group of query heads on it: per (token, query head) the sums of the f32 kernel on the whole decoded layer, in
 * the same order, so the same bits, with no f32 plane of the cache. q8_0 needs headDim % 32 = 0 (checkKvLayout, as
 * llama.cpp), so a head's slice of a row is whole blocks.
 */
export function typedAttention(
  k: KernelExports,
  scratch: (slot: "kvQ" | "kvK", bytes: number) => number,
  out: number,
  q: number,
  c: TypedKvLayer,
  scores: number,
  pos0: number,
  nTokens: number,
  shape: AttentionShape,
): void {
  const { nHeads, nKvHeads, headDim } = shape;
  if (headDim > MAX_HEAD_DIM) throw new RangeError(`attention on a ${c.type} KV cache supports head dimensions up to ${MAX_HEAD_DIM}, not ${headDim}`);
  const code = KV_CODE[c.type];
  const qn = nTokens * nHeads * headDim;
  const qr = scratch("kvQ", qn * 4 + kvRowBytes(c.type, qn));
  if (c.type === "f16") k.round_f16(qr, q, qn);
  else {
    k.kv_encode(qr + qn * 4, q, qn, code);
    k.kv_decode(qr, qr + qn * 4, qn, code);
  }
  // One token's scores fit the backend's group of rows; a batch's tile of tokens takes a group per token.
  const tileScores = nTokens === 1 ? scores : scratch("kvK", typedScoresBytes(c.type, c.nCtx, nHeads / nKvHeads));
  k.attention_typed(out, qr, c.k, c.v, tileScores, pos0, nTokens, nHeads, nKvHeads, headDim, c.rowBytes, code, typedTile(c.type));
}
