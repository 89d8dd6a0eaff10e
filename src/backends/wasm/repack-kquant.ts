// Repacks K-quant super-blocks into the 4-row panels the wasm kernels read (kernels/wasm/matmul-q4k.ts, matmul-q6k.ts).
import { f16ToF32 } from "../../quant/index";
import type { PackMemory } from "./linear-memory";
import { panelByteOffset, type PackedMatrix } from "./repack";

/** Packed bytes per 4-row panel and 256-block (the file holds 4·144, 4·176 and 4·210: +2.8 %, +4.5 %, +1 %). */
export const Q4K_PANEL_BLOCK = 592;
export const Q5K_PANEL_BLOCK = 736;
export const Q6K_PANEL_BLOCK = 848;
/** Q2_K: exactly 4·84 (scales stay packed); Q3_K: 4·110 + 16 (scales unpacked to i8): +3.6 %. */
export const Q2K_PANEL_BLOCK = 336;
export const Q3K_PANEL_BLOCK = 456;

/** Bytes of a rows×cols matrix packed in panels of `panelBlock` bytes per 256 columns (rows padded to 4). */
export function kquantPackedBytes(panelBlock: number, rows: number, cols: number): number {
  return Math.ceil(rows / 4) * (cols / 256) * panelBlock;
}

/** Allocates the zeroed panels (padding rows stay zero: zero scales, zero quants) and runs `fill` per row and block. */
function packPanels(mem: PackMemory, panelBlock: number, fileBlock: number, rows: number, cols: number, bytes: Uint8Array, fill: (base: number, rr: number, src: number) => void): PackedMatrix {
  const nb = cols / 256;
  if (bytes.length < rows * nb * fileBlock) throw new RangeError(`${bytes.length} bytes, expected ${rows * nb * fileBlock}`);
  const dataBytes = kquantPackedBytes(panelBlock, rows, cols);
  const data = mem.alloc(dataBytes);
  mem.u8.fill(0, data, data + dataBytes);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) fill(data + ((r >> 2) * nb + b) * panelBlock, r & 3, (r * nb + b) * fileBlock);
  }
  return { data, scales: 0, dataBytes, scalesBytes: 0 };
}

/**
 * Q4_K (file: d, dmin f16, 12 bytes of packed 6-bit scales and mins, 128 quant bytes) → per panel-block: the four rows'
 * d (f16), dmin (f16), scales unpacked to u8 as [sub-block][row], mins as [pair][row][2], then the quant bytes by
 * panelByteOffset per 32-byte chunk. Q5_K (d, dmin, scales, qh[32], qs[128]) keeps d and dmin as f32 (16 bytes more,
 * everything after them 16 bytes later) and instead of nibbles holds whole 5-bit values
 * (matmul-q4k.ts): per 64-element chunk and run of 4 steps, vectors X0..X3 (the low sub-block's value, the high
 * sub-block's low 3 bits on top) and E (the high sub-block's top 2 bits of step j at bits 2j, 2j+1).
 */
function packQ45(mem: PackMemory, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean, q5: boolean): PackedMatrix {
  const quantAt = Array.from({ length: 4 * 32 }, (_, i) => panelByteOffset(i >> 5, i & 31, relaxed)); // [rr][l]
  const [panelBlock, fileBlock, qs] = q5 ? [Q5K_PANEL_BLOCK, 176, 48] : [Q4K_PANEL_BLOCK, 144, 16];
  const H = q5 ? 16 : 0; // Q5_K's d and dmin as f32 (16 bytes more): the scales, mins and quants sit H bytes later
  return packPanels(mem, panelBlock, fileBlock, rows, cols, bytes, (b0, rr, s) => {
    const u8 = mem.u8;
    if (q5) {
      mem.f32[b0 / 4 + rr] = f16ToF32(bytes[s]! | (bytes[s + 1]! << 8));
      mem.f32[b0 / 4 + 4 + rr] = f16ToF32(bytes[s + 2]! | (bytes[s + 3]! << 8));
    } else {
      u8[b0 + 2 * rr] = bytes[s]!;
      u8[b0 + 2 * rr + 1] = bytes[s + 1]!;
      u8[b0 + 8 + 2 * rr] = bytes[s + 2]!;
      u8[b0 + 9 + 2 * rr] = bytes[s + 3]!;
    }
    const base = b0 + H;
    const sc = s + 4;
    for (let j = 0; j < 8; j++) {
      const scale = j < 4 ? bytes[sc + j]! & 63 : (bytes[sc + j + 4]! & 0xf) | ((bytes[sc + j - 4]! >>> 6) << 4);
      const min = j < 4 ? bytes[sc + j + 4]! & 63 : (bytes[sc + j + 4]! >>> 4) | ((bytes[sc + j]! >>> 6) << 4);
      u8[base + 16 + 4 * j + rr] = scale;
      u8[base + 48 + 8 * (j >> 1) + 2 * rr + (j & 1)] = min; // row pairs (m_2k, m_2k+1): dot_i16x8 sums each pair
    }
    for (let c = 0; c < 4; c++) {
      const dst = base + 80 + (q5 ? 160 : 128) * c;
      const src = s + qs + 32 * c;
      if (!q5) for (let l = 0; l < 32; l++) u8[dst + quantAt[rr * 32 + l]!] = bytes[src + l]!;
      else {
        for (let l = 0; l < 32; l++) {
          const n = bytes[src + l]!, h = bytes[s + 16 + l]! >>> (2 * c); // as ggml's dequantize_row_q5_K
          const lo = (n & 15) | ((h & 1) << 4), hi = (n >>> 4) | ((h & 2) << 3);
          const v = l >> 2, at = dst + 80 * (v >> 2) + quantAt[rr * 32 + (l & 3)]!;
          u8[at + 16 * (v & 3)] = lo | ((hi & 7) << 5);
          u8[at + 64] |= (hi >>> 3) << (2 * (v & 3));
        }
      }
    }
  });
}

export function packQ4K(mem: PackMemory, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean): PackedMatrix {
  return packQ45(mem, rows, cols, bytes, relaxed, false);
}

export function packQ5K(mem: PackMemory, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean): PackedMatrix {
  return packQ45(mem, rows, cols, bytes, relaxed, true);
}

/**
 * Q6_K (file: ql[128], qh[64], 16 i8 scales, d f16) → per panel-block: the four rows' d as f32, the scales as
 * [sub-block][row], then per 16-element sub-block j the vectors A, B, C (kernels/wasm/q6k-values.ts): byte k of a
 * row's 4 in A, B, C is the 6-bit value of the sub-block's element k, 4+k, 8+k with 2 bits (0-1, 2-3, 4-5) of element
 * 12+k's value on top.
 */
export function packQ6K(mem: PackMemory, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean): PackedMatrix {
  const at = Array.from({ length: 4 * 4 }, (_, i) => panelByteOffset(i >> 2, i & 3, relaxed)); // [rr][k]
  const v = new Uint8Array(256); // one row-block's 256 values in element order
  return packPanels(mem, Q6K_PANEL_BLOCK, 210, rows, cols, bytes, (base, rr, s) => {
    const u8 = mem.u8;
    mem.f32[base / 4 + rr] = f16ToF32(bytes[s + 208]! | (bytes[s + 209]! << 8));
    for (let j = 0; j < 16; j++) u8[base + 16 + 4 * j + rr] = bytes[s + 192 + j]!;
    for (let h = 0; h < 2; h++) {
      const ql = s + 64 * h, qh = s + 128 + 32 * h;
      for (let l = 0; l < 32; l++) {
        const a = bytes[ql + l]!, c = bytes[ql + 32 + l]!, q = bytes[qh + l]!; // as ggml's dequantize_row_q6_K
        v[128 * h + l] = (a & 15) | ((q & 3) << 4);
        v[128 * h + l + 32] = (c & 15) | (((q >>> 2) & 3) << 4);
        v[128 * h + l + 64] = (a >>> 4) | (((q >>> 4) & 3) << 4);
        v[128 * h + l + 96] = (c >>> 4) | ((q >>> 6) << 4);
      }
    }
    for (let j = 0; j < 16; j++) {
      for (let k = 0; k < 4; k++) {
        const o = base + 80 + 48 * j + at[rr * 4 + k]!, v3 = v[16 * j + 12 + k]!;
        u8[o] = v[16 * j + k]! | ((v3 & 3) << 6);
        u8[o + 16] = v[16 * j + 4 + k]! | (((v3 >>> 2) & 3) << 6);
        u8[o + 32] = v[16 * j + 8 + k]! | ((v3 >>> 4) << 6);
      }
    }
  });
}

/**
 * Q2_K (file: scales[16] (scale | min << 4), qs[64], d, dmin f16) → per panel-block: d and dmin of the four rows
 * (f16), the scale bytes as [sub-block][row], then per 128-element half the qs bytes as 8 vectors (matmul-q3k.ts).
 */
export function packQ2K(mem: PackMemory, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean): PackedMatrix {
  const at = Array.from({ length: 4 * 32 }, (_, i) => panelByteOffset(i >> 5, i & 31, relaxed)); // [rr][l]
  return packPanels(mem, Q2K_PANEL_BLOCK, 84, rows, cols, bytes, (base, rr, s) => {
    const u8 = mem.u8;
    for (let i = 0; i < 2; i++) {
      u8[base + 2 * rr + i] = bytes[s + 80 + i]!;
      u8[base + 8 + 2 * rr + i] = bytes[s + 82 + i]!;
    }
    for (let j = 0; j < 16; j++) u8[base + 16 + 4 * j + rr] = bytes[s + j]!;
    for (let n = 0; n < 2; n++) for (let l = 0; l < 32; l++) u8[base + 80 + 128 * n + at[rr * 32 + l]!] = bytes[s + 16 + 32 * n + l]!;
  });
}

/**
 * Q3_K (file: hmask[32], qs[64], 12 bytes of packed 6-bit scales, d f16) → per panel-block: d of the four rows (f16),
 * the scales unpacked to i8 (−32 applied) as [sub-block][row], the hmask bytes as 8 vectors, then the qs as Q2_K's.
 */
export function packQ3K(mem: PackMemory, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean): PackedMatrix {
  const at = Array.from({ length: 4 * 32 }, (_, i) => panelByteOffset(i >> 5, i & 31, relaxed)); // [rr][l]
  return packPanels(mem, Q3K_PANEL_BLOCK, 110, rows, cols, bytes, (base, rr, s) => {
    const u8 = mem.u8;
    u8[base + 2 * rr] = bytes[s + 108]!;
    u8[base + 2 * rr + 1] = bytes[s + 109]!;
    const sc = s + 96;
    for (let j = 0; j < 16; j++) {
      const low = j < 8 ? bytes[sc + j]! & 0xf : bytes[sc + j - 8]! >>> 4;
      const high = (bytes[sc + 8 + (j & 3)]! >>> (2 * (j >>> 2))) & 3;
      u8[base + 8 + 4 * j + rr] = ((low | (high << 4)) - 32) & 0xff;
    }
    for (let l = 0; l < 32; l++) u8[base + 72 + at[rr * 32 + l]!] = bytes[s + l]!;
    for (let n = 0; n < 2; n++) for (let l = 0; l < 32; l++) u8[base + 200 + 128 * n + at[rr * 32 + l]!] = bytes[s + 32 + 32 * n + l]!;
  });
}
