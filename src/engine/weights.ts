// Loads a llama model's tensors into a backend by name, checking every shape against the config.
import type { GgufFile, GgufHeader, GgufTensorInfo } from "../gguf/index";
import { ggmlTypeName, tensorData } from "../gguf/index";
import { dequantize } from "../quant/index";
import type { Backend, Matrix, MatrixSink, Vector } from "../backends/backend";
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
  readonly ropeFreqs?: Float32Array; // [ropeDims / 2] llama 3 RoPE frequency divisors, on the host: RopeParams.freqFactors
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
 * What a loading step needs next: a tensor's bytes (or a row slice's), resumed with them; or, where the backend takes a
 * matrix in chunks (`sink`), its rows written into the sink, resumed with null once they all are.
 */
interface TensorRequest {
  readonly info: GgufTensorInfo;
  readonly sink?: MatrixSink;
  /** Rows of the matrix the sink receives (info.dims[1]). */
  readonly rows?: number;
}

/**
 * A loading step: yields the tensor it needs next and is resumed with its bytes, so one loader serves both the file in
 * memory (loadWeights) and tensors fetched by range (loadWeightsStreaming).
 */
type Steps<T> = Generator<TensorRequest, T, Uint8Array | null>;

function* whole(info: GgufTensorInfo): Steps<Uint8Array> {
  const bytes = yield { info };
  if (!bytes) throw new ModelError(`tensor ${info.name}: no bytes were read`);
  return bytes;
}

function* loadMatrix(file: GgufFile, backend: Backend, name: string, rows: number, cols: number): Steps<Matrix> {
  const info = findTensor(file, name, [cols, rows]);
  if (!backend.supportsWeightType(info.type)) {
    throw new ModelError(`tensor ${name} has type ${ggmlTypeName(info.type)}, which the ${backend.name} backend cannot use`);
  }
  const sink = backend.beginMatrix?.(name, info.type, rows, cols);
  if (!sink) return backend.loadMatrix(name, info.type, rows, cols, yield* whole(info));
  try {
    yield { info, sink, rows };
    return sink.finish();
  } catch (e) {
    sink.abandon();
    throw e;
  }
}

/** A vector's floats on the host: what loadVector uploads, and the RoPE frequency factors as they stay (RopeParams carries them). */
function* hostVector(file: GgufFile, name: string, length: number): Steps<Float32Array> {
  const info = findTensor(file, name, [length]);
  return dequantize(info.type, yield* whole(info), length);
}

function* loadVector(file: GgufFile, backend: Backend, name: string, length: number): Steps<Vector> {
  return backend.loadVector(name, yield* hostVector(file, name, length));
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
  return backend.loadMatrix(name, info.type, n, cols, yield* whole(slice));
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
    ...(config.ropeFreqFactors && { ropeFreqs: yield* hostVector(file, ROPE_FREQS, config.ropeDims / 2) }),
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
  readonly ropeFreqs?: Float32Array;
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
    ...(config.ropeFreqFactors && layers.length > 0 && { ropeFreqs: yield* hostVector(file, ROPE_FREQS, config.ropeDims / 2) }),
  };
}

/** Loads one shard's tensors by range reads (see loadWeightsStreaming); nothing outside `part` is read. */
export async function loadPartStreaming(header: GgufHeader, config: LlamaConfig, backend: Backend, fetch: FetchRange, part: WeightPart): Promise<PartWeights> {
  return drive(partSteps(header, config, backend, part), header, fetch, backend);
}

/** Loads one shard's tensors from a file held in memory. */
export function loadPart(file: GgufFile, config: LlamaConfig, backend: Backend, part: WeightPart): PartWeights {
  return driveInMemory(partSteps(file, config, backend, part), file);
}

/** Loads the weights from a file held in memory (tensor bytes are views of it). */
export function loadWeights(file: GgufFile, config: LlamaConfig, backend: Backend): ModelWeights {
  return driveInMemory(weightSteps(file, config, backend), file);
}

/** Runs loading steps over a file in memory: a chunked matrix gets all its rows as one write (a view, no copy). */
function driveInMemory<T>(steps: Steps<T>, file: GgufFile): T {
  let step = steps.next();
  while (!step.done) {
    const { info, sink } = step.value;
    if (sink) {
      sink.write(0, tensorData(file, info));
      step = steps.next(null);
    } else step = steps.next(tensorData(file, info));
  }
  return step.value;
}

/** Bytes per range read of a matrix streamed into a backend in chunks (a few MB: R2 reads, no whole-tensor copy). */
export const LOAD_CHUNK_BYTES = 4 << 20;

/** Rows per range read of a chunked matrix: whole groups of `rowGroup` rows, about LOAD_CHUNK_BYTES, at least one group. */
export function chunkRows(rowBytes: number, rowGroup: number): number {
  return Math.max(1, Math.floor(LOAD_CHUNK_BYTES / (rowBytes * rowGroup))) * rowGroup;
}

/**
 * The most bytes one range read of a ranged load holds: the whole tensor, or for a matrix a backend takes in chunks
 * (its matrixRowGroup) one chunk of rows. The model host checks weights plus this against its budget before loading.
 */
export function largestReadBytes(header: GgufHeader, rowGroup: number | undefined): number {
  let most = 0;
  for (const t of header.tensors) {
    const rows = t.dims.length >= 2 ? t.nElements / t.dims[0]! : 0;
    const read = rowGroup && rows > 0 ? Math.min(t.nBytes, chunkRows(t.nBytes / rows, rowGroup) * (t.nBytes / rows)) : t.nBytes;
    most = Math.max(most, read);
  }
  return most;
}

/** Reads `length` bytes of the file from absolute byte `offset`. */
export type FetchRange = (offset: number, length: number) => Promise<Uint8Array>;

/** Loads the weights tensor by tensor: only one tensor's bytes are held at a time, beside what the backend copied. */
export async function loadWeightsStreaming(header: GgufHeader, config: LlamaConfig, backend: Backend, fetch: FetchRange): Promise<ModelWeights> {
  return drive(weightSteps(header, config, backend), header, fetch, backend);
}

/**
 * Runs loading steps, fetching each tensor's bytes (or row slice) by one range read, or a chunked matrix by range
 * reads of chunkRows rows, each written into its sink and dropped before the next is read.
 */
async function drive<T>(steps: Steps<T>, header: GgufHeader, fetch: FetchRange, backend: Backend): Promise<T> {
  const read = async (info: GgufTensorInfo, offset: number, length: number) => {
    const bytes = await fetch(header.dataOffset + info.offset + offset, length);
    if (bytes.byteLength !== length) throw new ModelError(`tensor ${info.name}${offset ? ` (from its byte ${offset})` : ""}: read ${bytes.byteLength} bytes, expected ${length}`);
    return bytes;
  };
  let step = steps.next();
  while (!step.done) {
    const { info, sink, rows } = step.value;
    if (sink && rows) {
      try {
        const rowBytes = info.nBytes / rows;
        const per = chunkRows(rowBytes, backend.matrixRowGroup ?? 1);
        for (let r = 0; r < rows; r += per) {
          const n = Math.min(per, rows - r);
          sink.write(r, await read(info, r * rowBytes, n * rowBytes));
        }
      } catch (e) {
        step = steps.throw(e);
        continue;
      }
      step = steps.next(null);
    } else step = steps.next(await read(info, 0, info.nBytes));
  }
  return step.value;
}
