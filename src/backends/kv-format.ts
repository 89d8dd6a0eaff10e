// KV cache element types (f32, f16, q8_0 as llama.cpp's --cache-type-k/v): row sizes and the f32 <-> stored-bytes conversions.
import { f16ToF32, f32ToF16 } from "../quant/f16";
import type { KvLayout } from "./backend";

/** How a KV cache stores each K/V element. */
export type KvType = "f32" | "f16" | "q8_0";

export const KV_TYPES: readonly KvType[] = ["f32", "f16", "q8_0"];

/** The type of a layout (f32 when it names none). */
export function kvTypeOf(layout: KvLayout): KvType {
  return layout.type ?? "f32";
}

/** Parses a KV type name (case-insensitive); anything else is a RangeError naming the choices. */
export function parseKvType(s: string): KvType {
  const t = s.trim().toLowerCase();
  if ((KV_TYPES as readonly string[]).includes(t)) return t as KvType;
  throw new RangeError(`unknown KV cache type ${JSON.stringify(s)} (f32 | f16 | q8_0)`);
}

/** Bytes of n consecutive elements stored as `type` (q8_0: 32-element blocks of an f16 scale and 32 int8). */
export function kvRowBytes(type: KvType, n: number): number {
  if (type === "f32") return n * 4;
  if (type === "f16") return n * 2;
  return (n / 32) * 34;
}

/** Why a layout cannot hold `type`, or null: q8_0 blocks must not straddle heads (llama.cpp needs the same). */
export function kvLayoutProblem(layout: KvLayout): string | null {
  if (kvTypeOf(layout) === "q8_0" && layout.headDim % 32 !== 0) return `a q8_0 KV cache needs a head dimension divisible by 32, not ${layout.headDim}`;
  return null;
}

/** Throws a RangeError when the layout cannot hold its type. */
export function checkKvLayout(layout: KvLayout): void {
  const p = kvLayoutProblem(layout);
  if (p) throw new RangeError(p);
}

/** Bytes of one position (K and V of every layer) in the layout's type: what a KV page stores per position. */
export function kvBytesPerPosition(layout: KvLayout): number {
  return layout.nLayers * 2 * kvRowBytes(kvTypeOf(layout), layout.nKvHeads * layout.headDim);
}

const f = Math.fround;

/** Round half to even (ggml's x86 _mm256_round_ps(_MM_ROUND_NEAREST), what its SIMD quantize_row_q8_0 uses). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Stores n floats (n % 32 = 0 for q8_0) as `type` at dst[o..]. F16: round to nearest even (GGML_FP32_TO_FP16).
 * Q8_0: what llama.cpp's cache store runs — the CPU type trait's from_float, ggml's x86 SIMD quantize_row_q8_0:
 * d = amax/127 stored as f16, q = round-half-even(x · (127/amax)) (the reference C code rounds x/d half away from
 * zero instead; they differ only on exact ties).
 */
export function encodeKv(type: KvType, src: Float32Array, s: number, n: number, dst: Uint8Array, o: number): void {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  if (type === "f32") {
    for (let i = 0; i < n; i++) view.setFloat32(o + i * 4, src[s + i]!, true);
    return;
  }
  if (type === "f16") {
    for (let i = 0; i < n; i++) view.setUint16(o + i * 2, f32ToF16(src[s + i]!), true);
    return;
  }
  for (let b = 0; b < n; b += 32) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(src[s + b + i]!));
    const id = amax !== 0 ? f(127 / amax) : 0;
    const at = o + (b / 32) * 34;
    view.setUint16(at, f32ToF16(f(amax / 127)), true);
    for (let i = 0; i < 32; i++) view.setInt8(at + 2 + i, roundEven(f(src[s + b + i]! * id)));
  }
}

/** The inverse: n elements of `type` at src[o..] as floats into dst[d..]. */
export function decodeKv(type: KvType, src: Uint8Array, o: number, dst: Float32Array, d: number, n: number): void {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (type === "f32") {
    for (let i = 0; i < n; i++) dst[d + i] = view.getFloat32(o + i * 4, true);
    return;
  }
  if (type === "f16") {
    for (let i = 0; i < n; i++) dst[d + i] = f16ToF32(view.getUint16(o + i * 2, true));
    return;
  }
  for (let b = 0; b < n; b += 32) {
    const at = o + (b / 32) * 34;
    const scale = f16ToF32(view.getUint16(at, true));
    for (let i = 0; i < 32; i++) dst[d + b + i] = scale * view.getInt8(at + 2 + i);
  }
}

/**
 * A query row as the K type's dot product sees it (llama.cpp converts q to the K type's vec_dot_type first): f32
 * unchanged, f16 rounded to f16, q8_0 quantized to Q8_0 and back (d·q is exact in f32, so a float dot with the
 * dequantized keys equals ggml's d_k·d_q·Σ k_i q_i up to summation order).
 */
export function roundQuery(type: KvType, x: Float32Array, s: number, n: number, dst: Float32Array, d: number): void {
  if (type === "f32") {
    dst.set(x.subarray(s, s + n), d);
    return;
  }
  const tmp = new Uint8Array(kvRowBytes(type, n));
  encodeKv(type, x, s, n, tmp, 0);
  decodeKv(type, tmp, 0, dst, d, n);
}

/** A readKvBytes page as floats ([layer][k|v][pos][kvDim]): for readKv and tests. */
export function kvBytesToFloats(layout: KvLayout, bytes: Uint8Array): Float32Array {
  const type = kvTypeOf(layout);
  const kvDim = layout.nKvHeads * layout.headDim;
  const rows = bytes.byteLength / kvRowBytes(type, kvDim);
  const out = new Float32Array(rows * kvDim);
  for (let r = 0; r < rows; r++) decodeKv(type, bytes, r * kvRowBytes(type, kvDim), out, r * kvDim, kvDim);
  return out;
}

/** Floats in the readKv layout stored as the layout's type (for writeKv). */
export function kvFloatsToBytes(layout: KvLayout, floats: Float32Array): Uint8Array {
  const type = kvTypeOf(layout);
  const kvDim = layout.nKvHeads * layout.headDim;
  const rows = floats.length / kvDim;
  const rb = kvRowBytes(type, kvDim);
  const out = new Uint8Array(rows * rb);
  for (let r = 0; r < rows; r++) encodeKv(type, floats, r * kvDim, kvDim, out, r * rb);
  return out;
}
