// The model families the engine runs: each is the llama graph plus a row of switches, never a copied forward pass.
import type { RopeStyle } from "../backends/backend";

/** What one architecture changes in the llama graph. */
export interface ArchTraits {
  /** Pair layout of the rotary embedding (llama.cpp's LLAMA_ROPE_TYPE_NORM or _NEOX for the architecture). */
  readonly ropeStyle: RopeStyle;
  /** q/k/v projections carry a bias (blk.N.attn_{q,k,v}.bias), added after the matmul. */
  readonly qkvBias: boolean;
  /** Each query and key head is RMS-normalised (blk.N.attn_{q,k}_norm.weight, headDim floats) before RoPE. */
  readonly qkNorm: boolean;
}

/**
 * Architectures by their GGUF general.architecture name. "llama" covers Llama 1/2/3/3.1/3.2, SmolLM2, TinyLlama and
 * Mistral 7B (llama.cpp converts Mistral to "llama" too).
 */
export const ARCHITECTURES = Object.freeze({
  llama: { ropeStyle: "norm", qkvBias: false, qkNorm: false },
  qwen2: { ropeStyle: "neox", qkvBias: true, qkNorm: false },
  qwen3: { ropeStyle: "neox", qkvBias: false, qkNorm: true },
} satisfies Record<string, ArchTraits>);

export type Architecture = keyof typeof ARCHITECTURES;

export function isArchitecture(name: string): name is Architecture {
  return Object.hasOwn(ARCHITECTURES, name);
}
