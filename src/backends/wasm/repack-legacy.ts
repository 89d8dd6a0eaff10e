// Repacks Q4_1, Q5_0 and Q5_1 blocks into the 4-row panels the wasm kernels read (kernels/wasm/legacy-ops.ts).
import type { PackMemory } from "./linear-memory";
import { panelByteOffset, type PackedMatrix } from "./repack";

/** File layout of each format: block bytes, and where m, qh and the 16 quant bytes sit (-1: absent). */
const LAYOUT = {
  q4_1: { block: 20, m: 2, qh: -1, qs: 4 },
  q5_0: { block: 22, m: -1, qh: 2, qs: 6 },
  q5_1: { block: 24, m: 2, qh: 4, qs: 8 },
} as const;
export type LegacyFormat = keyof typeof LAYOUT;

/** Bytes per 4-row panel and 32-block: exactly four file blocks (f16 scales stay f16, qh stays packed). */
export function legacyPanelBlock(f: LegacyFormat): number {
  return 4 * LAYOUT[f].block;
}

/** Bytes of a rows×cols matrix (rows padded to 4). */
export function legacyPackedBytes(f: LegacyFormat, rows: number, cols: number): number {
  return Math.ceil(rows / 4) * (cols / 32) * legacyPanelBlock(f);
}

/**
 * Per panel-block: the four rows' d (f16), then m (f16) where the format has one, then the quant vectors
 * kernels/wasm/legacy-ops.ts describes. Element 4j+e of row rr lands in byte panelByteOffset(rr, e) of vector j (and
 * element 16+4j+e beside it): Q4_1 as Q4_0's nibbles; Q5_0/Q5_1 as q (bits 0..4) | (q' & 7) << 5 with q' = element
 * 16+4j+e, whose q' >> 3 goes to bits 2j..2j+1 of the same byte of a fifth vector. Padding rows are all zero.
 */
export function packLegacy(f: LegacyFormat, mem: PackMemory, rows: number, cols: number, bytes: Uint8Array, relaxed: boolean): PackedMatrix {
  const { block, m, qh, qs } = LAYOUT[f];
  const nb = cols / 32;
  if (bytes.length < rows * nb * block) throw new RangeError(`${bytes.length} bytes, expected ${rows * nb * block}`);
  const pb = legacyPanelBlock(f);
  const dataBytes = legacyPackedBytes(f, rows, cols);
  const data = mem.alloc(dataBytes);
  const u8 = mem.u8;
  u8.fill(0, data, data + dataBytes);
  const mOff = 8;
  const qOff = m >= 0 ? 16 : 8;
  const at = Array.from({ length: 16 }, (_, i) => panelByteOffset(i >> 2, i & 3, relaxed)); // [rr][e], within a vector
  for (let r = 0; r < rows; r++) {
    const rr = r & 3;
    for (let b = 0; b < nb; b++) {
      const s = (r * nb + b) * block;
      const base = data + ((r >> 2) * nb + b) * pb;
      u8[base + 2 * rr] = bytes[s]!;
      u8[base + 2 * rr + 1] = bytes[s + 1]!;
      if (m >= 0) {
        u8[base + mOff + 2 * rr] = bytes[s + m]!;
        u8[base + mOff + 2 * rr + 1] = bytes[s + m + 1]!;
      }
      // Fifth bits: bit k of the file's little-endian u32 qh is element k's.
      const h = qh >= 0 ? (bytes[s + qh]! | (bytes[s + qh + 1]! << 8) | (bytes[s + qh + 2]! << 16) | (bytes[s + qh + 3]! << 24)) >>> 0 : 0;
      for (let k = 0; k < 16; k++) {
        const j = k >> 2;
        const p = base + qOff + 16 * j + at[rr * 4 + (k & 3)]!;
        const byte = bytes[s + qs + k]!;
        if (qh < 0) {
          u8[p] = byte;
          continue;
        }
        const lo = (byte & 15) | (((h >>> k) & 1) << 4);
        const hi = (byte >> 4) | (((h >>> (k + 16)) & 1) << 4);
        u8[p] = lo | ((hi & 7) << 5);
        u8[p + 64 - 16 * j] = u8[p + 64 - 16 * j]! | ((hi >> 3) << (2 * j));
      }
    }
  }
  return { data, scales: 0, dataBytes, scalesBytes: 0 };
}
