// Q8_K activations for the K-quant matmuls, as ggml's quantize_row_q8_K_ref: one f32 scale per 256-block, i8 quants.
import { XK_BYTES, XK_SUMS } from "./kquant-common";
import { roundToInt } from "./common";

/**
 * Quantizes n floats (n a multiple of 256; consecutive token rows quantize identically as one run) as ggml does: per
 * 256-block, max = the element of largest magnitude (first on ties, sign kept), iscale = -127/max,
 * q = min(127, nearest-even(iscale·x)), d = 1/iscale (an all-zero block gets d = 0, q = 0). Writes the quants at
 * q + b·XK_BYTES (i8 on the relaxed build, widened to i16 on SIMD128: dot_i16x8 wants them so; widen once here, not
 * once per weight row), d[b] as f32, and at s + b·XK_SUMS·4 the negated sums the kernels start from: 16 i32 of -Σq per
 * 16 elements (Q6_K's -32 offset, Q3_K, Q2_K), then 8 of -Σq per 32, then those 8 as i16 (Q4_K/Q5_K mins).
 */
export function quantize_q8_k(x: usize, q: usize, d: usize, s: usize, n: i32): void {
  const nb = n >> 8;
  for (let b = 0; b < nb; b++) {
    const xp = x + (<usize>b << 10);
    // max |x|: sign-cleared bits order like the floats (NaN above +Inf), so one unsigned max per vector. The same
    // lanes' largest unsigned bits (the negative of largest magnitude, if any) and largest signed bits (the largest
    // positive) tell whether -amax and +amax occur: when only one does, it is the maximum without a second look. A
    // block holding a NaN (its maximum's bits above +Inf's) is scanned again by the rule that never takes a NaN.
    const absMask = i32x4.splat(0x7fffffff);
    let vmax = i32x4.splat(0);
    let vneg = i32x4.splat(0);
    let vpos = i32x4.splat(0);
    let p = xp;
    for (let i = 0; i < 64; i++) {
      const v = v128.load(p);
      p += 16;
      vmax = i32x4.max_u(vmax, v128.and(v, absMask));
      vneg = i32x4.max_u(vneg, v);
      vpos = i32x4.max_s(vpos, v);
    }
    vmax = i32x4.max_u(vmax, i32x4.shuffle(vmax, vmax, 2, 3, 2, 3));
    vmax = i32x4.max_u(vmax, i32x4.shuffle(vmax, vmax, 1, 1, 1, 1));
    let amaxBits = i32x4.extract_lane(vmax, 0);
    const numbers = <u32>amaxBits <= 0x7f800000; // no NaN in the block
    let mx: f32;
    if (numbers) {
      vneg = i32x4.max_u(vneg, i32x4.shuffle(vneg, vneg, 2, 3, 2, 3));
      vneg = i32x4.max_u(vneg, i32x4.shuffle(vneg, vneg, 1, 1, 1, 1));
      vpos = i32x4.max_s(vpos, i32x4.shuffle(vpos, vpos, 2, 3, 2, 3));
      vpos = i32x4.max_s(vpos, i32x4.shuffle(vpos, vpos, 1, 1, 1, 1));
      const negBits = amaxBits | 0x80000000;
      const hasNeg = i32x4.extract_lane(vneg, 0) == negBits;
      mx = hasNeg ? reinterpret<f32>(negBits) : reinterpret<f32>(amaxBits);
      if (hasNeg && i32x4.extract_lane(vpos, 0) == amaxBits) mx = firstOfMagnitude(xp, amaxBits); // both: the first
    } else {
      mx = maxIgnoringNaN(xp);
      amaxBits = reinterpret<i32>(mx) & 0x7fffffff;
    }
    const amax = reinterpret<f32>(amaxBits);
    const qb = q + <usize>b * XK_BYTES;
    const sb = s + <usize>b * XK_SUMS * 4;
    if (amaxBits == 0) {
      memory.fill(qb, 0, XK_BYTES);
      memory.fill(sb, 0, XK_SUMS * 4);
      store<f32>(d + (<usize>b << 2), 0);
      continue;
    }
    const iscale: f32 = <f32>-127.0 / mx;
    // 2^-100 ≤ amax < Inf and no NaN: iscale is finite and every |iscale·x| ≤ 127·(1 + 2^-22), so roundToInt gives
    // nearest's integers; an infinite or tiny amax, or a NaN (trunc_sat makes it 0), keeps nearest + trunc_sat.
    const fast = amax >= <f32>7.888609052210118e-31 && amax <= <f32>3.4028234663852886e38 && numbers;
    // Two copies of the quantizing pass, so the fast/slow choice is made once per block, not once per group.
    if (fast) quantGroups(xp, qb, sb, f32x4.splat(iscale), true);
    else quantGroups(xp, qb, sb, f32x4.splat(iscale), false);
    store<f32>(d + (<usize>b << 2), <f32>1.0 / iscale);
  }
}

/**
 * The element of largest magnitude at xp (a 256-block holding a NaN), first on ties, sign kept, as the scalar rule
 * `|x| > amax` finds it (never a NaN: NaN lanes zeroed first); 0 when every other element is ±0.
 */
function maxIgnoringNaN(xp: usize): f32 {
  const absMask = i32x4.splat(0x7fffffff);
  let vmax = i32x4.splat(0);
  for (let i = 0; i < 64; i++) {
    const v = v128.load(xp + (<usize>i << 4));
    vmax = i32x4.max_u(vmax, v128.and(v128.and(v, f32x4.eq(v, v)), absMask));
  }
  vmax = i32x4.max_u(vmax, i32x4.shuffle(vmax, vmax, 2, 3, 2, 3));
  vmax = i32x4.max_u(vmax, i32x4.shuffle(vmax, vmax, 1, 1, 1, 1));
  const amaxBits = i32x4.extract_lane(vmax, 0);
  return amaxBits == 0 ? 0 : firstOfMagnitude(xp, amaxBits);
}

/** The first element at xp (a 256-block) whose magnitude has the bits amaxBits, sign kept. */
function firstOfMagnitude(xp: usize, amaxBits: i32): f32 {
  const absMask = i32x4.splat(0x7fffffff);
  const want = i32x4.splat(amaxBits);
  for (let i = 0; i < 64; i++) {
    const v = v128.load(xp + (<usize>i << 4));
    const hit = i32x4.bitmask(i32x4.eq(v128.and(v, absMask), want));
    if (hit != 0) return load<f32>(xp + (<usize>i << 4) + (<usize>ctz<i32>(hit) << 2));
  }
  return 0; // not reached: amaxBits is some element's magnitude
}

/**
 * One 256-block's quants q = min(127, nearest(iscale·x)) at qb, and its sums at sb: 16 × -Σq per 16 elements, 8 × -Σq
 * per 32, those 8 as i16. Four 16-element groups per pass, their four sums one vector (a transpose-add), so every
 * sum is stored as part of a vector.
 */
@inline function quantGroups(xp: usize, qb: usize, sb: usize, vs: v128, fast: bool): void {
  let p = xp;
  let qo = qb;
  let so = sb;
  let even = i32x4.splat(0); // the previous pass's sums
  let pairsLo = i32x4.splat(0); // Σ per 32 of the first half
  for (let k = 0; k < 4; k++) {
    const g0 = group(p, qo, vs, fast);
    const g1 = group(p + 64, qo + GROUP_Q, vs, fast);
    const g2 = group(p + 128, qo + 2 * GROUP_Q, vs, fast);
    const g3 = group(p + 192, qo + 3 * GROUP_Q, vs, fast);
    p += 256;
    qo += 4 * GROUP_Q;
    // Lanes Σ of groups 4k..4k+3 (the pairing (0 + 2) + (1 + 3) within each: integer sums, any order is exact).
    const s01 = i32x4.add(i32x4.shuffle(g0, g1, 0, 4, 1, 5), i32x4.shuffle(g0, g1, 2, 6, 3, 7));
    const s23 = i32x4.add(i32x4.shuffle(g2, g3, 0, 4, 1, 5), i32x4.shuffle(g2, g3, 2, 6, 3, 7));
    const sums = i32x4.neg(i32x4.add(i32x4.shuffle(s01, s23, 0, 1, 4, 5), i32x4.shuffle(s01, s23, 2, 3, 6, 7)));
    v128.store(so, sums);
    so += 16;
    if (k & 1) {
      // Σ per 32 elements, groups (0, 1), (2, 3) of the previous pass and of this one; then as i16 (|Σ| ≤ 32·127:
      // the pairs Q4_K/Q5_K's mins dot_i16x8 takes), the low halves, as a scalar i16 store keeps them.
      const pairs = i32x4.add(i32x4.shuffle(even, sums, 0, 2, 4, 6), i32x4.shuffle(even, sums, 1, 3, 5, 7));
      if (k == 1) {
        pairsLo = pairs;
      } else {
        v128.store(so, pairsLo); // so = sb + 64 after four passes
        so += 16;
        v128.store(so, pairs);
        so += 16;
        v128.store(so, i8x16.shuffle(pairsLo, pairs, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29));
      }
    } else {
      even = sums;
    }
  }
}

/** Bytes of one 16-element group's quants: i8 on the relaxed build, i16 on SIMD128. */
const GROUP_Q: usize = ASC_FEATURE_RELAXED_SIMD ? 16 : 32;

/** One 16-element group at gp quantized into qo (see quantGroups); returns its sum as four i32 lanes. */
@inline function group(gp: usize, qo: usize, vs: v128, fast: bool): v128 {
  const top = i32x4.splat(127);
  // Addresses bumped, not immediate offsets: without a trap handler V8 keeps one bounds limit per distinct offset.
  let p = gp;
  const l0 = v128.load(p);
  p += 16;
  const l1 = v128.load(p);
  p += 16;
  const l2 = v128.load(p);
  p += 16;
  const l3 = v128.load(p);
  let a: v128, c: v128, e: v128, f: v128;
  if (fast) {
    // |iscale·x| ≤ 127·(1 + 2^-22) rounds to at most 127: ggml's min(127, ·) changes nothing here.
    a = roundToInt(f32x4.mul(l0, vs));
    c = roundToInt(f32x4.mul(l1, vs));
    e = roundToInt(f32x4.mul(l2, vs));
    f = roundToInt(f32x4.mul(l3, vs));
  } else {
    a = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(l0, vs))), top);
    c = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(l1, vs))), top);
    e = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(l2, vs))), top);
    f = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(l3, vs))), top);
  }
  const h0 = i16x8.narrow_i32x4_s(a, c);
  const h1 = i16x8.narrow_i32x4_s(e, f);
  if (ASC_FEATURE_RELAXED_SIMD) {
    v128.store(qo, i8x16.narrow_i16x8_s(h0, h1));
  } else {
    let o = qo;
    v128.store(o, h0);
    o += 16;
    v128.store(o, h1);
  }
  return i32x4.add(i32x4.add(a, c), i32x4.add(e, f));
}
