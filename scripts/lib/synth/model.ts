// Synthesizes deterministic random-weight llama GGUF v3 models (shape, tensor type, seed) as bytes; runtime-agnostic.
import { writeGguf } from "../../../src/gguf/index";
import { GgmlType, ggmlRowBytes } from "../../../src/gguf/ggml-types";
import { GgufValueType, type GgufValue } from "../../../src/gguf/types";
import { quantizeF16, quantizeQ4_0, quantizeQ8_0 } from "../../../src/quant/index";
import { Rng } from "../../../src/engine/rng";
import { BOS_ID, EOS_ID, UNK_ID, synthVocab } from "./vocab";

/** Hyperparameters of a synthetic llama. */
export interface SynthShape {
  readonly name: string;
  readonly dim: number;
  readonly ffn: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly vocab: number;
  readonly context: number;
  /** No output.weight: the engine uses token_embd as the classifier. */
  readonly tied: boolean;
  readonly ropeBase: number;
}

const shape = (s: SynthShape): SynthShape => Object.freeze(s);

/** The built-in shapes: two real architectures' sizes (random weights) and a tiny one for tests. */
export const SYNTH_SHAPES = Object.freeze({
  stories15M: shape({ name: "stories15M", dim: 288, ffn: 768, layers: 6, heads: 6, kvHeads: 6, vocab: 32000, context: 256, tied: false, ropeBase: 10000 }),
  "smollm2-135m": shape({ name: "smollm2-135m", dim: 576, ffn: 1536, layers: 30, heads: 9, kvHeads: 3, vocab: 49152, context: 2048, tied: true, ropeBase: 100000 }),
  tiny: shape({ name: "tiny", dim: 64, ffn: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 320, context: 128, tied: false, ropeBase: 10000 }),
});
export type SynthShapeName = keyof typeof SYNTH_SHAPES;

/** Requested weight types: the ggml type of 2-D weights and the general.file_type value (llama_ftype). */
export const SYNTH_TYPES = Object.freeze({
  f32: { ggml: GgmlType.F32, fileType: 0 },
  f16: { ggml: GgmlType.F16, fileType: 1 },
  q8_0: { ggml: GgmlType.Q8_0, fileType: 7 },
  q4_0: { ggml: GgmlType.Q4_0, fileType: 2 },
});
export type SynthTypeName = keyof typeof SYNTH_TYPES;

export interface SynthOptions {
  readonly shape: SynthShapeName | SynthShape;
  readonly type: SynthTypeName;
  /** Any non-negative safe integer; the same options always give the same bytes. */
  readonly seed: number;
}

/** One tensor-table entry; `init` says how its values are made. */
export interface SynthTensorSpec {
  readonly name: string;
  /** GGUF ne: dims[0] is the row length. */
  readonly dims: readonly number[];
  readonly type: GgmlType;
  readonly init: "ones" | "normal";
}

export interface SynthTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: GgmlType;
  readonly data: Uint8Array;
}

/** Standard deviation of the random weights. */
export const WEIGHT_STD = 0.02;
export const RMS_EPS = 1e-5;
/** Quantized blocks hold 32 values; rows of other lengths fall back to F16 (as llama.cpp's quantizer does). */
const QUANT_BLOCK = 32;

function resolveShape(s: SynthShapeName | SynthShape): SynthShape {
  const sh = typeof s === "string" ? SYNTH_SHAPES[s] : s;
  if (!sh) throw new RangeError(`unknown shape "${String(s)}"; known: ${Object.keys(SYNTH_SHAPES).join(", ")}`);
  const ints = [sh.dim, sh.ffn, sh.layers, sh.heads, sh.kvHeads, sh.vocab, sh.context];
  if (!ints.every((v) => Number.isInteger(v) && v > 0)) throw new RangeError(`shape ${sh.name}: sizes must be positive integers`);
  if (sh.dim % sh.heads !== 0 || sh.heads % sh.kvHeads !== 0 || (sh.dim / sh.heads) % 2 !== 0) {
    throw new RangeError(`shape ${sh.name}: dim must split into an even head size and heads into KV groups`);
  }
  return sh;
}

function resolveType(t: SynthTypeName): (typeof SYNTH_TYPES)[SynthTypeName] {
  const info = SYNTH_TYPES[t];
  if (!info) throw new RangeError(`unknown type "${String(t)}"; known: ${Object.keys(SYNTH_TYPES).join(", ")}`);
  return info;
}

/** The tensor table (names, dims, types) for a shape and requested type, in file order. */
export function synthTensorSpecs(shapeArg: SynthShapeName | SynthShape, typeName: SynthTypeName): SynthTensorSpec[] {
  const s = resolveShape(shapeArg);
  const want = resolveType(typeName).ggml;
  const kvDim = (s.dim / s.heads) * s.kvHeads;
  const norm = (name: string): SynthTensorSpec => ({ name, dims: [s.dim], type: GgmlType.F32, init: "ones" });
  const matrix = (name: string, rowLen: number, rows: number): SynthTensorSpec => {
    const quantized = want !== GgmlType.F32 && want !== GgmlType.F16;
    const type = quantized && rowLen % QUANT_BLOCK !== 0 ? GgmlType.F16 : want;
    return { name, dims: [rowLen, rows], type, init: "normal" };
  };
  const specs = [matrix("token_embd.weight", s.dim, s.vocab)];
  for (let i = 0; i < s.layers; i++) {
    const b = `blk.${i}.`;
    specs.push(
      norm(`${b}attn_norm.weight`),
      matrix(`${b}attn_q.weight`, s.dim, s.dim),
      matrix(`${b}attn_k.weight`, s.dim, kvDim),
      matrix(`${b}attn_v.weight`, s.dim, kvDim),
      matrix(`${b}attn_output.weight`, s.dim, s.dim),
      norm(`${b}ffn_norm.weight`),
      matrix(`${b}ffn_gate.weight`, s.dim, s.ffn),
      matrix(`${b}ffn_up.weight`, s.dim, s.ffn),
      matrix(`${b}ffn_down.weight`, s.ffn, s.dim),
    );
  }
  specs.push(norm("output_norm.weight"));
  if (!s.tied) specs.push(matrix("output.weight", s.dim, s.vocab));
  return specs;
}

const u32 = (value: number): GgufValue => ({ type: GgufValueType.UINT32, value });
const f32 = (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value });
const str = (value: string): GgufValue => ({ type: GgufValueType.STRING, value });
const arr = (elementType: GgufValueType, items: readonly (number | string)[]): GgufValue => ({ type: GgufValueType.ARRAY, value: { elementType, items } });

/** The metadata key/value list, in file order. */
export function synthMetadata(opts: SynthOptions): [string, GgufValue][] {
  const s = resolveShape(opts.shape);
  const t = resolveType(opts.type);
  const vocab = synthVocab(s.vocab);
  const quantized = t.ggml !== GgmlType.F32 && t.ggml !== GgmlType.F16;
  const meta: [string, GgufValue][] = [
    ["general.architecture", str("llama")],
    ["general.name", str(`synthetic-${s.name}-${opts.type}-seed${opts.seed}`)],
    ["general.file_type", u32(t.fileType)],
    ...(quantized ? ([["general.quantization_version", u32(2)]] as [string, GgufValue][]) : []),
    ["llama.vocab_size", u32(s.vocab)],
    ["llama.context_length", u32(s.context)],
    ["llama.embedding_length", u32(s.dim)],
    ["llama.block_count", u32(s.layers)],
    ["llama.feed_forward_length", u32(s.ffn)],
    ["llama.attention.head_count", u32(s.heads)],
    ["llama.attention.head_count_kv", u32(s.kvHeads)],
    ["llama.attention.layer_norm_rms_epsilon", f32(RMS_EPS)],
    ["llama.rope.dimension_count", u32(s.dim / s.heads)],
    ["llama.rope.freq_base", f32(s.ropeBase)],
    ["tokenizer.ggml.model", str("llama")],
    ["tokenizer.ggml.tokens", arr(GgufValueType.STRING, vocab.tokens)],
    ["tokenizer.ggml.scores", arr(GgufValueType.FLOAT32, vocab.scores)],
    ["tokenizer.ggml.token_type", arr(GgufValueType.INT32, vocab.types)],
    ["tokenizer.ggml.bos_token_id", u32(BOS_ID)],
    ["tokenizer.ggml.eos_token_id", u32(EOS_ID)],
    ["tokenizer.ggml.unknown_token_id", u32(UNK_ID)],
  ];
  return meta;
}

/** 32-bit FNV-1a of a string's UTF-16 code units, with a chosen offset basis. */
function fnv1a(text: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Each tensor gets its own stream, keyed by (seed, name), so tensors can be made one at a time in any order. */
function tensorRng(seed: number, name: string): Rng {
  const key = `${seed}/${name}`;
  return new Rng((fnv1a(key, 0x811c9dc5) & 0x1fffff) * 2 ** 32 + fnv1a(key, 0x5bd1e995));
}

// Approximately normal values from integer math only (bit-identical on every engine): the sum of four 16-bit
// uniforms (Irwin-Hall, n = 4) has mean 2 * 65535 and variance 4 * (65536^2 - 1) / 12.
const IH_MEAN = 2 * 65535;
const IH_SCALE = WEIGHT_STD / Math.sqrt((65536 * 65536 - 1) / 3);

function fillNormal(rng: Rng, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const a = rng.nextU32();
    const b = rng.nextU32();
    out[i] = ((a >>> 16) + (a & 0xffff) + (b >>> 16) + (b & 0xffff) - IH_MEAN) * IH_SCALE;
  }
}

function encode(type: GgmlType, values: Float32Array): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case GgmlType.F16:
      return quantizeF16(values);
    case GgmlType.Q8_0:
      return quantizeQ8_0(values);
    case GgmlType.Q4_0:
      return quantizeQ4_0(values);
    default:
      throw new RangeError(`synth cannot encode ggml type ${type}`);
  }
}

/** Rows generated per step: bounds the F32 scratch to about 4 MiB whatever the tensor's size. */
const CHUNK_ELEMENTS = 1 << 20;

/** Makes one tensor's data: values row-chunk by row-chunk, each chunk encoded right away. */
export function synthTensorData(spec: SynthTensorSpec, seed: number): Uint8Array {
  const rowLen = spec.dims[0]!;
  const rows = spec.dims.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = ggmlRowBytes(spec.type, rowLen);
  const out = new Uint8Array(rowBytes * rows);
  if (spec.init === "ones") {
    if (spec.type !== GgmlType.F32) throw new RangeError(`${spec.name}: norm weights are F32`);
    new Float32Array(out.buffer).fill(1);
    return out;
  }
  const rng = tensorRng(seed, spec.name);
  const chunkRows = Math.max(1, Math.floor(CHUNK_ELEMENTS / rowLen));
  const scratch = new Float32Array(Math.min(rows, chunkRows) * rowLen);
  for (let r = 0; r < rows; r += chunkRows) {
    const n = Math.min(chunkRows, rows - r);
    const values = n * rowLen === scratch.length ? scratch : scratch.subarray(0, n * rowLen);
    fillNormal(rng, values);
    out.set(encode(spec.type, values), r * rowBytes);
  }
  return out;
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
}

/** The tensors one at a time (each one's F32 values are dropped before the next is made). */
export function* synthTensors(opts: SynthOptions): Generator<SynthTensor> {
  checkSeed(opts.seed);
  for (const spec of synthTensorSpecs(opts.shape, opts.type)) {
    yield { name: spec.name, dims: spec.dims, type: spec.type, data: synthTensorData(spec, opts.seed) };
  }
}

/** A complete GGUF v3 file as one buffer. */
export function synthModel(opts: SynthOptions): Uint8Array {
  checkSeed(opts.seed);
  return writeGguf({ metadata: synthMetadata(opts), tensors: [...synthTensors(opts)] });
}
