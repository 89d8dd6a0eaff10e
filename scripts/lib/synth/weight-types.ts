// Weight types the generator can write: every type src/quant can both quantize and dequantize, with its llama_ftype.
import { GGML_TYPES, GgmlType, ggmlTypeName } from "../../../src/gguf/ggml-types";
import { QUANTIZE_TYPES, isDequantizable } from "../../../src/quant/index";

/**
 * general.file_type (llama.cpp's llama_ftype) of a model whose matrices are all one ggml type: the value
 * llama_model_loader guesses from the dominant tensor type (K-quants map to their _M mix, as llama-quantize's
 * "Q4_K" alias does). Types missing here have no llama_ftype.
 */
export const LLAMA_FTYPE: ReadonlyMap<GgmlType, number> = new Map([
  [GgmlType.F32, 0],
  [GgmlType.F16, 1],
  [GgmlType.Q4_0, 2],
  [GgmlType.Q4_1, 3],
  [GgmlType.Q8_0, 7],
  [GgmlType.Q5_0, 8],
  [GgmlType.Q5_1, 9],
  [GgmlType.Q2_K, 10],
  [GgmlType.Q3_K, 12],
  [GgmlType.Q4_K, 15],
  [GgmlType.Q5_K, 17],
  [GgmlType.Q6_K, 18],
  [GgmlType.IQ2_XXS, 19],
  [GgmlType.IQ2_XS, 20],
  [GgmlType.IQ3_XXS, 23],
  [GgmlType.IQ1_S, 24],
  [GgmlType.IQ4_NL, 25],
  [GgmlType.IQ3_S, 26],
  [GgmlType.IQ2_S, 28],
  [GgmlType.IQ4_XS, 30],
  [GgmlType.IQ1_M, 31],
  [GgmlType.BF16, 32],
  [GgmlType.TQ1_0, 36],
  [GgmlType.TQ2_0, 37],
  [GgmlType.MXFP4, 38],
]);

/**
 * llama.cpp's llama_tensor_get_type fallback for a row that does not fill whole blocks of the wanted type. A type not
 * listed here (the 32-blocks Q4_0, Q8_0, ...) falls back to F16, as this repo's model quantizer does.
 */
const LLAMA_FALLBACK: ReadonlyMap<GgmlType, GgmlType> = new Map([
  [GgmlType.TQ1_0, GgmlType.Q4_0],
  [GgmlType.TQ2_0, GgmlType.Q4_0],
  [GgmlType.IQ2_XXS, GgmlType.IQ4_NL],
  [GgmlType.IQ2_XS, GgmlType.IQ4_NL],
  [GgmlType.IQ2_S, GgmlType.IQ4_NL],
  [GgmlType.IQ3_XXS, GgmlType.IQ4_NL],
  [GgmlType.IQ3_S, GgmlType.IQ4_NL],
  [GgmlType.IQ1_S, GgmlType.IQ4_NL],
  [GgmlType.IQ1_M, GgmlType.IQ4_NL],
  [GgmlType.Q2_K, GgmlType.IQ4_NL],
  [GgmlType.Q3_K, GgmlType.IQ4_NL],
  [GgmlType.IQ4_XS, GgmlType.IQ4_NL],
  [GgmlType.Q4_K, GgmlType.Q5_0],
  [GgmlType.Q5_K, GgmlType.Q5_1],
  [GgmlType.Q6_K, GgmlType.Q8_0],
]);

export interface SynthWeightType {
  /** The ggml type of 2-D weights (norms stay F32). */
  readonly ggml: GgmlType;
  /** general.file_type. */
  readonly fileType: number;
}

/** Lower-case type names ("f32", "bf16", "q8_0", ...): the one table, built from src/quant's QUANTIZE_TYPES. */
export const SYNTH_TYPES: Readonly<Record<string, SynthWeightType>> = Object.freeze(
  Object.fromEntries(
    QUANTIZE_TYPES.filter((t) => isDequantizable(t) && LLAMA_FTYPE.has(t)).map((t) => [
      ggmlTypeName(t).toLowerCase(),
      Object.freeze({ ggml: t, fileType: LLAMA_FTYPE.get(t)! }),
    ]),
  ),
);
/** A key of SYNTH_TYPES; a string because the table follows QUANTIZE_TYPES at run time. */
export type SynthTypeName = string;

export function resolveType(t: SynthTypeName): SynthWeightType {
  const info = Object.hasOwn(SYNTH_TYPES, t) ? SYNTH_TYPES[t] : undefined;
  if (!info) throw new RangeError(`unknown type "${String(t)}"; known: ${Object.keys(SYNTH_TYPES).join(", ")}`);
  return info;
}

const blockSize = (t: GgmlType): number => GGML_TYPES.get(t)!.blockSize;

/** True for block-quantized types (ggml_is_quantized): these files carry general.quantization_version. */
export const isQuantized = (t: GgmlType): boolean => blockSize(t) > 1;

/**
 * The stored type of a matrix with rows of `rowLen` values when `want` is asked for: `want` when the rows fill whole
 * blocks, else llama.cpp's fallback type when that fits (and src/quant can write it), else F16.
 */
export function matrixType(want: GgmlType, rowLen: number): GgmlType {
  if (rowLen % blockSize(want) === 0) return want;
  const fallback = LLAMA_FALLBACK.get(want);
  if (fallback !== undefined && rowLen % blockSize(fallback) === 0 && QUANTIZE_TYPES.includes(fallback)) return fallback;
  return GgmlType.F16;
}
