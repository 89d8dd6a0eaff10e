// Q5_0 / Q5_1 decode (one token): two 4-row panels half a matrix apart per pass, sharing each activation load.
import { SINK, madd } from "./common";
import { storeRows4 } from "./kquant-common";
import { Fast, Q50, Q51, Slow, dScales, hasMin, highOp, lowOp, mScales, panelBlockBytes, panelSpecial, quantOffset } from "./legacy-ops";
import { matmul_q5_0, matmul_q5_1 } from "./matmul-legacy";
import { dot_add_fused } from "./matmul-quant";

// As decode-pair.ts does for Q4_0 / Q8_0: with P panels (repack-legacy.ts's layout, one stream of panel-blocks per
// panel), a pass takes panels p and p + P/2, two in-order weight streams far apart, and loads each activation vector
// once for both. The token's activations are first expanded (expand) so that every load in the loop is a full vector
// at an immediate offset. Each panel-block's integer sums are legacy-ops.ts blockRelaxed's (exact), and each row's f32
// steps (convert, × d·dx, fused add, then Q5_1's m·s fused add) run in the same block order as matmul_q5_*'s decode:
// the same bits. A lone last panel, and every panel on the SIMD128 build, runs matmul_q5_*'s one-token code.
// Pairs only where the engine fuses dot-adds (dot_add_fused: workerd), as i32 dot-add chains, where they measured faster;
// in V8 without the fusion (Node) the pairs (i16 steps) spilled and were slower: there every panel runs matmul_q5_*'s code.

/** Activation bytes per block (quantize_q8_0's layout: i8 quants first on the relaxed build). */
const XB: usize = ASC_FEATURE_RELAXED_SIMD ? 96 : 64;
/** Expanded bytes per block: 8 splats of 4 quant bytes (low elements 4j.., then high 16+4j..), dx, then the c term. */
const EB: usize = 160;

/**
 * Writes the token's activations at xe as the pair loop loads them: per block the 8 splatted 4-byte groups of its i8
 * quants, its d splatted, then Q5_0's start 16·(−Σq) (blockRelaxed's) or Q5_1's s (Q8_1's f32 d·Σq) splatted.
 */
@inline function expand<T>(xe: usize, xq: usize, xd: usize, xs: usize, xst: usize, nb: i32): void {
  for (let b = 0; b < nb; b++) {
    for (let k: usize = 0; k < 8; k++) v128.store(xe + 16 * k, v128.load32_splat(xq + 4 * k));
    v128.store(xe, v128.load32_splat(xd), 128);
    v128.store(xe, hasMin<T>() ? v128.load32_splat(xst) : i32x4.shl(v128.load32_splat(xs), 4), 144);
    xe += EB;
    xq += XB;
    xd += 4;
    xs += 4;
    xst += 4;
  }
}

/** Orders the loads before these stores after the arithmetic before them (decode-legacy.ts). */
@inline function sink2(a: v128, b: v128): void {
  v128.store(SINK, a);
  v128.store(SINK, b);
}

/** acc (i32 lanes) + vector n's low and high operands dotted with x, y as fused i32 dot-adds (exact: |q| ≤ 127, ≤ 31). */
@inline function dotAdd<T>(acc: v128, n: v128, s4: v128, j: i32, x: v128, y: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(y, highOp<T>(n, s4, j), i32x4.relaxed_dot_i8x16_i7x16_add_s(x, lowOp<T>(n), acc));
}

/**
 * Panels at wa and wa + pw (their rows' outputs at o and o2; the second panel's first row r), with fused i32
 * dot-adds (dot_add_fused: one vpdpbusd each): one i32 chain per panel-block from Q5_0's start (Q5_1: 0). The integer
 * sums are blockRelaxed's exact values (its i16 steps widened), so the same bits.
 */
@inline function pairFused<T, F>(o: usize, wa: usize, pw: usize, xe: usize, nb: i32, r: i32, rows: i32, o2: usize): void {
  const QOFF = quantOffset<T>(), PB = panelBlockBytes<T>();
  let oa = f32x4.splat(0), ob = f32x4.splat(0);
  let wb = wa + pw;
  const end = xe + <usize>nb * EB;
  while (xe < end) {
    const qa = wa + QOFF, qb = wb + QOFF;
    const c = v128.load(xe, 144);
    let ia = hasMin<T>() ? i32x4.splat(0) : c, ib = ia;
    let x = v128.load(xe), y = v128.load(xe, 64);
    ia = dotAdd<T>(ia, v128.load(qa), v128.load(qa, 64), 0, x, y);
    ib = dotAdd<T>(ib, v128.load(qb), v128.load(qb, 64), 0, x, y);
    sink2(ia, ib);
    x = v128.load(xe, 16);
    y = v128.load(xe, 80);
    ia = dotAdd<T>(ia, v128.load(qa, 16), v128.load(qa, 64), 1, x, y);
    ib = dotAdd<T>(ib, v128.load(qb, 16), v128.load(qb, 64), 1, x, y);
    sink2(ia, ib);
    x = v128.load(xe, 32);
    y = v128.load(xe, 96);
    ia = dotAdd<T>(ia, v128.load(qa, 32), v128.load(qa, 64), 2, x, y);
    ib = dotAdd<T>(ib, v128.load(qb, 32), v128.load(qb, 64), 2, x, y);
    sink2(ia, ib);
    x = v128.load(xe, 48);
    y = v128.load(xe, 112);
    ia = dotAdd<T>(ia, v128.load(qa, 48), v128.load(qa, 64), 3, x, y);
    ib = dotAdd<T>(ib, v128.load(qb, 48), v128.load(qb, 64), 3, x, y);
    const dx = v128.load(xe, 128);
    const da = dScales<T, F>(wa);
    oa = madd(f32x4.convert_i32x4_s(ia), f32x4.mul(da, dx), oa);
    if (hasMin<T>()) oa = madd(mScales<F>(wa), c, oa);
    const db = dScales<T, F>(wb);
    ob = madd(f32x4.convert_i32x4_s(ib), f32x4.mul(db, dx), ob);
    if (hasMin<T>()) ob = madd(mScales<F>(wb), c, ob);
    wa += PB;
    wb += PB;
    xe += EB;
  }
  v128.store(o, oa);
  storeRows4(o2, ob, r, rows);
}

/**
 * One token's out[r] = Σ_c w[r, c] x[c] for T (Q5_0 or Q5_1), in pairs of panels; returns the first row left over
 * (the lone last panel's, or rows), which the caller runs through matmul_q5_*'s one-token code.
 */
@inline function decodePairs<T>(out: usize, w: usize, xe: usize, xq: usize, xd: usize, xs: usize, xst: usize, rows: i32, cols: i32): i32 {
  const nb = cols >> 5;
  const pw = <usize>nb * panelBlockBytes<T>();
  const half = ((rows + 3) >> 2) >> 1;
  if (half == 0) return 0;
  expand<T>(xe, xq, xd, xs, xst, nb);
  const hw = <usize>half * pw, ho = <usize>half << 4;
  for (let p = 0; p < half; p++) {
    const o = out + (<usize>p << 4), wa = w + <usize>p * pw;
    // Inf/NaN scales in either panel (rare): both take the full f16 conversion (legacy-ops.ts).
    if (panelSpecial<T>(wa, nb) || panelSpecial<T>(wa + hw, nb)) pairFused<T, Slow>(o, wa, hw, xe, nb, (p + half) << 2, rows, o + ho);
    else pairFused<T, Fast>(o, wa, hw, xe, nb, (p + half) << 2, rows, o + ho);
  }
  return half << 3;
}

/** One token's Q5_0 matmul (x quantized by quantize_q8_0 into xq, xd, xs; xst unused); xe: scratch of cols·5 bytes. */
export function decode_q5_0(out: usize, w: usize, xq: usize, xd: usize, xs: usize, xst: usize, rows: i32, cols: i32, xe: usize): void {
  if (!ASC_FEATURE_RELAXED_SIMD || dot_add_fused() == 0) {
    matmul_q5_0(out, w, xq, xd, xs, xst, rows, cols, 1); // one panel at a time
    return;
  }
  const r = decodePairs<Q50>(out, w, xe, xq, xd, xs, xst, rows, cols);
  if (r < rows) matmul_q5_0(out + (<usize>r << 2), w + (<usize>r >> 2) * <usize>(cols >> 5) * panelBlockBytes<Q50>(), xq, xd, xs, xst, rows - r, cols, 1);
}

/** One token's Q5_1 matmul (x quantized by quantize_q8_1); xe: scratch of cols·5 bytes. */
export function decode_q5_1(out: usize, w: usize, xq: usize, xd: usize, xs: usize, xst: usize, rows: i32, cols: i32, xe: usize): void {
  if (!ASC_FEATURE_RELAXED_SIMD || dot_add_fused() == 0) {
    matmul_q5_1(out, w, xq, xd, xs, xst, rows, cols, 1);
    return;
  }
  const r = decodePairs<Q51>(out, w, xe, xq, xd, xs, xst, rows, cols);
  if (r < rows) matmul_q5_1(out + (<usize>r << 2), w + (<usize>r >> 2) * <usize>(cols >> 5) * panelBlockBytes<Q51>(), xq, xd, xs, xst, rows - r, cols, 1);
}
