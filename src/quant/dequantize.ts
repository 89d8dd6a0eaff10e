// Dequantization dispatch by ggml type: raw tensor bytes of any supported type -> float32 values.
import { GGML_TYPES, GgmlType, ggmlTypeName } from "../gguf/ggml-types";
import { F16_TO_F32, bf16Table } from "./f16";
import { dequantQ4_0, dequantQ4_1, dequantQ5_0, dequantQ5_1, dequantQ8_0, dequantQ8_1 } from "./legacy";
import { dequantQ2_K, dequantQ3_K, dequantQ4_K, dequantQ5_K, dequantQ6_K } from "./kquants";

/** A block dequantizer: `nb` blocks from byte `s` of src into dst from element `o`. */
type BlockFn = (src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number) => void;

function copyF32(src: Uint8Array, s: number, dst: Float32Array, o: number, n: number): void {
  // Byte copy into dst's memory: works for any source alignment (GGUF data is little-endian, as is every JS host).
  new Uint8Array(dst.buffer, dst.byteOffset + o * 4, n * 4).set(src.subarray(s, s + n * 4));
}

function f16Row(src: Uint8Array, s: number, dst: Float32Array, o: number, n: number): void {
  const t = F16_TO_F32;
  for (let i = 0; i < n; i++, s += 2) dst[o + i] = t[src[s]! | (src[s + 1]! << 8)]!;
}

function bf16Row(src: Uint8Array, s: number, dst: Float32Array, o: number, n: number): void {
  const t = bf16Table();
  for (let i = 0; i < n; i++, s += 2) dst[o + i] = t[src[s]! | (src[s + 1]! << 8)]!;
}

/** Per-type block dequantizers. Scalar types use a block size of 1, so `nb` is the element count. */
const DEQUANT: ReadonlyMap<number, BlockFn> = new Map<number, BlockFn>([
  [GgmlType.F32, copyF32],
  [GgmlType.F16, f16Row],
  [GgmlType.BF16, bf16Row],
  [GgmlType.Q4_0, dequantQ4_0],
  [GgmlType.Q4_1, dequantQ4_1],
  [GgmlType.Q5_0, dequantQ5_0],
  [GgmlType.Q5_1, dequantQ5_1],
  [GgmlType.Q8_0, dequantQ8_0],
  [GgmlType.Q8_1, dequantQ8_1],
  [GgmlType.Q2_K, dequantQ2_K],
  [GgmlType.Q3_K, dequantQ3_K],
  [GgmlType.Q4_K, dequantQ4_K],
  [GgmlType.Q5_K, dequantQ5_K],
  [GgmlType.Q6_K, dequantQ6_K],
]);

/** Whether dequantizeRow/dequantize handle `type`. */
export function isDequantizable(type: number): boolean {
  return DEQUANT.has(type);
}

/** The types dequantization supports, in id order. */
export function dequantizableTypes(): number[] {
  return [...DEQUANT.keys()].sort((a, b) => a - b);
}

/**
 * Dequantize n elements (n a multiple of the type's block size) of `type` starting at byte `srcOffset` of src into
 * dst[dstOffset..]. Supports F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
 * Throws for an unsupported type ("cannot dequantize IQ2_XXS: unsupported type"), a partial block, or out-of-range
 * source/destination spans.
 */
export function dequantizeRow(type: number, src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  const fn = DEQUANT.get(type);
  const info = GGML_TYPES.get(type);
  if (!fn || !info) throw new Error(`cannot dequantize ${ggmlTypeName(type)}: unsupported type`);
  if (!Number.isInteger(n) || n < 0 || n % info.blockSize !== 0) {
    throw new Error(`cannot dequantize ${n} ${info.name} elements: not a multiple of the block size ${info.blockSize}`);
  }
  const nb = n / info.blockSize;
  const bytes = nb * info.typeSize;
  if (!(srcOffset >= 0 && srcOffset + bytes <= src.length)) {
    throw new Error(`dequantize ${info.name}: source bytes [${srcOffset}, ${srcOffset + bytes}) outside a buffer of ${src.length}`);
  }
  if (!(dstOffset >= 0 && dstOffset + n <= dst.length)) {
    throw new Error(`dequantize ${info.name}: destination [${dstOffset}, ${dstOffset + n}) outside an array of ${dst.length}`);
  }
  fn(src, srcOffset, dst, dstOffset, nb);
}

/** Dequantizes the first n elements of `type` in src into a new Float32Array. */
export function dequantize(type: number, src: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  dequantizeRow(type, src, 0, out, 0, n);
  return out;
}
