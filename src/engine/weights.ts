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

/** Uploads every tensor the forward pass uses; quantized files reorder tensors, so lookup is by name only. */
function* weightSteps(file: GgufFile, config: LlamaConfig, backend: Backend): Steps<ModelWeights> {
  const { dim, qDim, kvDim, ffnDim, vocabSize } = config;
  const matrix = (name: string, rows: number, cols: number) => loadMatrix(file, backend, name, rows, cols);
  const vector = (name: string, length: number) => loadVector(file, backend, name, length);
  const block = (i: number, t: BlockTensor) => blockTensorName(i, t);
  const { qkvBias, qkNorm } = config.traits;
  const headDim = config.headDim;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < config.nLayers; i++) {
    layers.push({
      ...(qkvBias && {
        bq: yield* vector(blockBiasName(i, "attn_q"), qDim),
        bk: yield* vector(blockBiasName(i, "attn_k"), kvDim),
        bv: yield* vector(blockBiasName(i, "attn_v"), kvDim),
      }),
      ...(qkNorm && {
        qNorm: yield* vector(optionalBlockTensorName(i, "attn_q_norm"), headDim),
        kNorm: yield* vector(optionalBlockTensorName(i, "attn_k_norm"), headDim),
      }),
      attnNorm: yield* vector(block(i, "attn_norm"), dim),
      wq: yield* matrix(block(i, "attn_q"), qDim, dim),
      wk: yield* matrix(block(i, "attn_k"), kvDim, dim),
      wv: yield* matrix(block(i, "attn_v"), kvDim, dim),
      wo: yield* matrix(block(i, "attn_output"), dim, qDim),
      ffnNorm: yield* vector(block(i, "ffn_norm"), dim),
      wGate: yield* matrix(block(i, "ffn_gate"), ffnDim, dim),
      wUp: yield* matrix(block(i, "ffn_up"), ffnDim, dim),
      wDown: yield* matrix(block(i, "ffn_down"), dim, ffnDim),
    });
  }
  const tokenEmbd = yield* matrix(TOKEN_EMBD, vocabSize, dim);
  return {
    tokenEmbd,
    layers,
    outputNorm: yield* vector(OUTPUT_NORM, dim),
    output: config.tiedOutput ? tokenEmbd : yield* matrix(OUTPUT, vocabSize, dim),
    ...(config.ropeFreqFactors && { ropeFreqs: yield* vector(ROPE_FREQS, config.ropeDims / 2) }),
  };
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
  const steps = weightSteps(header, config, backend);
  let step = steps.next();
  while (!step.done) {
    const info = step.value;
    const bytes = await fetch(header.dataOffset + info.offset, info.nBytes);
    if (bytes.byteLength !== info.nBytes) throw new ModelError(`tensor ${info.name}: read ${bytes.byteLength} bytes, expected ${info.nBytes}`);
    step = steps.next(bytes);
  }
  return step.value;
}
