// KV cache element conversion: f32 rows to f16 or Q8_0 blocks (as llama.cpp's cache store) and back, for storeKv and attention.
import { absMax32, f16Round, f16ToF32, f16x4ToF32 } from "./common";

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

/**
 * Eight f16 (one v128 of halves) as two f32x4, without Inf/NaN: each half moved to the top of an i32 lane, shifted
 * arithmetically down 3 bits with the three sign copies cleared (sign, then exponent+mantissa 13 bits up), times
 * 2^112 (f16x4ToF32's rebase, exact; subnormals become f32 normals). An exponent of 31 comes out finite, so callers
 * check `specials` and convert such rows with f16x4ToF32 instead.
 */
@inline function f16x8Lo(h: v128): v128 {
  const x = v128.and(i32x4.shr_s(i8x16.shuffle(i8x16.splat(0), h, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), 3), i32x4.splat(0x8fffe000));
  return f32x4.mul(x, f32x4.splat(reinterpret<f32>(0x77800000)));
}
@inline function f16x8Hi(h: v128): v128 {
  const x = v128.and(i32x4.shr_s(i8x16.shuffle(i8x16.splat(0), h, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 3), i32x4.splat(0x8fffe000));
  return f32x4.mul(x, f32x4.splat(reinterpret<f32>(0x77800000)));
}

/** One row of n f16 at src as f32 at dst, exactly (f16x4ToF32 four at a time, the tail one by one). */
@inline function f16RowExact(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f16x4ToF32(i32x4.extend_low_i16x8_u(v128.load64_zero(src + (<usize>i << 1)))));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), f16ToF32(<u32>load<u16>(src + (<usize>i << 1))));
}

/**
 * nRows rows of n elements of `type` (srcStride bytes apart at src) as f32 rows dstStride bytes apart at dst: exact
 * (f16 and d·q are f32-representable), so the same values whatever the path; n % 32 = 0 for q8_0. f16 takes the fast
 * eight-at-a-time form and redoes a row exactly when it holds an Inf or NaN (exponent 31: the doubled half ≥ 0xf800).
 */
@inline export function decodeRows(dst: usize, dstStride: usize, src: usize, srcStride: usize, nRows: i32, n: i32, type: i32): void {
  if (type == 1) {
    for (let r = 0; r < nRows; r++) {
      const s = src + <usize>r * srcStride, y = dst + <usize>r * dstStride;
      let big = i16x8.splat(0);
      let i = 0;
      for (; i + 8 <= n; i += 8) {
        const h = v128.load(s + (<usize>i << 1));
        big = i16x8.max_u(big, i16x8.shl(h, 1));
        v128.store(y + (<usize>i << 2), f16x8Lo(h));
        v128.store(y + (<usize>i << 2), f16x8Hi(h), 16);
      }
      for (; i < n; i++) store<f32>(y + (<usize>i << 2), f16ToF32(<u32>load<u16>(s + (<usize>i << 1))));
      if (v128.any_true(i16x8.gt_u(big, i16x8.splat(<i16>0xf7ff)))) f16RowExact(y, s, n);
    }
    return;
  }
  for (let r = 0; r < nRows; r++) {
    const s = src + <usize>r * srcStride, y = dst + <usize>r * dstStride;
    for (let b = 0; b < n >> 5; b++) {
      const o = s + <usize>b * 34;
      const d = f32x4.splat(f16ToF32(<u32>load<u16>(o)));
      const yb = y + (<usize>b << 7);
      // The block's 32 quants as two 16-byte loads, widened i8 → i16 → i32 in halves: d · q exactly, lane by lane.
      for (let i = 0; i < 2; i++) {
        const q8 = v128.load(o + 2 + (<usize>i << 4));
        const lo = i16x8.extend_low_i8x16_s(q8), hi = i16x8.extend_high_i8x16_s(q8);
        const yi = yb + (<usize>i << 6);
        v128.store(yi, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), d));
        v128.store(yi, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), d), 16);
        v128.store(yi, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), d), 32);
        v128.store(yi, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), d), 48);
      }
    }
  }
}

/** The inverse of kv_encode: n elements of `type` at src as f32 at dst. */
export function kv_decode(dst: usize, src: usize, n: i32, type: i32): void {
  decodeRows(dst, 0, src, 0, 1, n, type);
}

/**
 * n elements from each of nRows rows srcStride bytes apart (one KV head's slice of a layer's rows: for q8_0 whole
 * blocks, n % 32 = 0) as a compact [nRows][n] f32 plane at dst; element by element the values kv_decode gives.
 */
export function kv_decode_rows(dst: usize, src: usize, nRows: i32, srcStride: i32, n: i32, type: i32): void {
  decodeRows(dst, <usize>n << 2, src, <usize>srcStride, nRows, n, type);
}
