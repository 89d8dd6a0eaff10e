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
 * Q8_0 blocks (f16 d, 32 i8) and Q4_0 blocks (f16 d, 16 nibble bytes) are regrouped into 4-row panels (the last one
 * padded with zero rows), each panel-block's quant bytes interleaved by panelByteOffset and its four scales converted
 * once to f32 side by side, so one SIMD step of the kernel dots four rows at once (kernels/wasm/matmul-quant.ts).
 * F32 and F16 rows are copied as stored.
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
  const nb = cols / 32;
  if (bytes.length < (n / 32) * blockBytes) throw new RangeError(`wasm backend: ${name}: ${bytes.length} bytes, expected ${(n / 32) * blockBytes}`);
  const panelBlocks = Math.ceil(rows / 4) * nb;
  const dataBytes = panelBlocks * 4 * quantBytes;
  const scalesBytes = panelBlocks * 16;
  const data = mem.alloc(dataBytes);
  const scales = mem.alloc(scalesBytes);
  const u8 = mem.u8;
  const f32 = mem.f32;
  u8.fill(0, data, data + dataBytes); // padding rows: zero quants (and zero scales below)
  f32.fill(0, scales / 4, (scales + scalesBytes) / 4);
  const quads = relaxed && !q8; // relaxed_dot does the relaxed build's Q4_0 dots (see kernels/wasm/matmul-quant.ts)
  const offsets = Array.from({ length: 128 }, (_, i) => panelByteOffset(i >> 5, i & 31, quads));
  for (let r = 0; r < rows; r++) {
    const rr = r & 3;
    for (let b = 0; b < nb; b++) {
      const src = (r * nb + b) * blockBytes;
      const pblock = (r >> 2) * nb + b;
      f32[scales / 4 + pblock * 4 + rr] = f16ToF32(bytes[src]! | (bytes[src + 1]! << 8));
      const dst = data + pblock * 4 * quantBytes;
      for (let k = 0; k < quantBytes; k++) u8[dst + offsets[rr * 32 + k]!] = bytes[src + 2 + k]!;
    }
  }
  return { data, scales, dataBytes, scalesBytes };
}

/**
 * Where quant byte k of row rr of a panel-block goes (the twin of kernels/wasm/common.ts panelByteOffset): vector k / 4,
 * then each row's 4 bytes together (`quads`: relaxed_dot sums 4 adjacent bytes) or each row's 2-byte pairs (dot_i16x8
 * sums 2 adjacent lanes after widening).
 */
export function panelByteOffset(rr: number, k: number, quads: boolean): number {
  const v = (k >> 2) << 4;
  return quads ? v + rr * 4 + (k & 3) : v + (k & 2) * 4 + rr * 2 + (k & 1);
}
