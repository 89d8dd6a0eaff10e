// Synthesizes deterministic random-weight llama GGUF v3 models (shape, weight type, seed, vocabulary) as bytes.
import { ARCH_KEY, KEY, archKey, gguf, writeGguf, type GgufFile, type GgufValue } from "../../../src/gguf/index";
import { GgmlType } from "../../../src/gguf/ggml-types";
import {
  BLOCK_TENSORS,
  OUTPUT,
  OUTPUT_NORM,
  ROPE_FREQS,
  TOKEN_EMBD,
  blockBiasName,
  blockTensorName,
  optionalBlockTensorName,
  type BlockTensor,
} from "../../../src/engine/tensor-names";
import { RMS_EPS, headDimOf, resolveShape, type SynthOverrides, type SynthShape, type SynthShapeName } from "./shapes";
import { isQuantized, matrixType, resolveType, type SynthTypeName } from "./weight-types";
import { synthTokenizer, tokenizerFromGguf, type MetadataEntry, type SynthTokenizer } from "./tokenizer";
import { synthTensorData, type SynthTensorSpec } from "./weights";

export { RMS_EPS, SHAPE_INT_FIELDS, SYNTH_ARCHS, SYNTH_SHAPES, headDimOf, resolveShape } from "./shapes";
export type { SynthArch, SynthOverrides, SynthShape, SynthShapeName } from "./shapes";
export { LLAMA_FTYPE, SYNTH_TYPES, matrixType, resolveType } from "./weight-types";
export type { SynthTypeName, SynthWeightType } from "./weight-types";
export { WEIGHT_STD, synthTensorData, type SynthTensorSpec } from "./weights";
export { synthTokenizer, tokenizerFromGguf, type SynthTokenizer } from "./tokenizer";

export interface SynthOptions {
  /** A preset name (SYNTH_SHAPES) or a whole shape. */
  readonly shape: SynthShapeName | SynthShape;
  /** Fields replacing the shape's (dim, layers, vocab, tied, ...). */
  readonly overrides?: SynthOverrides;
  /** A SYNTH_TYPES name: "f32", "f16", "bf16", "q8_0", "q4_0", ... */
  readonly type: SynthTypeName;
  /** Any non-negative safe integer; the same options always give the same bytes. */
  readonly seed: number;
  /**
   * Take the vocabulary and chat template from this GGUF (parsed, or its bytes; a vocab-only file will do): every
   * tokenizer.* key is copied and the vocab size becomes its token count. Default: the synthetic SentencePiece vocab.
   */
  readonly vocabFrom?: GgufFile | Uint8Array;
}

export interface SynthTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: GgmlType;
  readonly data: Uint8Array;
}

/** Options resolved once: the final shape (vocab size included) and, when asked for, the tokenizer keys. */
interface Resolved {
  readonly shape: SynthShape;
  readonly tokenizer?: SynthTokenizer;
}

function resolve(opts: SynthOptions, withTokenizer: boolean): Resolved {
  const base = resolveShape(opts.shape, opts.overrides);
  resolveType(opts.type);
  if (opts.vocabFrom === undefined) return { shape: base, tokenizer: withTokenizer ? synthTokenizer(base.vocab) : undefined };
  const tokenizer = tokenizerFromGguf(opts.vocabFrom);
  const asked = opts.overrides?.vocab;
  if (asked !== undefined && asked !== tokenizer.size) {
    throw new RangeError(`vocab ${asked} conflicts with the vocabulary source's ${tokenizer.size} tokens; leave vocab out`);
  }
  return { shape: resolveShape({ ...base, vocab: tokenizer.size }), tokenizer };
}

/** The final shape of these options: overrides applied, vocab size taken from `vocabFrom` when given. */
export function synthShapeOf(opts: SynthOptions): SynthShape {
  return resolve(opts, false).shape;
}

/** The tensor table (names, dims, types) for a shape and requested type, in file order. */
export function synthTensorSpecs(shapeArg: SynthShapeName | SynthShape, typeName: SynthTypeName): SynthTensorSpec[] {
  const s = resolveShape(shapeArg);
  const want = resolveType(typeName).ggml;
  const headDim = headDimOf(s);
  const [qDim, kvDim] = [headDim * s.heads, headDim * s.kvHeads];
  const norm = (name: string): SynthTensorSpec => ({ name, dims: [s.dim], type: GgmlType.F32, init: "ones" });
  const vector = (name: string, length: number, init: SynthTensorSpec["init"]): SynthTensorSpec => ({ name, dims: [length], type: GgmlType.F32, init });
  const matrix = (name: string, rowLen: number, rows: number): SynthTensorSpec => ({ name, dims: [rowLen, rows], type: matrixType(want, rowLen), init: "normal" });
  // [row length, rows] of each block matrix; a Record so a tensor added to BLOCK_TENSORS must be given a shape here.
  const block: Record<BlockTensor, readonly [number, number] | "norm"> = {
    attn_norm: "norm",
    attn_q: [s.dim, qDim],
    attn_k: [s.dim, kvDim],
    attn_v: [s.dim, kvDim],
    attn_output: [qDim, s.dim],
    ffn_norm: "norm",
    ffn_gate: [s.dim, s.ffn],
    ffn_up: [s.dim, s.ffn],
    ffn_down: [s.ffn, s.dim],
  };
  // llama.cpp's converter writes rope_freqs first; qwen2's biases and qwen3's q/k norms follow their block's matrices.
  const specs = [...(s.ropeFreqs ? [vector(ROPE_FREQS, headDim / 2, "ramp")] : []), matrix(TOKEN_EMBD, s.dim, s.vocab)];
  for (let i = 0; i < s.layers; i++) {
    for (const t of BLOCK_TENSORS) {
      const d = block[t];
      specs.push(d === "norm" ? norm(blockTensorName(i, t)) : matrix(blockTensorName(i, t), d[0], d[1]));
    }
    if (s.arch === "qwen2") {
      specs.push(vector(blockBiasName(i, "attn_q"), qDim, "bias"), vector(blockBiasName(i, "attn_k"), kvDim, "bias"), vector(blockBiasName(i, "attn_v"), kvDim, "bias"));
    }
    if (s.arch === "qwen3") {
      specs.push(vector(optionalBlockTensorName(i, "attn_q_norm"), headDim, "scale"), vector(optionalBlockTensorName(i, "attn_k_norm"), headDim, "scale"));
    }
  }
  specs.push(norm(OUTPUT_NORM));
  if (!s.tied) specs.push(matrix(OUTPUT, s.dim, s.vocab));
  return specs;
}

const { u32, f32, str } = gguf;

function metadataOf(s: SynthShape, tokenizer: SynthTokenizer, opts: SynthOptions): MetadataEntry[] {
  const t = resolveType(opts.type);
  const arch = s.arch ?? "llama";
  const llama = (suffix: string, v: GgufValue): MetadataEntry => [archKey(arch, suffix), v];
  return [
    [KEY.architecture, str(arch)],
    [KEY.name, str(`synthetic-${s.name}-${opts.type}-seed${opts.seed}`)],
    [KEY.fileType, u32(t.fileType)],
    ...(isQuantized(t.ggml) ? [[KEY.quantVersion, u32(2)] as MetadataEntry] : []),
    llama(ARCH_KEY.vocabSize, u32(s.vocab)),
    llama(ARCH_KEY.contextLength, u32(s.context)),
    llama(ARCH_KEY.embeddingLength, u32(s.dim)),
    llama(ARCH_KEY.blockCount, u32(s.layers)),
    llama(ARCH_KEY.feedForwardLength, u32(s.ffn)),
    llama(ARCH_KEY.headCount, u32(s.heads)),
    llama(ARCH_KEY.headCountKv, u32(s.kvHeads)),
    llama(ARCH_KEY.rmsEps, f32(s.rmsEps ?? RMS_EPS)),
    ...(s.headDim !== undefined ? [llama("attention.key_length", u32(s.headDim)), llama("attention.value_length", u32(s.headDim))] : []),
    llama(ARCH_KEY.ropeDimensionCount, u32(headDimOf(s))),
    llama(ARCH_KEY.ropeFreqBase, f32(s.ropeBase)),
    ...tokenizer.entries,
  ];
}

/** The metadata key/value list, in file order. */
export function synthMetadata(opts: SynthOptions): MetadataEntry[] {
  const r = resolve(opts, true);
  return metadataOf(r.shape, r.tokenizer!, opts);
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
}

function* tensorsOf(shape: SynthShape, opts: SynthOptions): Generator<SynthTensor> {
  for (const spec of synthTensorSpecs(shape, opts.type)) {
    yield { name: spec.name, dims: spec.dims, type: spec.type, data: synthTensorData(spec, opts.seed) };
  }
}

/** The tensors one at a time (each one's F32 values are dropped before the next is made). */
export function* synthTensors(opts: SynthOptions): Generator<SynthTensor> {
  checkSeed(opts.seed);
  yield* tensorsOf(synthShapeOf(opts), opts);
}

/** A complete GGUF v3 file as one buffer (the CLI writes it; tests and benchmarks use it in memory). */
export function synthModel(opts: SynthOptions): Uint8Array {
  checkSeed(opts.seed);
  const r = resolve(opts, true);
  return writeGguf({ metadata: metadataOf(r.shape, r.tokenizer!, opts), tensors: [...tensorsOf(r.shape, opts)] });
}
