// The webgpu backend's weight formats, one row per ggml type: file geometry, matmul kernel, activation format, memory.
import { GgmlType } from "../../gguf/ggml-types";
import type { KernelName } from "./kernels";

/**
 * How a matmul's input rows reach the kernel, as ggml's CPU backend feeds that weight type: f32 (F16/BF16: rounded to
 * that type inside matmul_float), or quantized by quantize_act.wgsl to Q8_0/Q8_1 (32-blocks; Q8_1 adds the f16
 * s = d·Σq) or Q8_K (256-blocks with per-16 sums).
 */
export type GpuActivation = "f32" | "q8_0" | "q8_1" | "q8_k";

export interface GpuFormat {
  readonly type: GgmlType;
  /** Elements and bytes of one block in the GGUF file (floats: one element). Rows must be whole blocks. */
  readonly blockElems: number;
  readonly blockBytes: number;
  /** The matmul kernel, compiled with WTYPE = type; blocks.wgsl decodes the type for it and for embed.wgsl. */
  readonly matmul: Extract<KernelName, "matmul_float" | "matmul_quant">;
  readonly activation: GpuActivation;
  /** About how many elements of a row one matmul thread takes (rows longer than this split across threads). */
  readonly threadElems: number;
}

type Row = readonly [GgmlType, number, number, GpuFormat["matmul"], GpuActivation];

// Weights are uploaded as the file's blocks (every block size is even, so blocks.wgsl reads them in place): the GPU
// memory of a matrix is its bytes in the file, plus 4 bytes of slack per buffer (see uploadRows).
const ROWS: readonly Row[] = [
  [GgmlType.F32, 1, 4, "matmul_float", "f32"],
  [GgmlType.F16, 1, 2, "matmul_float", "f32"],
  [GgmlType.BF16, 1, 2, "matmul_float", "f32"],
  [GgmlType.Q8_0, 32, 34, "matmul_quant", "q8_0"],
  [GgmlType.Q4_0, 32, 18, "matmul_quant", "q8_0"],
  [GgmlType.Q5_0, 32, 22, "matmul_quant", "q8_0"],
  [GgmlType.Q4_1, 32, 20, "matmul_quant", "q8_1"],
  [GgmlType.Q5_1, 32, 24, "matmul_quant", "q8_1"],
  [GgmlType.Q2_K, 256, 84, "matmul_quant", "q8_k"],
  [GgmlType.Q3_K, 256, 110, "matmul_quant", "q8_k"],
  [GgmlType.Q4_K, 256, 144, "matmul_quant", "q8_k"],
  [GgmlType.Q5_K, 256, 176, "matmul_quant", "q8_k"],
  [GgmlType.Q6_K, 256, 210, "matmul_quant", "q8_k"],
];

export const GPU_FORMATS: ReadonlyMap<number, GpuFormat> = new Map(
  ROWS.map(([type, blockElems, blockBytes, matmul, activation]) => [type, { type, blockElems, blockBytes, matmul, activation, threadElems: matmul === "matmul_float" ? 64 : 256 }]),
);

/** Bytes of one row of `cols` elements in the file (and on the GPU). */
export function gpuRowBytes(f: GpuFormat, cols: number): number {
  return (cols / f.blockElems) * f.blockBytes;
}
