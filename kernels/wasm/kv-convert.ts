// KV cache element conversion: f32 rows to f16 or Q8_0 blocks (as llama.cpp's cache store) and back, for storeKv and attention.
import { absMax32, f16Round, f16ToF32 } from "./common";

/** f16 bits of x, rounded to nearest even (GGML_FP32_TO_FP16): round in f32 first, then the exact value's bits. */
@inline function f16Bits(x: f32): u32 {
  const r = reinterpret<u32>(f16Round(x));
  const sign = (r >> 16) & 0x8000;
  const a = r & 0x7fffffff;
  if (a >= 0x7f800000) return sign | (a > 0x7f800000 ? 0x7e00 | ((a >> 13) & 0x3ff) : 0x7c00);
  // Below 2^-14 the value is a multiple of 2^-24: its f16 bits are that multiple (the subnormal encoding).
  if (a < 0x38800000) return sign | <u32>(reinterpret<f32>(a) * 16777216.0);
  return sign | (((a >> 23) - 112) << 10) | ((a >> 13) & 0x3ff);
}

/**
 * Stores n floats from src at dst as `type` (1 = f16, 2 = q8_0; n % 32 = 0 for q8_0). Q8_0 is ggml's x86
 * quantize_row_q8_0, the cache store's from_float: d = f16(amax/127), q = round-half-even(x · (127/amax)).
 */
export function kv_encode(dst: usize, src: usize, n: i32, type: i32): void {
  if (type == 1) {
    for (let i = 0; i < n; i++) store<u16>(dst + (<usize>i << 1), <u16>f16Bits(load<f32>(src + (<usize>i << 2))));
    return;
  }
  for (let b = 0; b < n >> 5; b++) {
    const xp = src + (<usize>b << 7);
    const o = dst + <usize>b * 34;
    const m = absMax32(xp);
    const id: f32 = m != 0 ? <f32>127.0 / m : 0;
    store<u16>(o, <u16>f16Bits(m / 127.0));
    const vid = f32x4.splat(id);
    for (let i = 0; i < 8; i += 2) {
      const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (<usize>i << 4)), vid)));
      const c = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (<usize>(i + 1) << 4)), vid)));
      const h = i16x8.narrow_i32x4_s(a, c);
      v128.store_lane<i64>(o + 2 + (<usize>i << 2), i8x16.narrow_i16x8_s(h, h), 0);
    }
  }
}

/** n elements of `type` at src as f32 at dst (exact: f16 and d·q are f32-representable; n % 32 = 0 for q8_0). */
@inline function decodeRun(dst: usize, src: usize, n: i32, type: i32): void {
  if (type == 1) {
    for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), f16ToF32(<u32>load<u16>(src + (<usize>i << 1))));
    return;
  }
  for (let b = 0; b < n >> 5; b++) {
    const o = src + <usize>b * 34;
    const d = f32x4.splat(f16ToF32(<u32>load<u16>(o)));
    const y = dst + (<usize>b << 7);
    for (let i = 0; i < 8; i++) {
      const q = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(o + 2 + (<usize>i << 2))));
      v128.store(y + (<usize>i << 4), f32x4.mul(f32x4.convert_i32x4_s(q), d));
    }
  }
}

/** The inverse of kv_encode: n elements of `type` at src as f32 at dst. */
export function kv_decode(dst: usize, src: usize, n: i32, type: i32): void {
  decodeRun(dst, src, n, type);
}

/**
 * n elements from each of nRows rows srcStride bytes apart (one KV head's slice of a layer's rows: for q8_0 whole
 * blocks, n % 32 = 0) as a compact [nRows][n] f32 plane at dst; element by element the values kv_decode gives.
 */
export function kv_decode_rows(dst: usize, src: usize, nRows: i32, srcStride: i32, n: i32, type: i32): void {
  const rowOut = <usize>n << 2;
  for (let r = 0; r < nRows; r++) decodeRun(dst + <usize>r * rowOut, src + <usize>r * <usize>srcStride, n, type);
}
