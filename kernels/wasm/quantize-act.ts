// Activation rounding before quantized and F16 matmuls, exactly as ggml (and the ref backend's "ggml" mode) does it.
import { f16Round, roundToInt } from "./common";

/**
 * Quantizes n floats (n a multiple of 32; consecutive token rows quantize identically as one run) to Q8_0 blocks
 * as ggml's x86 quantize_row_q8_0: d = amax/127 rounded to f16, q = round-half-even(x · (127/amax)) (the SIMD code
 * multiplies by 127/amax, not 1/d, and rounds with _mm256_round_ps(_MM_ROUND_NEAREST); f32x4.nearest is the same). Writes each block's q as 32 i16 lanes (64 bytes: the
 * dot_i16x8 kernels want them widened, so widen once here instead of once per weight row), on the relaxed build after
 * the same as 32 i8 (96 bytes in all: relaxed_dot takes i8), d[b] as f32 and s[b] = -Σq as i32 (the Q4_0 kernels,
 * which dot the unsigned nibbles, start each block's integer sum from 8 times it).
 */
export function quantize_q8_0(x: usize, q: usize, d: usize, s: usize, n: i32): void {
  quantRows(x, q, d, s, 0, n, false);
}

/**
 * quantize_q8_0's blocks (withSt: and ggml's Q8_1 s term, st[b] = f16(amax/127 · Σq) as f32, the unrounded d times
 * the sum: x86 quantize_row_q8_1). Four blocks at a time, so their d, -Σq (and st) are computed and stored as vectors.
 */
@inline export function quantRows(x: usize, q: usize, d: usize, s: usize, st: usize, n: i32, withSt: bool): void {
  const nb = n >> 5;
  const QB: usize = ASC_FEATURE_RELAXED_SIMD ? 96 : 64;
  const I16: usize = ASC_FEATURE_RELAXED_SIMD ? 32 : 0; // the i16 quants' offset in a block
  let b = 0;
  for (; b + 4 <= nb; b += 4) {
    const xp = x + (<usize>b << 7);
    const qb = q + <usize>b * QB;
    const r0 = quantBlock(xp, qb, qb + I16, ASC_FEATURE_RELAXED_SIMD, true);
    const r1 = quantBlock(xp + 128, qb + QB, qb + QB + I16, ASC_FEATURE_RELAXED_SIMD, true);
    const r2 = quantBlock(xp + 256, qb + 2 * QB, qb + 2 * QB + I16, ASC_FEATURE_RELAXED_SIMD, true);
    const r3 = quantBlock(xp + 384, qb + 3 * QB, qb + 3 * QB + I16, ASC_FEATURE_RELAXED_SIMD, true);
    // [m0, m1, Σ0, Σ1] and [m2, m3, Σ2, Σ3], then the four amax and the four sums.
    const t01 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
    const t23 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
    const m = i32x4.shuffle(t01, t23, 0, 1, 4, 5);
    const sum = i32x4.shuffle(t01, t23, 2, 3, 6, 7);
    const o = <usize>b << 2;
    const dd = f32x4.div(m, f32x4.splat(127.0));
    v128.store(d + o, f16Round4(dd));
    v128.store(s + o, i32x4.neg(sum));
    if (withSt) v128.store(st + o, f16Round4(f32x4.mul(dd, f32x4.convert_i32x4_s(sum))));
  }
  for (; b < nb; b++) {
    const qb = q + <usize>b * QB;
    const r = quantBlock(x + (<usize>b << 7), qb, qb + I16, ASC_FEATURE_RELAXED_SIMD, true);
    const o = <usize>b << 2;
    // amax in every lane: float arithmetic on the sum's lanes (integer bits: subnormals or NaN) would be slow.
    const dd = f32x4.div(i32x4.shuffle(r, r, 0, 0, 0, 0), f32x4.splat(127.0));
    v128.store_lane<i32>(d + o, f16Round4(dd), 0);
    store<i32>(s + o, -i32x4.extract_lane(r, 1));
    if (withSt) v128.store_lane<i32>(st + o, f16Round4(f32x4.mul(dd, f32x4.convert_i32x4_s(i32x4.shuffle(r, r, 1, 1, 1, 1)))), 0);
  }
}

/** 2^-100 and the largest finite f32, as bits: the amax range quantBlock's fast rounding takes. */
const FAST_LO: u32 = 0x0d800000;
const FAST_HI: u32 = 0x7f7fffff;

/**
 * One 32-block at xp quantized (quantize_q8_0's rounding): its quants as i8 at q8 (when i8) and as i16 at q16 (when
 * i16). Returns [amax, Σq, amax, Σq] (amax's bits, Σq as i32). The eight vectors are loaded once and held for both the
 * maximum and the rounding: each wasm load is a bounds check where the engine has no trap handler (workerd).
 */
@inline function quantBlock(xp: usize, q8: usize, q16: usize, i8: bool, i16: bool): v128 {
  // Addresses computed, not immediate offsets: without a trap handler V8 compares each access with the memory size
  // less its offset, one limit (a register) per distinct offset; with offset 0 every v128 access shares one.
  let p = xp;
  const v0 = v128.load(p);
  p += 16;
  const v1 = v128.load(p);
  p += 16;
  const v2 = v128.load(p);
  p += 16;
  const v3 = v128.load(p);
  p += 16;
  const v4 = v128.load(p);
  p += 16;
  const v5 = v128.load(p);
  p += 16;
  const v6 = v128.load(p);
  p += 16;
  const v7 = v128.load(p);
  // max |x|: with the sign cleared a float's bits order like the float (NaN above +Inf above every finite value), so
  // unsigned integer maxima find it (and a NaN wins); folded by shuffles, every lane ends up holding it.
  const k = i32x4.splat(0x7fffffff);
  let am = i32x4.max_u(
    i32x4.max_u(i32x4.max_u(v128.and(v0, k), v128.and(v1, k)), i32x4.max_u(v128.and(v2, k), v128.and(v3, k))),
    i32x4.max_u(i32x4.max_u(v128.and(v4, k), v128.and(v5, k)), i32x4.max_u(v128.and(v6, k), v128.and(v7, k))),
  );
  am = i32x4.max_u(am, i32x4.shuffle(am, am, 2, 3, 0, 1));
  am = i32x4.max_u(am, i32x4.shuffle(am, am, 1, 0, 3, 2));
  const vid = f32x4.div(f32x4.splat(127.0), am); // id = 127/amax (a zero amax takes slowBlock, which makes it 0)
  // With 2^-100 ≤ amax < +Inf, id is finite and every |x·id| ≤ 127·(1 + 2^-22), so roundToInt gives nearest's
  // integers. NaN, ±Inf, zero and tiny amax (x·id could overflow, or be NaN) take the nearest/trunc_sat path.
  let sumv: v128;
  if (<u32>i32x4.extract_lane(am, 0) - FAST_LO <= FAST_HI - FAST_LO) {
    const a0 = roundToInt(f32x4.mul(v0, vid)), a1 = roundToInt(f32x4.mul(v1, vid));
    const a2 = roundToInt(f32x4.mul(v2, vid)), a3 = roundToInt(f32x4.mul(v3, vid));
    const a4 = roundToInt(f32x4.mul(v4, vid)), a5 = roundToInt(f32x4.mul(v5, vid));
    const a6 = roundToInt(f32x4.mul(v6, vid)), a7 = roundToInt(f32x4.mul(v7, vid));
    let sum = i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(a4, a5), i32x4.add(a6, a7)));
    sum = i32x4.add(sum, i32x4.shuffle(sum, sum, 2, 3, 0, 1));
    sumv = i32x4.add(sum, i32x4.shuffle(sum, sum, 1, 0, 3, 2));
    const h0 = i16x8.narrow_i32x4_s(a0, a1), h1 = i16x8.narrow_i32x4_s(a2, a3);
    const h2 = i16x8.narrow_i32x4_s(a4, a5), h3 = i16x8.narrow_i32x4_s(a6, a7);
    if (i8) {
      let o = q8;
      v128.store(o, i8x16.narrow_i16x8_s(h0, h1));
      o += 16;
      v128.store(o, i8x16.narrow_i16x8_s(h2, h3));
    }
    if (i16) {
      let o = q16;
      v128.store(o, h0);
      o += 16;
      v128.store(o, h1);
      o += 16;
      v128.store(o, h2);
      o += 16;
      v128.store(o, h3);
    }
  } else {
    // id = 127/amax, or 0 for a zero amax (NaN stays NaN, as the scalar m != 0 ? 127/m : 0 gives).
    sumv = i32x4.splat(slowBlock(xp, v128.and(vid, f32x4.ne(am, f32x4.splat(0))), q8, q16, i8, i16));
  }
  return i32x4.shuffle(am, sumv, 0, 4, 0, 4);
}

/** quantBlock's quants for an amax outside the fast range (nearest, then trunc_sat: NaN to 0, ±Inf saturated); Σq. */
function slowBlock(xp: usize, vid: v128, q8: usize, q16: usize, i8: bool, i16: bool): i32 {
  let sum = i32x4.splat(0);
  for (let i = 0; i < 8; i += 2) {
    const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (<usize>i << 4)), vid)));
    const c = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (<usize>(i + 1) << 4)), vid)));
    sum = i32x4.add(sum, i32x4.add(a, c));
    const h = i16x8.narrow_i32x4_s(a, c);
    if (i8) v128.store_lane<i64>(q8 + (<usize>i << 2), i8x16.narrow_i16x8_s(h, h), 0);
    if (i16) v128.store(q16 + (<usize>i << 3), h);
  }
  sum = i32x4.add(sum, i32x4.shuffle(sum, sum, 2, 3, 2, 3));
  return i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1);
}

/** f16Round on four lanes (the same bits: ties to even, overflow to ±Inf, Inf and NaN unchanged). */
@inline function f16Round4(x: v128): v128 {
  const a = v128.and(x, i32x4.splat(0x7fffffff));
  // Normal range: keep 10 mantissa bits, round to nearest even by adding just under half an ulp plus the lsb.
  let r = v128.and(i32x4.add(i32x4.add(a, i32x4.splat(0xfff)), v128.and(i32x4.shr_u(a, 13), i32x4.splat(1))), i32x4.splat(0xffffe000));
  // f16 subnormal range: multiples of 2^-24; scaling by a power of two is exact, nearest ties to even.
  const sub = f32x4.mul(f32x4.nearest(f32x4.mul(a, f32x4.splat(16777216.0))), i32x4.splat(0x33800000));
  r = v128.bitselect(sub, r, i32x4.lt_s(a, i32x4.splat(0x38800000)));
  r = v128.bitselect(i32x4.splat(0x7f800000), r, i32x4.ge_s(a, i32x4.splat(0x477ff000))); // ≥ 65520: past the largest f16
  r = v128.or(r, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(x, r, i32x4.ge_s(a, i32x4.splat(0x7f800000)));
}

/**
 * Bytes per block of a 4-token tile in quantize_q8_0_tiles's layout: the four tokens' 32 i8 quants group-major (token
 * u's 4-byte group g at 16g + 4u), their d (f32, at 128 + 4u), −8Σq (i32, at 144 + 4u: the fused tiles' start) and
 * −4Σq (i16, at 160 + 2u: the i16 tiles' lane start), padded to a multiple of 16.
 */
export const TILE_BLOCK: usize = 176;

/** One group (4 bytes) of each of four tokens (vectors a-d, lanes = groups g..g+3) per vector, stored 16 bytes apart at p. */
@inline function transpose4(p: usize, a: v128, b: v128, c: v128, d: v128): void {
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5), t1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(c, d, 0, 4, 1, 5), t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(p, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(p, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 16);
  v128.store(p, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 32);
  v128.store(p, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 48);
}

/**
 * A tile-block's four tokens' quants (token u's 32 at p + 32u, as quantBlock wrote them) regrouped group-major: token
 * u's 4-byte group g at p + 16g + 4u, so one 16-byte load holds a group of all four tokens (prefill-q4t.ts tile8).
 */
@inline function groupMajor(p: usize): void {
  const a = v128.load(p), b = v128.load(p, 32), c = v128.load(p, 64), d = v128.load(p, 96);
  const e = v128.load(p, 16), f = v128.load(p, 48), g = v128.load(p, 80), h = v128.load(p, 112);
  transpose4(p, a, b, c, d);
  transpose4(p + 64, e, f, g, h);
}

/**
 * quantize_q8_0 of nTokens rows of `cols` floats (the same quants, d and sums), laid out for the relaxed build's Q4_0
 * prefill tiles (prefill-q4t.ts, prefill-q4t-fused.ts): tokens 4T..4T+3 of every full tile T interleaved per block at
 * q + (T·nb + b)·TILE_BLOCK, so a tile walks one pointer and every token's quants, d and start are a load at an
 * immediate offset.
 * The tokens past the last full tile keep quantize_q8_0's row layout at their usual places (token t's quants at
 * q + t·nb·96, d and −Σq at d + 4t·nb and s + 4t·nb); the tiles take less room than those rows would. SIMD128: the
 * row layout throughout (its tiles read that).
 */
export function quantize_q8_0_tiles(x: usize, q: usize, d: usize, s: usize, cols: i32, nTokens: i32): void {
  const nb = cols >> 5;
  const nt4 = ASC_FEATURE_RELAXED_SIMD ? nTokens & ~3 : 0;
  const row = <usize>cols << 2;
  let tb = q;
  for (let t = 0; t < nt4; t += 4) {
    let xp = x + <usize>t * row;
    for (let b = 0; b < nb; b++) {
      const r0 = quantBlock(xp, tb, 0, true, false);
      const r1 = quantBlock(xp + row, tb + 32, 0, true, false);
      const r2 = quantBlock(xp + 2 * row, tb + 64, 0, true, false);
      const r3 = quantBlock(xp + 3 * row, tb + 96, 0, true, false);
      groupMajor(tb);
      const t01 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
      const t23 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
      const sum = i32x4.shuffle(t01, t23, 2, 3, 6, 7);
      let o = tb + 128;
      v128.store(o, f16Round4(f32x4.div(i32x4.shuffle(t01, t23, 0, 1, 4, 5), f32x4.splat(127.0))));
      o += 16;
      v128.store(o, i32x4.neg(i32x4.shl(sum, 3)));
      o += 16;
      // −4Σq wrapped to i16 (the low halves, as a scalar i16 store would keep them), one 8-byte store.
      const s4 = i32x4.neg(i32x4.shl(sum, 2));
      v128.store_lane<i64>(o, i8x16.shuffle(s4, s4, 0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 4, 5, 8, 9, 12, 13), 0);
      tb += TILE_BLOCK;
      xp += 128;
    }
  }
  if (nt4 < nTokens) {
    const skip = <usize>nt4 * <usize>nb;
    quantize_q8_0(x + (skip << 7), q + skip * (ASC_FEATURE_RELAXED_SIMD ? 96 : 64), d + (skip << 2), s + (skip << 2), (nTokens - nt4) * cols);
  }
}

/** Rounds n floats from x to f16 precision into y (ggml feeds F16 weights f16 activations). */
export function round_f16(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(y + (<usize>i << 2), f16Round(load<f32>(x + (<usize>i << 2))));
}
