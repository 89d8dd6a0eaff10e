// GGUF tensor names of the llama architecture, built by one helper so no name is spelled twice.

export const TOKEN_EMBD = "token_embd.weight";
export const OUTPUT_NORM = "output_norm.weight";
export const OUTPUT = "output.weight";

/** Per-block tensor suffixes, as in `blk.${i}.attn_q.weight`. */
export type BlockTensor =
  | "attn_norm"
  | "attn_q"
  | "attn_k"
  | "attn_v"
  | "attn_output"
  | "ffn_norm"
  | "ffn_gate"
  | "ffn_up"
  | "ffn_down";

export function blockTensorName(layer: number, tensor: BlockTensor): string {
  return `blk.${layer}.${tensor}.weight`;
}
