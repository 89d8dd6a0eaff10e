// Quantizers that reproduce ggml's reference ones bit for bit: Q8_0, Q4_0, F16, BF16 and the K-quants (float32 math via Math.fround).
import { GgmlType, ggmlTypeName } from "../gguf/ggml-types";
import { f32BitsToF16, f32ToBf16, f32ToF16 } from "./f16";
import { quantizeQ2_K, quantizeQ3_K, quantizeQ4_K, quantizeQ5_K, quantizeQ6_K } from "./quantize-kquants";
import { quantizeQ4_1, quantizeQ5_0, quantizeQ5_1 } from "./quantize-legacy";

const fr = Math.fround;

/** C's roundf: round half away from zero. */
function roundAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function checkBlocks(name: string, n: number): void {
  if (n % 32 !== 0) throw new Error(`cannot quantize ${n} values to ${name}: not a multiple of the block size 32`);
}

/**
 * Q8_0 as ggml's quantize_row_q8_0_ref: per 32 values, amax = max|x|, d = amax/127, id = d ? 1/d : 0,
 * q = roundf(x·id); d stored as f16. Length must be a multiple of 32.
 */
export function quantizeQ8_0(src: Float32Array): Uint8Array {
  const n = src.length;
  checkBlocks("Q8_0", n);
  const out = new Uint8Array((n / 32) * 34);
  for (let i = 0, p = 0; i < n; i += 32, p += 34) {
    let amax = 0;
    for (let j = i; j < i + 32; j++) {
      const a = Math.abs(src[j]!);
      if (amax < a) amax = a; // C's MAX(amax, fabsf(v)) keeps amax when equal
    }
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = f32ToF16(d);
    out[p] = h & 0xff;
    out[p + 1] = h >>> 8;
    for (let j = 0; j < 32; j++) out[p + 2 + j] = roundAway(fr(src[i + j]! * id)) & 0xff;
  }
  return out;
}

/**
 * Q4_0 as ggml's quantize_row_q4_0_ref: per 32 values, max = the value of largest magnitude (first on ties, sign
 * kept), d = max / −8, id = d ? 1/d : 0, q = min(15, (int8)(x·id + 8.5)); d stored as f16. Element j goes in the low
 * nibble of byte j, element j+16 in its high nibble.
 */
export function quantizeQ4_0(src: Float32Array): Uint8Array {
  const n = src.length;
  checkBlocks("Q4_0", n);
  const out = new Uint8Array((n / 32) * 18);
  for (let i = 0, p = 0; i < n; i += 32, p += 18) {
    let amax = 0;
    let max = 0;
    for (let j = i; j < i + 32; j++) {
      const v = src[j]!;
      const a = Math.abs(v);
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = f32ToF16(d);
    out[p] = h & 0xff;
    out[p + 1] = h >>> 8;
    for (let j = 0; j < 16; j++) {
      const x0 = fr(src[i + j]! * id);
      const x1 = fr(src[i + 16 + j]! * id);
      const q0 = Math.min(15, Math.trunc(fr(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(fr(x1 + 8.5)));
      out[p + 2 + j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
    }
  }
  return out;
}

/** F16 as ggml_fp32_to_fp16_row: each value rounded to nearest even, little-endian halves. */
export function quantizeF16(src: Float32Array): Uint8Array {
  const bits = new Int32Array(src.buffer, src.byteOffset, src.length); // Int32: stays a small integer in V8
  const out = new Uint16Array(src.length); // little-endian host, as everywhere JS runs
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16(bits[i]!);
  return new Uint8Array(out.buffer);
}

/** BF16 as ggml_fp32_to_bf16_row: round to nearest even on the top 16 bits. */
export function quantizeBF16(src: Float32Array): Uint8Array {
  const out = new Uint8Array(src.length * 2);
  for (let i = 0, p = 0; i < src.length; i++, p += 2) {
    const h = f32ToBf16(src[i]!);
    out[p] = h & 0xff;
    out[p + 1] = h >>> 8;
  }
  return out;
}

/** Raw little-endian float32 bytes (a copy). */
export function quantizeF32(src: Float32Array): Uint8Array {
  return new Uint8Array(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength));
}

/** The types `quantize` can produce. */
export const QUANTIZE_TYPES: readonly GgmlType[] = [
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  GgmlType.Q8_0,
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q2_K,
  GgmlType.Q3_K,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
];

/** Encodes float32 values as `type` (one of QUANTIZE_TYPES); any other type throws naming it. */
export function quantize(type: GgmlType, src: Float32Array): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return quantizeF32(src);
    case GgmlType.F16:
      return quantizeF16(src);
    case GgmlType.BF16:
      return quantizeBF16(src);
    case GgmlType.Q8_0:
      return quantizeQ8_0(src);
    case GgmlType.Q4_0:
      return quantizeQ4_0(src);
    case GgmlType.Q4_1:
      return quantizeQ4_1(src);
    case GgmlType.Q5_0:
      return quantizeQ5_0(src);
    case GgmlType.Q5_1:
      return quantizeQ5_1(src);
    case GgmlType.Q2_K:
      return quantizeQ2_K(src);
    case GgmlType.Q3_K:
      return quantizeQ3_K(src);
    case GgmlType.Q4_K:
      return quantizeQ4_K(src);
    case GgmlType.Q5_K:
      return quantizeQ5_K(src);
    case GgmlType.Q6_K:
      return quantizeQ6_K(src);
    default:
      throw new Error(`cannot quantize to ${ggmlTypeName(type)}: unsupported type`);
  }
}
