// Loads a llama model's tensors into a backend by name, checking every shape against the config.
import type { GgufFile } from "../gguf/index";
import { ggmlTypeName, tensorData } from "../gguf/index";
import { dequantize } from "../quant/index";
import type { Backend, Matrix, Vector } from "../backends/backend";
import type { LlamaConfig } from "./config";
import { ModelError } from "./errors";
import { OUTPUT, OUTPUT_NORM, TOKEN_EMBD, blockTensorName, type BlockTensor } from "./tensor-names";

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
}

export interface ModelWeights {
  readonly tokenEmbd: Matrix; // [vocab × dim]: row t is token t's embedding
  readonly layers: readonly LayerWeights[];
  readonly outputNorm: Vector; // [dim]
  readonly output: Matrix; // [vocab × dim]: the classifier (token_embd itself when tied)
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

function loadMatrix(file: GgufFile, backend: Backend, name: string, rows: number, cols: number): Matrix {
  const info = findTensor(file, name, [cols, rows]);
  if (!backend.supportsWeightType(info.type)) {
    throw new ModelError(`tensor ${name} has type ${ggmlTypeName(info.type)}, which the ${backend.name} backend cannot use`);
  }
  return backend.loadMatrix(name, info.type, rows, cols, tensorData(file, info));
}

function loadVector(file: GgufFile, backend: Backend, name: string, length: number): Vector {
  const info = findTensor(file, name, [length]);
  return backend.loadVector(name, dequantize(info.type, tensorData(file, info), length));
}

/** Uploads every tensor the forward pass uses; quantized files reorder tensors, so lookup is by name only. */
export function loadWeights(file: GgufFile, config: LlamaConfig, backend: Backend): ModelWeights {
  const { dim, qDim, kvDim, ffnDim, vocabSize } = config;
  const matrix = (name: string, rows: number, cols: number) => loadMatrix(file, backend, name, rows, cols);
  const block = (i: number, t: BlockTensor) => blockTensorName(i, t);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < config.nLayers; i++) {
    layers.push({
      attnNorm: loadVector(file, backend, block(i, "attn_norm"), dim),
      wq: matrix(block(i, "attn_q"), qDim, dim),
      wk: matrix(block(i, "attn_k"), kvDim, dim),
      wv: matrix(block(i, "attn_v"), kvDim, dim),
      wo: matrix(block(i, "attn_output"), dim, qDim),
      ffnNorm: loadVector(file, backend, block(i, "ffn_norm"), dim),
      wGate: matrix(block(i, "ffn_gate"), ffnDim, dim),
      wUp: matrix(block(i, "ffn_up"), ffnDim, dim),
      wDown: matrix(block(i, "ffn_down"), dim, ffnDim),
    });
  }
  const tokenEmbd = matrix(TOKEN_EMBD, vocabSize, dim);
  return {
    tokenEmbd,
    layers,
    outputNorm: loadVector(file, backend, OUTPUT_NORM, dim),
    output: config.tiedOutput ? tokenEmbd : matrix(OUTPUT, vocabSize, dim),
  };
}
