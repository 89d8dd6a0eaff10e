// GGUF tensor names of the llama architecture, built by one helper so no name is spelled twice.

export const TOKEN_EMBD = "token_embd.weight";
export const OUTPUT_NORM = "output_norm.weight";
export const OUTPUT = "output.weight";

/** Per-block tensor suffixes in the order llama.cpp's converter writes them within a block. */
export const BLOCK_TENSORS = [
  "attn_norm",
  "attn_q",
  "attn_k",
  "attn_v",
  "attn_output",
  "ffn_norm",
  "ffn_gate",
  "ffn_up",
  "ffn_down",
] as const;

/** Per-block tensor suffixes, as in `blk.${i}.attn_q.weight`. */
export type BlockTensor = (typeof BLOCK_TENSORS)[number];

const BLOCK_PREFIX = "blk.";

export function blockTensorName(layer: number, tensor: BlockTensor): string {
  return `${BLOCK_PREFIX}${layer}.${tensor}.weight`;
}

/** The layer index of a per-block tensor name ("blk.12.attn_q.weight" → 12), or −1 for any other name. */
export function tensorLayer(name: string): number {
  if (!name.startsWith(BLOCK_PREFIX)) return -1;
  const end = name.indexOf(".", BLOCK_PREFIX.length);
  const digits = name.slice(BLOCK_PREFIX.length, end);
  return end > BLOCK_PREFIX.length && /^\d+$/.test(digits) ? Number(digits) : -1;
}

/** llama 3's RoPE frequency divisors (rope scaling type "llama3"): ropeDims/2 floats. */
export const ROPE_FREQS = "rope_freqs.weight";

/** Per-block tensors only some architectures have (qwen2's projection biases, qwen3's per-head q/k norms). */
export type OptionalBlockTensor = "attn_q_norm" | "attn_k_norm";

export function optionalBlockTensorName(layer: number, tensor: OptionalBlockTensor): string {
  return `${BLOCK_PREFIX}${layer}.${tensor}.weight`;
}

/** The bias beside a projection weight: `blk.${i}.attn_q.bias`. */
export function blockBiasName(layer: number, tensor: "attn_q" | "attn_k" | "attn_v"): string {
  return `${BLOCK_PREFIX}${layer}.${tensor}.bias`;
}
