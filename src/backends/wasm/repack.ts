// Copies a weight matrix into linear memory once, in the layout the kernels read (quants and scales split apart).
import { GgmlType } from "../../gguf/ggml-types";
import { f16ToF32 } from "../../quant/index";
import type { LinearMemory } from "./linear-memory";

/** Where a matrix lives: `data` (F32/F16 rows, or Q8_0/Q4_0 quants) and `scales` (f32 per 32-block; 0 for floats). */
export interface PackedMatrix {
  readonly data: number;
  readonly scales: number;
  readonly dataBytes: number;
  readonly scalesBytes: number;
}

export const WASM_WEIGHT_TYPES: readonly number[] = [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0];

/**
 * Q8_0 blocks (f16 d, 32 i8) and Q4_0 blocks (f16 d, 16 nibble bytes) are split into a contiguous quant array, 16-byte
 * aligned per block for v128 loads, and an f32 scale array (converted once here, not per token). F32 and F16 rows are
 * copied as stored.
 */
export function packMatrix(mem: LinearMemory, name: string, type: number, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean): PackedMatrix {
  const n = rows * cols;
  if (type === GgmlType.F32 || type === GgmlType.F16) {
    const dataBytes = n * (type === GgmlType.F32 ? 4 : 2);
    if (bytes.length < dataBytes) throw new RangeError(`wasm backend: ${name}: ${bytes.length} bytes, expected ${dataBytes}`);
    const data = mem.alloc(dataBytes);
    mem.u8.set(bytes.subarray(0, dataBytes), data);
    return { data, scales: 0, dataBytes, scalesBytes: 0 };
  }
  if (type !== GgmlType.Q8_0 && type !== GgmlType.Q4_0) throw new Error(`wasm backend: ${name}: weight type ${type} is not supported`);
  if (cols % 32 !== 0) throw new RangeError(`wasm backend: ${name}: rows of ${cols} are not whole 32-element blocks`);
  const q8 = type === GgmlType.Q8_0;
  const quantBytes = q8 ? 32 : 16;
  const blockBytes = quantBytes + 2;
  const nBlocks = n / 32;
  if (bytes.length < nBlocks * blockBytes) throw new RangeError(`wasm backend: ${name}: ${bytes.length} bytes, expected ${nBlocks * blockBytes}`);
  const dataBytes = nBlocks * quantBytes;
  const scalesBytes = nBlocks * 4;
  const data = mem.alloc(dataBytes);
  const scales = mem.alloc(scalesBytes);
  const u8 = mem.u8;
  const f32 = mem.f32;
  for (let b = 0; b < nBlocks; b++) {
    const src = b * blockBytes;
    f32[scales / 4 + b] = f16ToF32(bytes[src]! | (bytes[src + 1]! << 8));
    u8.set(bytes.subarray(src + 2, src + blockBytes), data + b * quantBytes);
  }
  if (q8 && relaxed) clampMinus128(u8, data, dataBytes);
  return { data, scales, dataBytes, scalesBytes };
}

/**
 * The relaxed Q8_0 kernel feeds |w| to relaxed_dot as its 7-bit operand; |-128| = 128 has the top bit set, which engines
 * may read as -128 (ARM's sdot lowering). ggml's quantizers never emit -128 (|round(x·127/amax)| ≤ 127), so this only
 * touches foreign files, where -127 is a 1/128 error on one weight instead of a sign flip.
 */
function clampMinus128(u8: Uint8Array, data: number, n: number): void {
  for (let i = data; i < data + n; i++) if (u8[i] === 0x80) u8[i] = 0x81;
}
