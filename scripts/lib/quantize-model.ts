// Quantizes a whole F32/F16 GGUF model to a llama.cpp mix (Q8_0, Q4_0, Q2_K, Q3_K_M, Q4_K_M, Q5_K_M, Q6_K) as llama_model_quantize does without an imatrix.
import { GgmlType, ggmlTypeName, gguf, metaOptNumber, metaOptString, type GgufFile, type GgufValue, type GgufWriteSpec, type GgufTensorSpec, tensorData } from "../../src/gguf/index";
import { dequantize } from "../../src/quant/dequantize";
import { quantize } from "../../src/quant/quantize";
import { OUTPUT, tensorLayer } from "../../src/engine/tensor-names";
import { QUANT_MIXES, mixTensorType, type MixModel, type QuantMix } from "./quant-mix";

/** Target mixes the model quantizer offers, with the `general.file_type` (llama_ftype) each writes. */
export const MODEL_QUANT_TYPES = QUANT_MIXES;
export type ModelQuantType = QuantMix;

/** `general.quantization_version` llama.cpp writes (GGML_QNT_VERSION). */
export const QUANTIZATION_VERSION = 2;

export interface QuantizeModelOptions {
  readonly type: ModelQuantType;
  /** Every matrix gets the mix's default type (llama.cpp's `pure`); otherwise the mix's rules (quant-mix.ts). */
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

/** What the mixture rules need from the file: layer count, GQA ratio, tied embeddings. */
export function mixModelOf(file: GgufFile): MixModel {
  const arch = metaOptString(file, "general.architecture") ?? "llama";
  const heads = metaOptNumber(file, `${arch}.attention.head_count`) ?? 1;
  const kvHeads = metaOptNumber(file, `${arch}.attention.head_count_kv`) ?? heads;
  return {
    nLayers: file.tensors.filter((t) => t.name.endsWith(".attn_v.weight")).length,
    nGqa: Math.max(1, Math.trunc(heads / kvHeads)),
    tiedEmbeddings: !file.tensorByName.has(OUTPUT),
  };
}

/**
 * The stored type of one tensor after quantization: vectors and norms keep their type; matrices get the mix's
 * type (quant-mix.ts), falling back where rows are not whole blocks (stories260K's 172-wide ffn_down becomes F16).
 */
export function targetTensorType(name: string, dims: readonly number[], from: number, opts: QuantizeModelOptions, model: MixModel): number {
  return mixTensorType(name, dims, from, opts.type, model, opts.pure ?? false);
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

  const model = mixModelOf(file);
  const ordered = [...file.tensors].sort((a, b) => compareTensorNames(a.name, b.name));
  const plan: TensorPlan[] = [];
  const tensors: GgufTensorSpec[] = [];
  const counts = new Map<string, number>();
  for (const t of ordered) {
    const to = targetTensorType(t.name, t.dims, t.type, opts, model);
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
