// Repacks Q4_1, Q5_0 and Q5_1 blocks into the 4-row panels the wasm kernels read (kernels/wasm/matmul-legacy.ts).
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
 * Per panel-block: the four rows' d (f16), then m (f16) where the format has one, then qh (u32 per row) where it has
 * one, then the quant bytes interleaved as Q4_0's (panelByteOffset). Padding rows are all zero.
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
  const qhOff = m >= 0 ? 16 : 8;
  const qOff = qhOff + (qh >= 0 ? 16 : 0);
  const quantAt = Array.from({ length: 4 * 16 }, (_, i) => panelByteOffset(i >> 4, i & 15, relaxed)); // [rr][k]
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
      if (qh >= 0) for (let i = 0; i < 4; i++) u8[base + qhOff + 4 * rr + i] = bytes[s + qh + i]!;
      for (let k = 0; k < 16; k++) u8[base + qOff + quantAt[rr * 16 + k]!] = bytes[s + qs + k]!;
    }
  }
  return { data, scales: 0, dataBytes, scalesBytes: 0 };
}
