// Loads a llama model's tensors into a backend by name, checking every shape against the config.
import type { GgufFile, GgufHeader, GgufTensorInfo } from "../gguf/index";
import { ggmlTypeName, tensorData } from "../gguf/index";
import { dequantize } from "../quant/index";
import type { Backend, Matrix, Vector } from "../backends/backend";
import type { LlamaConfig } from "./config";
import { ModelError } from "./errors";
import { OUTPUT, OUTPUT_NORM, ROPE_FREQS, TOKEN_EMBD, blockBiasName, blockTensorName, optionalBlockTensorName, type BlockTensor } from "./tensor-names";

export interface LayerWeights {
  readonly attnNorm: Vector; // [dim]
  readonly wq: Matrix; // [qDim rows × dim cols]
  readonly wk: Matrix; // [kvDim × dim]
  readonly wv: Matrix; // [kvDim × dim]
  readonly wo: Matrix; // [dim × qDim]
  readonly ffnNorm: Vector; // [dim]
  readonly wGate: Matrix; // [ffnDim × dim]
  readonly wUp: Matrix; // [ffnDim × dim]
  readonly wDown: Matrix; // [dim × ffnDim]
  // Architecture switches (config.traits): present only where the architecture has them.
  readonly bq?: Vector; // [qDim]   qwen2
  readonly bk?: Vector; // [kvDim]  qwen2
  readonly bv?: Vector; // [kvDim]  qwen2
  readonly qNorm?: Vector; // [headDim] qwen3, shared by every query head
  readonly kNorm?: Vector; // [headDim] qwen3, shared by every key head
}

export interface ModelWeights {
  readonly tokenEmbd: Matrix; // [vocab × dim]: row t is token t's embedding
  readonly layers: readonly LayerWeights[];
  readonly outputNorm: Vector; // [dim]
  readonly output: Matrix; // [vocab × dim]: the classifier (token_embd itself when tied)
  readonly ropeFreqs?: Vector; // [ropeDims / 2] llama 3 RoPE frequency divisors
}

function shapeText(dims: readonly number[]): string {
  return `[${dims.join(", ")}]`;
}

function findTensor(file: GgufFile, name: string, expected: readonly number[]) {
  const info = file.tensorByName.get(name);
  if (!info) throw new ModelError(`missing tensor ${name} (expected shape ${shapeText(expected)})`);
  const same = info.dims.length === expected.length && info.dims.every((d, i) => d === expected[i]);
  if (!same) throw new ModelError(`tensor ${name} has shape ${shapeText(info.dims)}, expected ${shapeText(expected)}`);
  return info;
}

/**
 * A loading step: yields the tensor whose bytes it needs next and is resumed with them, so one loader serves both the
 * file in memory (loadWeights) and tensors fetched one at a time (loadWeightsStreaming).
 */
type Steps<T> = Generator<GgufTensorInfo, T, Uint8Array>;

function* loadMatrix(file: GgufFile, backend: Backend, name: string, rows: number, cols: number): Steps<Matrix> {
  const info = findTensor(file, name, [cols, rows]);
  if (!backend.supportsWeightType(info.type)) {
    throw new ModelError(`tensor ${name} has type ${ggmlTypeName(info.type)}, which the ${backend.name} backend cannot use`);
  }
  return backend.loadMatrix(name, info.type, rows, cols, yield info);
}

function* loadVector(file: GgufFile, backend: Backend, name: string, length: number): Steps<Vector> {
  const info = findTensor(file, name, [length]);
  return backend.loadVector(name, dequantize(info.type, yield info, length));
}

/** Row range [start, end) of a [rows × cols] matrix: rows are contiguous whole blocks, so a slice is one byte range. */
export type RowSpan = readonly [start: number, end: number];

function* loadMatrixRows(file: GgufFile, backend: Backend, name: string, rows: number, cols: number, span: RowSpan): Steps<Matrix> {
  if (span[0] === 0 && span[1] === rows) return yield* loadMatrix(file, backend, name, rows, cols);
  const info = findTensor(file, name, [cols, rows]);
  if (!backend.supportsWeightType(info.type)) {
    throw new ModelError(`tensor ${name} has type ${ggmlTypeName(info.type)}, which the ${backend.name} backend cannot use`);
  }
  const rowBytes = info.nBytes / rows;
  const n = span[1] - span[0];
  const slice: GgufTensorInfo = { ...info, offset: info.offset + span[0] * rowBytes, nBytes: n * rowBytes, nElements: n * cols, dims: [cols, n] };
  return backend.loadMatrix(name, info.type, n, cols, yield slice);
}

/** Layer i's tensors (the architecture's optional ones included). */
function* layerSteps(file: GgufFile, config: LlamaConfig, backend: Backend, i: number): Steps<LayerWeights> {
  const { dim, qDim, kvDim, ffnDim } = config;
  const matrix = (name: string, rows: number, cols: number) => loadMatrix(file, backend, name, rows, cols);
  const vector = (name: string, length: number) => loadVector(file, backend, name, length);
  const block = (t: BlockTensor) => blockTensorName(i, t);
  const { qkvBias, qkNorm } = config.traits;
  const headDim = config.headDim;
  return {
    ...(qkvBias && {
      bq: yield* vector(blockBiasName(i, "attn_q"), qDim),
      bk: yield* vector(blockBiasName(i, "attn_k"), kvDim),
      bv: yield* vector(blockBiasName(i, "attn_v"), kvDim),
    }),
    ...(qkNorm && {
      qNorm: yield* vector(optionalBlockTensorName(i, "attn_q_norm"), headDim),
      kNorm: yield* vector(optionalBlockTensorName(i, "attn_k_norm"), headDim),
    }),
    attnNorm: yield* vector(block("attn_norm"), dim),
    wq: yield* matrix(block("attn_q"), qDim, dim),
    wk: yield* matrix(block("attn_k"), kvDim, dim),
    wv: yield* matrix(block("attn_v"), kvDim, dim),
    wo: yield* matrix(block("attn_output"), dim, qDim),
    ffnNorm: yield* vector(block("ffn_norm"), dim),
    wGate: yield* matrix(block("ffn_gate"), ffnDim, dim),
    wUp: yield* matrix(block("ffn_up"), ffnDim, dim),
    wDown: yield* matrix(block("ffn_down"), dim, ffnDim),
  };
}

/** Uploads every tensor the forward pass uses; quantized files reorder tensors, so lookup is by name only. */
function* weightSteps(file: GgufFile, config: LlamaConfig, backend: Backend): Steps<ModelWeights> {
  const { dim, vocabSize } = config;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < config.nLayers; i++) layers.push(yield* layerSteps(file, config, backend, i));
  const tokenEmbd = yield* loadMatrix(file, backend, TOKEN_EMBD, vocabSize, dim);
  return {
    tokenEmbd,
    layers,
    outputNorm: yield* loadVector(file, backend, OUTPUT_NORM, dim),
    output: config.tiedOutput ? tokenEmbd : yield* loadMatrix(file, backend, OUTPUT, vocabSize, dim),
    ...(config.ropeFreqFactors && { ropeFreqs: yield* loadVector(file, backend, ROPE_FREQS, config.ropeDims / 2) }),
  };
}

/** The part of the model one shard runs: embedding rows, a layer range, classifier rows (see src/shard/plan.ts). */
export interface WeightPart {
  readonly embedRows: RowSpan | null;
  readonly layers: RowSpan;
  readonly headRows: RowSpan | null;
}

/** A shard's weights: `layers[i]` is layer part.layers[0] + i; the embedding and classifier hold only their rows. */
export interface PartWeights {
  readonly part: WeightPart;
  readonly tokenEmbd?: Matrix;
  readonly layers: readonly LayerWeights[];
  readonly outputNorm?: Vector;
  readonly output?: Matrix;
  readonly ropeFreqs?: Vector;
}

/** Uploads only the tensors (and rows) of `part`, with the same per-tensor loading as the whole model. */
function* partSteps(file: GgufFile, config: LlamaConfig, backend: Backend, part: WeightPart): Steps<PartWeights> {
  const { dim, vocabSize } = config;
  const layers: LayerWeights[] = [];
  for (let i = part.layers[0]; i < part.layers[1]; i++) layers.push(yield* layerSteps(file, config, backend, i));
  const tokenEmbd = part.embedRows ? yield* loadMatrixRows(file, backend, TOKEN_EMBD, vocabSize, dim, part.embedRows) : undefined;
  const sameRows = part.embedRows && part.headRows && part.embedRows[0] === part.headRows[0] && part.embedRows[1] === part.headRows[1];
  return {
    part,
    layers,
    ...(tokenEmbd && { tokenEmbd }),
    ...(part.headRows && {
      outputNorm: yield* loadVector(file, backend, OUTPUT_NORM, dim),
      output: config.tiedOutput && sameRows ? tokenEmbd! : yield* loadMatrixRows(file, backend, config.tiedOutput ? TOKEN_EMBD : OUTPUT, vocabSize, dim, part.headRows),
    }),
    ...(config.ropeFreqFactors && layers.length > 0 && { ropeFreqs: yield* loadVector(file, backend, ROPE_FREQS, config.ropeDims / 2) }),
  };
}

/** Loads one shard's tensors by range reads (see loadWeightsStreaming); nothing outside `part` is read. */
export async function loadPartStreaming(header: GgufHeader, config: LlamaConfig, backend: Backend, fetch: FetchRange, part: WeightPart): Promise<PartWeights> {
  return drive(partSteps(header, config, backend, part), header, fetch);
}

/** Loads one shard's tensors from a file held in memory. */
export function loadPart(file: GgufFile, config: LlamaConfig, backend: Backend, part: WeightPart): PartWeights {
  const steps = partSteps(file, config, backend, part);
  let step = steps.next();
  while (!step.done) step = steps.next(tensorData(file, step.value));
  return step.value;
}

/** Loads the weights from a file held in memory (tensor bytes are views of it). */
export function loadWeights(file: GgufFile, config: LlamaConfig, backend: Backend): ModelWeights {
  const steps = weightSteps(file, config, backend);
  let step = steps.next();
  while (!step.done) step = steps.next(tensorData(file, step.value));
  return step.value;
}

/** Reads `length` bytes of the file from absolute byte `offset`. */
export type FetchRange = (offset: number, length: number) => Promise<Uint8Array>;

/** Loads the weights tensor by tensor: only one tensor's bytes are held at a time, beside what the backend copied. */
export async function loadWeightsStreaming(header: GgufHeader, config: LlamaConfig, backend: Backend, fetch: FetchRange): Promise<ModelWeights> {
  return drive(weightSteps(header, config, backend), header, fetch);
}

/** Runs loading steps, fetching each tensor's bytes (or row slice) by one range read. */
async function drive<T>(steps: Steps<T>, header: GgufHeader, fetch: FetchRange): Promise<T> {
  let step = steps.next();
  while (!step.done) {
    const info = step.value;
    const bytes = await fetch(header.dataOffset + info.offset, info.nBytes);
    if (bytes.byteLength !== info.nBytes) throw new ModelError(`tensor ${info.name}: read ${bytes.byteLength} bytes, expected ${info.nBytes}`);
    step = steps.next(bytes);
  }
  return step.value;
}
