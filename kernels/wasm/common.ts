// Shared kernel helpers: horizontal and 4-row dots, 4-lane exp, f16 conversion, ggml rounding, weight panel layout.

/**
 * A store target for ordering: V8 keeps a function's loads and stores in program order but schedules pure arithmetic
 * late, so a long run of loads (an unrolled block) is issued first and what it loaded spills; storing a value here
 * makes the loads after the store wait for the arithmetic before it. Nothing reads it.
 */
export const SINK: usize = memory.data(16, 16);

/** Sum of the four f32 lanes, paired as (0+1)+(2+3). */
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** acc + a*b: a fused (or not, the engine decides) multiply-add on relaxed builds, mul then add otherwise. */
@inline export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/**
 * Four f16 values (zero-extended into u32 lanes) to f32. Moving exponent+mantissa up 13 bits and multiplying by 2^112
 * rebases the exponent and turns f16 subnormals into exact f32 normals; Inf/NaN (exponent 31) are patched separately.
 */
@inline export function f16x4ToF32(h: v128): v128 {
  const em = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  let f = f32x4.mul(em, f32x4.splat(reinterpret<f32>(0x77800000)));
  const special = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  f = v128.bitselect(v128.or(em, i32x4.splat(0x7f800000)), f, special);
  return v128.or(f, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** One f16 (bits in the low 16) to f32. */
@inline export function f16ToF32(h: u32): f32 {
  return f32x4.extract_lane(f16x4ToF32(i32x4.splat(h)), 0);
}

/** Rounds x to the nearest f16-representable value (ties to even, overflow to ±Inf), returned as f32. */
export function f16Round(x: f32): f32 {
  const u = reinterpret<u32>(x);
  const sign = u & 0x80000000;
  const a = u & 0x7fffffff;
  if (a >= 0x7f800000) return x; // Inf / NaN unchanged
  if (a >= 0x477ff000) return reinterpret<f32>(sign | 0x7f800000); // ≥ 65520 rounds past the largest f16
  if (a < 0x38800000) {
    // f16 subnormal range: multiples of 2^-24; scaling by a power of two is exact, f32.nearest ties to even.
    const q = nearest<f32>(reinterpret<f32>(a) * 16777216.0);
    return reinterpret<f32>(sign | reinterpret<u32>(q * reinterpret<f32>(0x33800000)));
  }
  // Normal range: keep 10 mantissa bits, round to nearest even by adding just under half an ulp plus the lsb.
  const r = (a + 0xfff + ((a >> 13) & 1)) & 0xffffe000;
  return reinterpret<f32>(sign | r);
}

/**
 * max |x| over the 32 floats at p (one Q8_0 block). With the sign cleared, a float's bits order like the float (NaN
 * above +Inf above every finite value), so one unsigned integer max per vector finds it (f32x4.max costs V8 several
 * instructions for NaN and ±0) and a NaN still wins; the lanes fold by shuffles, (0 max 2, 1 max 3) then 0 max 1.
 */
@inline export function absMax32(p: usize): f32 {
  const mask = i32x4.splat(0x7fffffff);
  let amax = v128.and(v128.load(p), mask);
  for (let i = 1; i < 8; i++) amax = i32x4.max_u(amax, v128.and(v128.load(p + (<usize>i << 4)), mask));
  amax = i32x4.max_u(amax, i32x4.shuffle(amax, amax, 2, 3, 2, 3));
  amax = i32x4.max_u(amax, i32x4.shuffle(amax, amax, 1, 1, 1, 1));
  return f32x4.extract_lane(amax, 0);
}

/**
 * Lanes rounded to the nearest integer, ties to even, as i32, for |x| < 2^22 (callers guarantee it): x + 1.5·2^23
 * lies in [2^23, 2^24), where the floats are the integers, so the add itself rounds (1.5·2^23 is even, so ties go
 * where f32x4.nearest sends them), and the sum's bits less 1.5·2^23's are the integer. Two operations where
 * nearest + trunc_sat take about eight on x64.
 */
@inline export function roundToInt(x: v128): v128 {
  return i32x4.sub(f32x4.add(x, f32x4.splat(12582912.0)), i32x4.splat(0x4b400000));
}

/** C's roundf (half away from zero) on four lanes: trunc, then step away when the dropped fraction is ≥ 0.5. */
@inline export function roundAway4(x: v128): v128 {
  const t = f32x4.trunc(x);
  const frac = f32x4.abs(f32x4.sub(x, t)); // exact: x - trunc(x) never rounds
  const step = v128.and(f32x4.ge(frac, f32x4.splat(0.5)), v128.or(v128.and(x, i32x4.splat(0x80000000)), f32x4.splat(1.0)));
  return f32x4.add(t, step);
}

/**
 * Byte offset, inside one 4-row panel-block of repacked Q8_0 / Q4_0 weights, of quant byte k of the panel's row rr (the
 * layout matmul-quant.ts describes; repack.ts's panelByteOffset is its twin): vector k / 4, then 4-byte row groups
 * (`quads`: relaxed Q4_0) or 2-byte row pairs.
 */
@inline export function panelByteOffset(rr: usize, k: usize, quads: bool): usize {
  const v = (k >> 2) << 4;
  if (quads) return v + (rr << 2) + (k & 3);
  return v + ((k & 2) << 2) + (rr << 1) + (k & 1);
}

/**
 * e^x on four lanes (Cephes' expf: x = n ln2 + r with ln2 split in two, a degree-5 polynomial on |r| ≤ ln2/2, then
 * 2^n through the exponent bits): within 2 ulp of the correctly rounded value. Results below 2^-126 flush to 0 and
 * those past f32's range are +Inf.
 */
@inline export function expf4(x: v128): v128 {
  // pmin/pmax (one instruction each on x64, where min/max take several for NaN and ±0): with the value first and
  // nonzero bounds they agree with min/max on every input, NaN included (it passes through, as min/max give a NaN).
  const n = f32x4.pmax(f32x4.pmin(f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504089))), f32x4.splat(127)), f32x4.splat(-126));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(madd(f32x4.mul(p, r), r, r), f32x4.splat(1));
  // 2^n from the exponent bits: n + 127 (an integer in 1..254) added to 1.5·2^23 lands in the low mantissa bits, which
  // is trunc_sat's integer without its NaN/overflow fix-ups (n is neither; a NaN x is NaN through y either way).
  const scaled = f32x4.mul(y, i32x4.shl(i32x4.sub(f32x4.add(n, f32x4.splat(12582912.0 + 127.0)), i32x4.splat(0x4b400000)), 23));
  const inf = f32x4.gt(x, f32x4.splat(88.72283));
  const tiny = f32x4.lt(x, f32x4.splat(-87.33654));
  return v128.andnot(v128.bitselect(f32x4.splat(Infinity), scaled, inf), tiny);
}

/**
 * The dots of the n floats at a (n a multiple of 4) with the four rows at b, b + stride, b + 2·stride, b + 3·stride, as
 * the four lanes: independent accumulators share each load of a, and one transpose-add replaces four horizontal sums.
 */
@inline export function dot4(a: usize, b: usize, stride: usize, n: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let d = 0; d < n; d += 4) {
    const o = <usize>d << 2;
    const av = v128.load(a + o);
    a0 = madd(av, v128.load(b + o), a0);
    a1 = madd(av, v128.load(b + stride + o), a1);
    a2 = madd(av, v128.load(b + 2 * stride + o), a2);
    a3 = madd(av, v128.load(b + 3 * stride + o), a3);
  }
  return transposeAdd(a0, a1, a2, a3);
}

/** The horizontal sums of a0..a3 as the four lanes (dot4's pairing: (lane 0 + 2) + (lane 1 + 3)). */
@inline export function transposeAdd(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  // Lanes a0[0]+a0[2], a1[0]+a1[2], a0[1]+a0[3], a1[1]+a1[3] (and the same for a2, a3), then the pairs of those.
  const s01 = f32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const s23 = f32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return f32x4.add(i32x4.shuffle(s01, s23, 0, 1, 4, 5), i32x4.shuffle(s01, s23, 2, 3, 6, 7));
}

/** Σ a[d] b[d] over n floats (two accumulators: the adds of one chain would wait on each other). */
@inline export function dotf(a: usize, b: usize, n: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let d = 0;
  for (; d + 8 <= n; d += 8) {
    const o = <usize>d << 2;
    a0 = madd(v128.load(a + o), v128.load(b + o), a0);
    a1 = madd(v128.load(a + o, 16), v128.load(b + o, 16), a1);
  }
  for (; d + 4 <= n; d += 4) a0 = madd(v128.load(a + (<usize>d << 2)), v128.load(b + (<usize>d << 2)), a0);
  let s = hsum(f32x4.add(a0, a1));
  for (; d < n; d++) s += load<f32>(a + (<usize>d << 2)) * load<f32>(b + (<usize>d << 2));
  return s;
}
