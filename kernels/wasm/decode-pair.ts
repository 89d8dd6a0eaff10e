// Q8_0 / Q4_0 decode (one token): 4-row panels far apart in a matrix per pass (two for Q8_0, three for relaxed Q4_0),
// sharing each activation load; Q8_0's pass loops are in decode-q8-passes.ts and (Node's split form) decode-q8-split.ts.
import { SINK, madd } from "./common";
import { f16x4At, storeRows4 } from "./kquant-common";
import { blockQ4Fused, blockQ4Relaxed, blockQ4Wide, blockQ8 } from "./decode-legacy";
import { dot_add_fused } from "./matmul-quant";
import { dot_i7_unsigned, vnni } from "./dot-probe";
import { FusedPairs, SplitPairs, pairQ8, pairsQ8 } from "./decode-q8-passes";
import { expandSplit } from "./decode-q8-split";

// Layouts as matmul-quant.ts (repack.ts): per panel nb panel-blocks of PB weight bytes, then (separately) nb scale
// groups. With P panels, a Q8_0 pass takes panels p and p + P/2, a relaxed Q4_0 pass p, p + P/3 and p + 2P/3: weight
// streams (and scale streams) far apart, each read in order. Measured (kernels/bench/decode-model-ab.mjs), that
// reads weights streaming from memory faster than one stream; adjacent panels p, p + 1 (one stream read in two
// interleaved halves) were 2x slower there; Q4_0's three streams beat two by 1.05 to 1.3 in workerd and 1.03 in
// Node (SmolLM2 shapes), four were no better than three. Panels left over go alone (decode-legacy.ts blocks), as does
// every panel on the SIMD128 build (pairs not measured faster there in Node), so SIMD128 decode runs matmul_q*_0's
// one-token code.
// The token's activations are first expanded (expand) so that every load in the loops is a full vector at an
// immediate offset from one pointer (V8 adds the offset of a splatting load in a separate instruction).
// Each row's f32 sum takes the same steps in the same block order as matmulQ's decode (convert, times dw·dx, fused
// add) on the same exact integer sums: the same bits.
// V8 issues a block's loads in program order but floats arithmetic after them; the stores to SINK keep each group of
// loads next to its arithmetic (decode-legacy.ts).

/** Marker types for relaxed Q4_0's step form (resolved at compile time): i32 dot-adds, or i16 dots widened per block. */
class Fused {}
class I16 {}

/** Activation bytes per block, and where its i16 quants start (quantize_q8_0's layout). */
const XB: usize = ASC_FEATURE_RELAXED_SIMD ? 96 : 64;
const X16: usize = ASC_FEATURE_RELAXED_SIMD ? 32 : 0;
/** Expanded activation bytes per block (see expand): 8 or 16 splats of 4 quant bytes, then dx and 8·(-Σq) splatted. */
const EB4: usize = 160;

/**
 * Writes the token's activations at xe as the pair loops load them, each a full vector at an immediate offset:
 * per block, the `groups` 4-byte groups of its quants at xp (i8 for relaxed Q4_0, i16 pairs otherwise) splatted to
 * all lanes, then its d splatted, then (-Σq) << shift splatted (8·(-Σq) as the 4-row blocks compute per panel, or
 * fused Q8_0's 128·(-Σq)).
 */
@inline function expand(xe: usize, xp: usize, dp: usize, sp: usize, nb: i32, groups: usize, shift: i32 = 3): void {
  for (let b = 0; b < nb; b++) {
    for (let k: usize = 0; k < groups; k++) v128.store(xe + 16 * k, v128.load32_splat(xp + 4 * k));
    v128.store(xe + 16 * groups, v128.load32_splat(dp));
    v128.store(xe + 16 * groups + 16, i32x4.shl(v128.load32_splat(sp), shift));
    xe += 16 * groups + 32;
    xp += XB;
    dp += 4;
    sp += 4;
  }
}

@inline function lo4(n: v128): v128 {
  return v128.and(n, i8x16.splat(0x0f));
}
@inline function hi4(n: v128): v128 {
  return v128.and(i16x8.shr_u(n, 4), i8x16.splat(0x0f)); // x86 has no byte shift: i16 shift, then mask
}

/** Orders the loads before these stores after the arithmetic before them (see the top). */
@inline function sink3(a: v128, b: v128, c: v128): void {
  v128.store(SINK, a);
  v128.store(SINK, b);
  v128.store(SINK, c);
}

/**
 * Relaxed Q4_0 step: weight vector n's low nibbles dotted with the splatted i8 quants x, its high ones with y, added
 * to acc. i16 form: one accumulator per panel-block, at most 8 steps of 2 products of a nibble and a quant per lane,
 * |lane| ≤ 8·2·15·127 = 30480 < 2^15 (exact, as blockQ4Relaxed). Fused: i32 dot-adds.
 */
@inline function q4rStep<F>(acc: v128, n: v128, x: v128, y: v128): v128 {
  if (idof<F>() == idof<Fused>()) return i32x4.relaxed_dot_i8x16_i7x16_add_s(y, hi4(n), i32x4.relaxed_dot_i8x16_i7x16_add_s(x, lo4(n), acc));
  return i16x8.add(i16x8.add(acc, i16x8.relaxed_dot_i8x16_i7x16_s(x, lo4(n))), i16x8.relaxed_dot_i8x16_i7x16_s(y, hi4(n)));
}

/** The first step of a block (i16 form: no add to a zero accumulator; fused: the chain starts at c = 8·(-Σq)). */
@inline function q4rFirst<F>(c: v128, n: v128, x: v128, y: v128): v128 {
  if (idof<F>() == idof<Fused>()) return q4rStep<F>(c, n, x, y);
  return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x, lo4(n)), i16x8.relaxed_dot_i8x16_i7x16_s(y, hi4(n)));
}

/** Three panels at wa, wa + pw, wa + 2·pw (outputs o1, o2, o3; the third may be the last, partial panel at row r3). */
@inline function tripleQ4Relaxed<F>(o1: usize, o2: usize, o3: usize, wa: usize, pw: usize, sa: usize, ps: usize, xe: usize, nb: i32, r3: i32, rows: i32): void {
  let oa = f32x4.splat(0), ob = f32x4.splat(0), oc = f32x4.splat(0);
  let wb = wa + pw, sb = sa + ps, wc = wb + pw, sc = sb + ps;
  const end = xe + <usize>nb * EB4;
  while (xe < end) {
    let x = v128.load(xe), y = v128.load(xe, 64);
    let c = idof<F>() == idof<Fused>() ? v128.load(xe, 144) : i32x4.splat(0); // i16: loaded where it is added
    let aa = q4rFirst<F>(c, v128.load(wa), x, y), ab = q4rFirst<F>(c, v128.load(wb), x, y), ac = q4rFirst<F>(c, v128.load(wc), x, y);
    sink3(aa, ab, ac);
    x = v128.load(xe, 16);
    y = v128.load(xe, 80);
    aa = q4rStep<F>(aa, v128.load(wa, 16), x, y);
    ab = q4rStep<F>(ab, v128.load(wb, 16), x, y);
    ac = q4rStep<F>(ac, v128.load(wc, 16), x, y);
    sink3(aa, ab, ac);
    x = v128.load(xe, 32);
    y = v128.load(xe, 96);
    aa = q4rStep<F>(aa, v128.load(wa, 32), x, y);
    ab = q4rStep<F>(ab, v128.load(wb, 32), x, y);
    ac = q4rStep<F>(ac, v128.load(wc, 32), x, y);
    sink3(aa, ab, ac);
    x = v128.load(xe, 48);
    y = v128.load(xe, 112);
    aa = q4rStep<F>(aa, v128.load(wa, 48), x, y);
    ab = q4rStep<F>(ab, v128.load(wb, 48), x, y);
    ac = q4rStep<F>(ac, v128.load(wc, 48), x, y);
    if (idof<F>() != idof<Fused>()) {
      c = v128.load(xe, 144);
      aa = i32x4.add(i32x4.extadd_pairwise_i16x8_s(aa), c);
      ab = i32x4.add(i32x4.extadd_pairwise_i16x8_s(ab), c);
      ac = i32x4.add(i32x4.extadd_pairwise_i16x8_s(ac), c);
    }
    const dx = v128.load(xe, 128);
    oa = madd(f32x4.convert_i32x4_s(aa), f32x4.mul(v128.load(sa), dx), oa);
    ob = madd(f32x4.convert_i32x4_s(ab), f32x4.mul(v128.load(sb), dx), ob);
    oc = madd(f32x4.convert_i32x4_s(ac), f32x4.mul(v128.load(sc), dx), oc);
    wa += 64;
    wb += 64;
    wc += 64;
    sa += 16;
    sb += 16;
    sc += 16;
    xe += EB4;
  }
  v128.store(o1, oa);
  v128.store(o2, ob);
  storeRows4(o3, oc, r3, rows);
}

/** The `third` passes of three Q4_0 panels (each form a function of its own: V8 compiles and allocates it alone). */
function triplesQ4<F>(out: usize, wq: usize, wd: usize, xe: usize, nb: i32, third: i32, rows: i32): void {
  const pw = <usize>nb * 64, ps = <usize>nb * 16;
  const tw = <usize>third * pw, ts = <usize>third * ps, to = <usize>third << 4;
  for (let p = 0; p < third; p++) {
    const o = out + (<usize>p << 4);
    tripleQ4Relaxed<F>(o, o + to, o + 2 * to, wq + <usize>p * pw, tw, wd + <usize>p * ps, ts, xe, nb, (p + 2 * third) << 2, rows);
  }
}

/** A lone last panel (rows r..r+3), four rows per block as matmulQ's decode. */
@inline function single(q8: bool, fusedDot: bool, o: usize, wp: usize, sc: usize, xp: usize, dp: usize, sp: usize, nb: i32, r: i32, rows: i32): void {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    let s: v128;
    if (q8) s = blockQ8(wp, xp);
    else if (!ASC_FEATURE_RELAXED_SIMD) s = blockQ4Wide(wp, xp, sp);
    else s = fusedDot ? blockQ4Fused(wp, xp, sp) : blockQ4Relaxed(wp, xp, sp);
    const dw = q8 ? f16x4At(sc) : v128.load(sc);
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.mul(dw, v128.load32_splat(dp)), acc);
    wp += q8 ? 128 : 64;
    sc += q8 ? 8 : 16;
    xp += XB;
    dp += 4;
    sp += 4;
  }
  storeRows4(o, acc, r, rows);
}

/**
 * out[r] = Σ_c w[r, c] x[c] for one token and Q8_0 weights (x quantized by quantize_q8_0 into xq, xd, xs); xe is
 * scratch of cols·10 bytes (the expanded activations; 16-byte aligned is best). Relaxed: fused dot-adds on offset
 * weights where the engine's own dot-adds are vpdpbusd (vnni(), never set_dot_add_fused: pmaddubsw would saturate),
 * else split activations where the engine's i16 relaxed dots are pmaddubsw (dot_i7_unsigned(): Node), else i16 pairs.
 */
export function decode_q8_0(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, xe: usize): void {
  if (ASC_FEATURE_RELAXED_SIMD && vnni()) {
    q8Fused(out, wq, wd, xq, xd, xs, rows, cols, xe);
    return;
  }
  const nb = cols >> 5;
  const pw = <usize>nb * 128, ps = <usize>nb * 8, x16 = xq + X16;
  if (!ASC_FEATURE_RELAXED_SIMD) {
    // SIMD128: one panel at a time, as matmul_q8_0 (pairs not measured faster in Node).
    for (let r = 0; r < rows; r += 4) single(true, false, out + (<usize>r << 2), wq + (<usize>r >> 2) * pw, wd + (<usize>r >> 2) * ps, x16, xd, xs, nb, r, rows);
    return;
  }
  if (dot_i7_unsigned()) {
    q8Split(out, wq, wd, xq, xd, xs, rows, cols, xe);
    return;
  }
  if (rows > 4) expand(xe, x16, xd, xs, nb, 16);
  const panels = (rows + 3) >> 2, half = panels >> 1;
  const hw = <usize>half * pw, hs = <usize>half * ps, ho = <usize>half << 4;
  for (let p = 0; p < half; p++) {
    const o = out + (<usize>p << 4);
    pairQ8(o, wq + <usize>p * pw, hw, wd + <usize>p * ps, hs, xe, nb, (p + half) << 2, rows, o + ho);
  }
  const r = half << 3;
  if (r < rows) single(true, false, out + (<usize>r << 2), wq + (<usize>r >> 2) * pw, wd + (<usize>r >> 2) * ps, x16, xd, xs, nb, r, rows);
}

/** Relaxed Q8_0's fused form: panels p and p + P/2 per pass on the i8 expansion, a last odd panel alone. */
function q8Fused(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, xe: usize): void {
  const nb = cols >> 5;
  const pw = <usize>nb * 128, ps = <usize>nb * 8, x16 = xq + X16;
  const half = ((rows + 3) >> 2) >> 1;
  if (half > 0) expand(xe, xq, xd, xs, nb, 8, 7); // then 128·(−Σq): the offset weights' start
  pairsQ8<FusedPairs>(out, wq, wd, xe, nb, half, rows);
  const r = half << 3;
  if (r < rows) single(true, false, out + (<usize>r << 2), wq + (<usize>r >> 2) * pw, wd + (<usize>r >> 2) * ps, x16, xd, xs, nb, r, rows);
}

/** Relaxed Q8_0's split form (decode-q8-split.ts): panels p and p + P/2 per pass, a last odd panel alone. */
function q8Split(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, xe: usize): void {
  const nb = cols >> 5;
  const pw = <usize>nb * 128, ps = <usize>nb * 8;
  const half = ((rows + 3) >> 2) >> 1;
  if (half > 0) expandSplit(xe, xq, xd, nb, XB);
  pairsQ8<SplitPairs>(out, wq, wd, xe, nb, half, rows);
  const r = half << 3;
  if (r < rows) single(true, false, out + (<usize>r << 2), wq + (<usize>r >> 2) * pw, wd + (<usize>r >> 2) * ps, xq + X16, xd, xs, nb, r, rows);
}

/**
 * decode_q8_0's fused form whatever the engine (SIMD128: decode_q8_0): matmul_q8_0's bits where dot-adds are
 * vpdpbusd, and on any engine for quants ≤ 0 (offset weights ≤ 128: no pmaddubsw pair saturates; the Node tests).
 */
export function decode_q8_0_fused(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, xe: usize): void {
  if (ASC_FEATURE_RELAXED_SIMD) q8Fused(out, wq, wd, xq, xd, xs, rows, cols, xe);
  else decode_q8_0(out, wq, wd, xq, xd, xs, rows, cols, xe);
}

/** The same for Q4_0 weights: i32 dot-adds where the engine fuses them (dot_add_fused), else the i16 steps. */
export function decode_q4_0(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, xe: usize): void {
  const nb = cols >> 5;
  const pw = <usize>nb * 64, ps = <usize>nb * 16, xb = xq + (ASC_FEATURE_RELAXED_SIMD ? 0 : X16);
  const fusedDot = ASC_FEATURE_RELAXED_SIMD && dot_add_fused() != 0;
  if (!ASC_FEATURE_RELAXED_SIMD) {
    // SIMD128: one panel at a time, as matmul_q4_0 (pairs measured slower in Node).
    for (let r = 0; r < rows; r += 4) single(false, false, out + (<usize>r << 2), wq + (<usize>r >> 2) * pw, wd + (<usize>r >> 2) * ps, xb, xd, xs, nb, r, rows);
    return;
  }
  if (rows > 8) expand(xe, xb, xd, xs, nb, 8);
  // panels p, p + P/3 and p + 2P/3 together (three streams far apart), the panels past 3·(P/3) alone
  const panels = (rows + 3) >> 2, third = panels / 3;
  if (fusedDot) triplesQ4<Fused>(out, wq, wd, xe, nb, third, rows);
  else triplesQ4<I16>(out, wq, wd, xe, nb, third, rows);
  for (let r = (third * 3) << 2; r < rows; r += 4) single(false, fusedDot, out + (<usize>r << 2), wq + (<usize>r >> 2) * pw, wd + (<usize>r >> 2) * ps, xb, xd, xs, nb, r, rows);
}
