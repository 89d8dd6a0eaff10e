// Quantizes a whole F32/F16 GGUF model to Q8_0 or Q4_0 the way llama.cpp's llama_model_quantize does (no imatrix).
import { GgmlType, ggmlTypeName, gguf, type GgufFile, type GgufValue, type GgufWriteSpec, type GgufTensorSpec, tensorData } from "../../src/gguf/index";
import { dequantize } from "../../src/quant/dequantize";
import { quantize } from "../../src/quant/quantize";
import { OUTPUT, tensorLayer } from "../../src/engine/tensor-names";

/** Target types the model quantizer offers, with the `general.file_type` (llama_ftype) each writes. */
export const MODEL_QUANT_TYPES = {
  q8_0: { type: GgmlType.Q8_0, fileType: 7 },
  q4_0: { type: GgmlType.Q4_0, fileType: 2 },
} as const;
export type ModelQuantType = keyof typeof MODEL_QUANT_TYPES;

/** `general.quantization_version` llama.cpp writes (GGML_QNT_VERSION). */
export const QUANTIZATION_VERSION = 2;

export interface QuantizeModelOptions {
  readonly type: ModelQuantType;
  /**
   * Every matrix gets the target type (llama.cpp's `pure`). Otherwise, as llama.cpp's default mixture, q4_0 makes
   * output.weight Q8_0: llama.cpp wants Q6_K there (falling back to Q8_0 when rows are not whole 256-blocks); we have
   * no Q6_K quantizer, so it is Q8_0 always.
   */
  readonly pure?: boolean;
}

/** What happened to one tensor. */
export interface TensorPlan {
  readonly name: string;
  readonly dims: readonly number[];
  readonly from: number;
  readonly to: number;
}

export interface QuantizeModelResult {
  /** Ready for writeGguf: metadata, tensors in llama.cpp's order, alignment. */
  readonly spec: GgufWriteSpec;
  /** Per tensor, in output order. */
  readonly plan: readonly TensorPlan[];
  /** Output tensor counts by type name ("Q8_0" → 32, ...). */
  readonly counts: ReadonlyMap<string, number>;
}

const INPUT_TYPES: ReadonlySet<number> = new Set([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);

/** llama.cpp's tensor order in written files: non-layer tensors first, then by layer number, then by name. */
export function compareTensorNames(a: string, b: string): number {
  const la = tensorLayer(a);
  const lb = tensorLayer(b);
  if (la !== lb) return la - lb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The stored type of one tensor after quantization. Matrices (2-D or more, named *.weight) get the target type;
 * rows that are not whole 32-element blocks fall back to F16 (stories260K's ffn_down, 172 wide); vectors keep
 * their type. Without `pure`, q4_0 stores output.weight as Q8_0.
 */
export function targetTensorType(name: string, dims: readonly number[], from: number, opts: QuantizeModelOptions): number {
  if (dims.length < 2 || !name.endsWith("weight")) return from;
  let to: number = MODEL_QUANT_TYPES[opts.type].type;
  if (!opts.pure && name === OUTPUT && to === GgmlType.Q4_0) to = GgmlType.Q8_0;
  if (dims[0]! % 32 !== 0) to = GgmlType.F16;
  return to;
}

/** Quantizes every matrix of an F32/F16 model; throws if the model holds an already-quantized tensor. */
export function quantizeModel(file: GgufFile, opts: QuantizeModelOptions): QuantizeModelResult {
  const target = MODEL_QUANT_TYPES[opts.type];
  if (!target) throw new Error(`unknown quantization type "${String(opts.type)}"; known: ${Object.keys(MODEL_QUANT_TYPES).join(", ")}`);
  for (const t of file.tensors) {
    if (!INPUT_TYPES.has(t.type)) {
      throw new Error(
        `tensor ${t.name} is already ${ggmlTypeName(t.type)}: only F32/F16/BF16 models can be quantized (requantizing loses precision; start from the F32 or F16 file)`,
      );
    }
  }

  const ordered = [...file.tensors].sort((a, b) => compareTensorNames(a.name, b.name));
  const plan: TensorPlan[] = [];
  const tensors: GgufTensorSpec[] = [];
  const counts = new Map<string, number>();
  for (const t of ordered) {
    const to = targetTensorType(t.name, t.dims, t.type, opts);
    const raw = tensorData(file, t);
    const data = to === t.type ? raw : quantize(to, dequantize(t.type, raw, t.nElements));
    tensors.push({ name: t.name, dims: t.dims, type: to, data });
    plan.push({ name: t.name, dims: t.dims, from: t.type, to });
    counts.set(ggmlTypeName(to), (counts.get(ggmlTypeName(to)) ?? 0) + 1);
  }

  // As llama.cpp: all keys copied in order; the two it sets are removed and appended (gguf_set_val re-adds at the end).
  const metadata: [string, GgufValue][] = [];
  for (const [k, v] of file.metadata) {
    if (k !== "general.quantization_version" && k !== "general.file_type") metadata.push([k, v]);
  }
  metadata.push(["general.quantization_version", gguf.u32(QUANTIZATION_VERSION)]);
  metadata.push(["general.file_type", gguf.u32(target.fileType)]);

  return { spec: { metadata, tensors, alignment: file.alignment }, plan, counts };
}
