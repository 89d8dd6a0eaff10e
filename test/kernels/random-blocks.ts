// Seeded random GGUF blocks of any block type (quants, scales and mins drawn at random), for types `quantize` lacks.
import { GGML_TYPES, GgmlType } from "../../src/gguf/ggml-types";
import { f32ToF16 } from "../../src/quant/index";

/** Byte offsets of each type's f16 scale fields inside one block (every other byte is random). */
export const F16_FIELDS: ReadonlyMap<number, readonly number[]> = new Map([
  [GgmlType.Q4_0, [0]],
  [GgmlType.Q4_1, [0, 2]],
  [GgmlType.Q5_0, [0]],
  [GgmlType.Q5_1, [0, 2]],
  [GgmlType.Q8_0, [0]],
  [GgmlType.Q8_1, [0, 2]],
  [GgmlType.Q2_K, [80, 82]],
  [GgmlType.Q3_K, [108]],
  [GgmlType.Q4_K, [0, 2]],
  [GgmlType.Q5_K, [0, 2]],
  [GgmlType.Q6_K, [208]],
]);

/**
 * `rows` rows of `cols` values of a block type: every byte random, except the f16 scale fields, set to `scale`/64 · U(0.5, 1)
 * (positive, so mins subtract; large enough to stay normal f16). Random bytes reach every bit pattern a kernel must
 * decode (all scales, mins and high bits), which quantizer output of smooth data does not.
 */
export function randomBlocks(rand: () => number, type: number, rows: number, cols: number, scale = 1): Uint8Array {
  const info = GGML_TYPES.get(type);
  const fields = F16_FIELDS.get(type);
  if (!info || !fields) throw new Error(`randomBlocks: no layout for type ${type}`);
  const nBlocks = (rows * cols) / info.blockSize;
  const out = new Uint8Array(nBlocks * info.typeSize);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rand() * 256);
  for (let b = 0; b < nBlocks; b++) {
    for (const f of fields) {
      const h = f32ToF16(((0.5 + rand() * 0.5) * scale) / 64);
      out[b * info.typeSize + f] = h & 0xff;
      out[b * info.typeSize + f + 1] = h >>> 8;
    }
  }
  return out;
}
