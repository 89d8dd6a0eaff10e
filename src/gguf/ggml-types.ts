// ggml tensor types: ids as stored in GGUF tensor infos, with each type's block geometry (the size-checked layout table).

/** Tensor element types, numbered as in ggml (`enum ggml_type`). Gaps are ids ggml has retired. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
}

/** Block geometry of one type: `blockSize` elements are stored in `typeSize` bytes. */
export interface GgmlTypeInfo {
  readonly name: string;
  readonly blockSize: number;
  readonly typeSize: number;
}

/** Super-block length shared by all K-quants. */
export const QK_K = 256;

const info = (name: string, blockSize: number, typeSize: number): GgmlTypeInfo => ({ name, blockSize, typeSize });

/** Every type a GGUF file may name. Sizes follow ggml's block structs byte for byte. */
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map<number, GgmlTypeInfo>([
  [GgmlType.F32, info("F32", 1, 4)],
  [GgmlType.F16, info("F16", 1, 2)],
  [GgmlType.Q4_0, info("Q4_0", 32, 2 + 16)],
  [GgmlType.Q4_1, info("Q4_1", 32, 2 + 2 + 16)],
  [GgmlType.Q5_0, info("Q5_0", 32, 2 + 4 + 16)],
  [GgmlType.Q5_1, info("Q5_1", 32, 2 + 2 + 4 + 16)],
  [GgmlType.Q8_0, info("Q8_0", 32, 2 + 32)],
  [GgmlType.Q8_1, info("Q8_1", 32, 2 + 2 + 32)],
  [GgmlType.Q2_K, info("Q2_K", QK_K, QK_K / 16 + QK_K / 4 + 2 + 2)],
  [GgmlType.Q3_K, info("Q3_K", QK_K, QK_K / 8 + QK_K / 4 + 12 + 2)],
  [GgmlType.Q4_K, info("Q4_K", QK_K, 2 + 2 + 12 + QK_K / 2)],
  [GgmlType.Q5_K, info("Q5_K", QK_K, 2 + 2 + 12 + QK_K / 8 + QK_K / 2)],
  [GgmlType.Q6_K, info("Q6_K", QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + 2)],
  [GgmlType.Q8_K, info("Q8_K", QK_K, 4 + QK_K + (QK_K / 16) * 2)],
  [GgmlType.IQ2_XXS, info("IQ2_XXS", QK_K, 2 + QK_K / 4)],
  [GgmlType.IQ2_XS, info("IQ2_XS", QK_K, 2 + QK_K / 4 + QK_K / 32)],
  [GgmlType.IQ3_XXS, info("IQ3_XXS", QK_K, 2 + (3 * QK_K) / 8)],
  [GgmlType.IQ1_S, info("IQ1_S", QK_K, 2 + QK_K / 8 + QK_K / 16)],
  [GgmlType.IQ4_NL, info("IQ4_NL", 32, 2 + 16)],
  [GgmlType.IQ3_S, info("IQ3_S", QK_K, 2 + QK_K / 4 + QK_K / 32 + QK_K / 8 + QK_K / 64)],
  [GgmlType.IQ2_S, info("IQ2_S", QK_K, 2 + QK_K / 4 + QK_K / 32 + QK_K / 32)],
  [GgmlType.IQ4_XS, info("IQ4_XS", QK_K, 2 + 2 + QK_K / 64 + QK_K / 2)],
  [GgmlType.I8, info("I8", 1, 1)],
  [GgmlType.I16, info("I16", 1, 2)],
  [GgmlType.I32, info("I32", 1, 4)],
  [GgmlType.I64, info("I64", 1, 8)],
  [GgmlType.F64, info("F64", 1, 8)],
  [GgmlType.IQ1_M, info("IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32)],
  [GgmlType.BF16, info("BF16", 1, 2)],
  [GgmlType.TQ1_0, info("TQ1_0", QK_K, (QK_K - (4 * QK_K) / 64) / 5 + 4 + 2)],
  [GgmlType.TQ2_0, info("TQ2_0", QK_K, QK_K / 4 + 2)],
  [GgmlType.MXFP4, info("MXFP4", 32, 1 + 16)],
]);

/** Name of a type id for messages ("Q4_0", or "type 99" when unknown). */
export function ggmlTypeName(type: number): string {
  return GGML_TYPES.get(type)?.name ?? `type ${type}`;
}

/** Bytes taken by `nElements` elements of `type`; throws if the count does not fill whole blocks. */
export function ggmlRowBytes(type: number, nElements: number): number {
  const t = GGML_TYPES.get(type);
  if (!t) throw new Error(`unknown ggml type ${type}`);
  if (nElements % t.blockSize !== 0) {
    throw new Error(`${t.name}: ${nElements} elements is not a multiple of the block size ${t.blockSize}`);
  }
  return (nElements / t.blockSize) * t.typeSize;
}
