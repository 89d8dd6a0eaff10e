// Copies F32/F16 and Q8_0/Q4_0 weight matrices into linear memory once, in the layout the kernels read.
import { f16ToF32 } from "../../quant/index";
import type { PackMemory } from "./linear-memory";

/** Where a matrix lives: `data` (F32/F16 rows, Q8_0/Q4_0 quants, whole K-quant panels) and `scales` (per 32-block of Q8_0 (f16) and Q4_0 (f32); else 0). */
export interface PackedMatrix {
  readonly data: number;
  readonly scales: number;
  readonly dataBytes: number;
  readonly scalesBytes: number;
}

/** F32 and F16 rows, copied as stored (elemBytes 4 or 2). */
export function packFloat(mem: PackMemory, elemBytes: number, rows: number, cols: number, bytes: Uint8Array): PackedMatrix {
  const dataBytes = rows * cols * elemBytes;
  if (bytes.length < dataBytes) throw new RangeError(`${bytes.length} bytes, expected ${dataBytes}`);
  const data = mem.alloc(dataBytes);
  mem.u8.set(bytes.subarray(0, dataBytes), data);
  return { data, scales: 0, dataBytes, scalesBytes: 0 };
}

/** Bytes of one 32-block's scale in panels: Q8_0 keeps the file's f16 (its matrices stay at file size), Q4_0 widens to f32. */
function block32ScaleBytes(quantBytes: number): number {
  return quantBytes === 32 ? 2 : 4;
}

/** Bytes of a rows×cols Q8_0 (quantBytes 32) or Q4_0 (16) matrix in panels: quants, then scales. */
export function block32PackedBytes(quantBytes: number, rows: number, cols: number): number {
  return Math.ceil(rows / 4) * (cols / 32) * 4 * (quantBytes + block32ScaleBytes(quantBytes));
}

/**
 * Q8_0 blocks (f16 d, 32 i8) and Q4_0 blocks (f16 d, 16 nibble bytes) are regrouped into 4-row panels (the last one
 * padded with zero rows), each panel-block's quant bytes interleaved by panelByteOffset and its four scales side by
 * side (Q4_0's converted once to f32, Q8_0's kept f16), so one SIMD step of the kernel dots four rows at once
 * (kernels/wasm/matmul-quant.ts).
 */
export function packBlock32(mem: PackMemory, q8: boolean, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean): PackedMatrix {
  const n = rows * cols;
  const quantBytes = q8 ? 32 : 16;
  const blockBytes = quantBytes + 2;
  const nb = cols / 32;
  if (bytes.length < (n / 32) * blockBytes) throw new RangeError(`${bytes.length} bytes, expected ${(n / 32) * blockBytes}`);
  const panelBlocks = Math.ceil(rows / 4) * nb;
  const dataBytes = panelBlocks * 4 * quantBytes;
  const scaleBytes = block32ScaleBytes(quantBytes);
  const scalesBytes = panelBlocks * 4 * scaleBytes;
  const data = mem.alloc(dataBytes);
  const scales = mem.alloc(scalesBytes);
  const u8 = mem.u8;
  const f32 = mem.f32;
  u8.fill(0, data, data + dataBytes); // padding rows: zero quants (and zero scales below)
  u8.fill(0, scales, scales + scalesBytes);
  const quads = relaxed && !q8; // relaxed_dot does the relaxed build's Q4_0 dots (see kernels/wasm/matmul-quant.ts)
  const offsets = Array.from({ length: 128 }, (_, i) => panelByteOffset(i >> 5, i & 31, quads));
  for (let r = 0; r < rows; r++) {
    const rr = r & 3;
    for (let b = 0; b < nb; b++) {
      const src = (r * nb + b) * blockBytes;
      const pblock = (r >> 2) * nb + b;
      if (q8) {
        u8[scales + (pblock * 4 + rr) * 2] = bytes[src]!;
        u8[scales + (pblock * 4 + rr) * 2 + 1] = bytes[src + 1]!;
      } else f32[scales / 4 + pblock * 4 + rr] = f16ToF32(bytes[src]! | (bytes[src + 1]! << 8));
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
