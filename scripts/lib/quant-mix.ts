// llama.cpp's quantization mixes (llama_tensor_get_type for dense llama-family models): which type each tensor gets.
//
// A mix such as Q4_K_M is a default type plus a few upgrades: the classifier to Q6_K, and attn_v / ffn_down of the
// first and last eighths of the layers (and every third one between) to Q6_K. Rows that a type's blocks do not
// divide fall back as llama.cpp's tensor_type_fallback does. Rules for MoE models, Falcon and 70B-class models are
// not modelled (the engine runs neither).
import { GgmlType } from "../../src/gguf/index";
import { GGML_TYPES } from "../../src/gguf/ggml-types";
import { OUTPUT, TOKEN_EMBD, tensorLayer } from "../../src/engine/tensor-names";

/** The mixes `npm run model:quantize` offers: default type and general.file_type (llama_ftype). */
export const QUANT_MIXES = {
  q8_0: { type: GgmlType.Q8_0, fileType: 7 },
  q4_0: { type: GgmlType.Q4_0, fileType: 2 },
  q2_k: { type: GgmlType.Q2_K, fileType: 10 },
  q3_k_m: { type: GgmlType.Q3_K, fileType: 12 },
  q4_k_m: { type: GgmlType.Q4_K, fileType: 15 },
  q5_k_m: { type: GgmlType.Q5_K, fileType: 17 },
  q6_k: { type: GgmlType.Q6_K, fileType: 18 },
} as const;
export type QuantMix = keyof typeof QUANT_MIXES;

/** What the rules need to know about the model. */
export interface MixModel {
  /** Number of layers (llama.cpp counts attn_v tensors). */
  readonly nLayers: number;
  /** Query heads per KV head. */
  readonly nGqa: number;
  /** No output.weight: token_embd doubles as the classifier and is typed like it. */
  readonly tiedEmbeddings: boolean;
}

const blockSize = (t: number) => GGML_TYPES.get(t)!.blockSize;

/** use_more_bits: the first and last eighth of the layers, and every third layer between. */
const moreBits = (i: number, n: number) => i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;

/** tensor_type_fallback: a type whose blocks do not divide the rows is demoted, and to F16 if that does not fit either. */
export function fallbackType(rowLength: number, type: number): number {
  if (rowLength % blockSize(type) === 0) return type;
  const demoted: Partial<Record<number, number>> = {
    [GgmlType.Q2_K]: GgmlType.Q4_0,
    [GgmlType.Q3_K]: GgmlType.Q4_0,
    [GgmlType.Q4_K]: GgmlType.Q5_0,
    [GgmlType.Q5_K]: GgmlType.Q5_1,
    [GgmlType.Q6_K]: GgmlType.Q8_0,
  };
  const to = demoted[type] ?? type;
  return rowLength % blockSize(to) === 0 ? to : GgmlType.F16;
}

/** The type llama.cpp gives a quantizable tensor under a mix (before the fallback). */
function ruleType(name: string, rowLength: number, mix: QuantMix, m: MixModel): number {
  const base: number = QUANT_MIXES[mix].type;
  const layer = tensorLayer(name);
  if (name === OUTPUT || (m.tiedEmbeddings && name === TOKEN_EMBD)) {
    if (rowLength % blockSize(base) !== 0) return GgmlType.Q8_0;
    return base === GgmlType.Q8_0 ? base : GgmlType.Q6_K;
  }
  if (name.endsWith(".attn_v.weight")) {
    if (mix === "q2_k") return m.nGqa >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
    if (mix === "q3_k_m") return layer < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
    if ((mix === "q4_k_m" || mix === "q5_k_m") && moreBits(layer, m.nLayers)) return GgmlType.Q6_K;
    return base;
  }
  if (name.endsWith(".ffn_down.weight")) {
    if (mix === "q2_k") return GgmlType.Q3_K;
    if (mix === "q3_k_m") return layer < Math.trunc(m.nLayers / 16) ? GgmlType.Q5_K : GgmlType.Q4_K;
    if ((mix === "q4_k_m" || mix === "q5_k_m") && moreBits(layer, m.nLayers)) return GgmlType.Q6_K;
    return base;
  }
  if (name.endsWith(".attn_output.weight")) {
    if (mix === "q2_k") return GgmlType.Q3_K;
    if (mix === "q3_k_m") return GgmlType.Q4_K;
  }
  return base;
}

/** Whether llama.cpp quantizes a tensor at all: 2-D+ `*weight` tensors that are not norms. */
export function isQuantizable(name: string, dims: readonly number[]): boolean {
  return dims.length >= 2 && name.endsWith("weight") && !name.includes("_norm.weight");
}

/** The stored type of one tensor: unchanged when not quantizable; else the mix's rule (or the default when pure), then the fallback. */
export function mixTensorType(name: string, dims: readonly number[], from: number, mix: QuantMix, m: MixModel, pure: boolean): number {
  if (!isQuantizable(name, dims)) return from;
  const want = pure ? QUANT_MIXES[mix].type : ruleType(name, dims[0]!, mix, m);
  return fallbackType(dims[0]!, want);
}

