// Attention on an f16 or q8_0 KV cache in the wasm backend: decode fused (no f32 copy), batches on per-KV-head f32 planes.
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

/** Batches of up to this many tokens take attention_typed (kernels/wasm/attention-typed.ts); longer ones the planes. */
export const FUSED_MAX_TOKENS = 1;
/** attention_typed's run buffer holds four positions of up to this many floats. */
const FUSED_MAX_HEAD_DIM = 1024;

/**
 * Bytes of each of the two f32 planes ("kvK", "kvV") that attention on an f16 or q8_0 cache of nCtx positions decodes
 * one KV head into for a batch of tokens (the model host counts them before a context's first pass; one-token calls
 * use none).
 */
export function decodePlaneBytes(nCtx: number, headDim: number): number {
  return nCtx * headDim * 4;
}

/**
 * out = attention of q over the layer's first pos0 + nTokens positions. The query as the K type's dot takes it
 * (f16-rounded, or Q8_0-quantized and back: d·q is exact). One token: attention_typed on the stored rows (the same
 * sums, in the same order, as below: the same bits). A batch: one KV head at a time, that head's slice of the
 * stored rows decoded to their exact f32 values in two compact [nPos][headDim] planes and the f32 kernel run on the
 * head's group of query heads. Per (token, query head) these are the sums of the f32 kernel on a whole decoded layer,
 * in the same order, so the same bits; the planes take nCtx × headDim floats each instead of nCtx × kvDim. A head's
 * slice is whole q8_0 blocks: a q8_0 layout needs headDim % 32 = 0 (checkKvLayout, as llama.cpp), so no layout
 * needs the whole layer decoded.
 */
export function typedAttention(
  k: KernelExports,
  scratch: (slot: "kvQ" | "kvK" | "kvV", bytes: number) => number,
  out: number,
  q: number,
  c: TypedKvLayer,
  scores: number,
  pos0: number,
  nTokens: number,
  shape: AttentionShape,
): void {
  const { nHeads, nKvHeads, headDim } = shape;
  const group = nHeads / nKvHeads;
  const code = KV_CODE[c.type];
  const qn = nTokens * nHeads * headDim;
  const qr = scratch("kvQ", qn * 4 + kvRowBytes(c.type, qn));
  if (c.type === "f16") k.round_f16(qr, q, qn);
  else {
    k.kv_encode(qr + qn * 4, q, qn, code);
    k.kv_decode(qr, qr + qn * 4, qn, code);
  }
  // One token (decode): the fused kernel decodes each run of positions as it goes, no planes. A batch: the planes,
  // decoded once per KV head and read by every token, since the fused kernel would decode them once per token.
  if (nTokens <= FUSED_MAX_TOKENS && headDim <= FUSED_MAX_HEAD_DIM) {
    k.attention_typed(out, qr, c.k, c.v, scores, pos0, nTokens, nHeads, nKvHeads, headDim, c.rowBytes, code);
    return;
  }
  const plane = decodePlaneBytes(c.nCtx, headDim);
  const [kp, vp] = [scratch("kvK", plane), scratch("kvV", plane)];
  const nPos = pos0 + nTokens;
  const headBytes = kvRowBytes(c.type, headDim);
  // On an F16 cache the softmax weights are rounded to f16 too: llama.cpp multiplies V by them as an F16 matmul.
  const weightsF16 = c.type === "f16" ? 1 : 0;
  for (let g = 0; g < nKvHeads; g++) {
    k.kv_decode_rows(kp, c.k + g * headBytes, nPos, c.rowBytes, headDim, code);
    k.kv_decode_rows(vp, c.v + g * headBytes, nPos, c.rowBytes, headDim, code);
    const at = g * group * headDim * 4;
    k.attention_kv_head(out + at, qr + at, kp, vp, scores, pos0, nTokens, nHeads * headDim * 4, group, headDim, headDim * 4, weightsF16);
  }
}
