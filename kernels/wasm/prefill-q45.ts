// Q4_K / Q5_K prefill on the relaxed build: eight rows (two 4-row panels) by four tokens, each activation broadcast once for both panels.
import { SINK, madd } from "./common";
import { XK_BYTES, XK_ELEM, XK_SUMS, scaled, storeTokens4, u8x4For } from "./kquant-common";
import { Q5, dAt, dminAt, hdr, phases, prep, runTop } from "./q45-values";

// matmul-q4k.ts's tile4 broadcasts 4 activations per token and step for one weight vector: a broadcast and an add
// per dot. With two panels each broadcast serves two dots, and the float sums keep tile4's order per row and token,
// so the results are the same bits. In the i16 form (Node) the stores to SINK keep V8 from loading every token's
// broadcast at the top of the step (loads keep their order around a store), which left an accumulator spilled and its
// adds chained through memory; Node measured 1.16x slower without them. The fused form (workerd) has none: without
// them its 32-token Q4_K / Q5_K tiles took 0.91–0.93 / 0.95–0.96 of the time (kquant-ab.ts, 2026-12-05).

/** The eight (panel, token) i32 block sums: panel A's tokens 0-3, then panel B's. */
const U: usize = memory.data(128, 16);
/** The eight (panel, token) f32 output sums, kept here across the block loop (as U: too many to stay in registers). */
const O: usize = memory.data(128, 16);

/**
 * acc + dots of prepared values (p0, p1: SIMD128's halves) with broadcast activations (x, x1: SIMD128's second pair);
 * f (a constant): relaxed, as a fused i32 dot-add (matmul-quant.ts dot_add_fused; exact for these 4- and 5-bit values).
 */
@inline function acc(a: v128, p0: v128, p1: v128, x: v128, x1: v128, f: bool): v128 {
  if (ASC_FEATURE_RELAXED_SIMD && f) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, p0, a);
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.add(a, i16x8.relaxed_dot_i8x16_i7x16_s(x, p0));
  return i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(p0, x), i32x4.dot_i16x8_s(p1, x1)));
}

/** U slot i += settle(a)·sc (i a constant; sc from u8x4For; f: a is a fused accumulator, i32 already). */
@inline function addU(i: usize, a: v128, sc: v128, f: bool): void {
  v128.store(U + (i << 4), i32x4.add(v128.load(U + (i << 4)), scaled(a, sc, f)));
}

/**
 * The low (h false) or high sub-block of chunk c of panel-blocks wp (panel A) and wq (B) for four tokens (activations
 * at xb, xRow apart): matmul-q4k.ts's half4 for two panels, each broadcast used by both.
 */
@inline function half8<T>(h: bool, wp: usize, wq: usize, QOFF: usize, CS: usize, c: usize, xb: usize, xRow: usize, f: bool): void {
  const zero = i32x4.splat(0);
  const q5 = idof<T>() == idof<Q5>();
  const so = 16 + hdr<T>() + (c << 3) + (h ? 4 : 0);
  const sa = u8x4For(wp + so, f), sb = u8x4For(wq + so, f);
  let qp = wp + QOFF + c * CS, qq = wq + QOFF + c * CS;
  let xp = xb + ((c << 6) + (h ? 32 : 0)) * XK_ELEM;
  for (let ph = 0; ph < phases<T>(); ph++) {
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero, b0 = zero, b1 = zero, b2 = zero, b3 = zero;
    const xe = xp + (32 / phases<T>()) * XK_ELEM;
    let ea0 = q5 ? runTop(qp, 0) : zero, ea1 = q5 && !ASC_FEATURE_RELAXED_SIMD ? runTop(qp, 1) : zero;
    let eb0 = q5 ? runTop(qq, 0) : zero, eb1 = q5 && !ASC_FEATURE_RELAXED_SIMD ? runTop(qq, 1) : zero;
    for (; xp < xe; xp += 4 * XK_ELEM) {
      const p0 = prep<T>(qp, ea0, ea1, h, 0), p1 = ASC_FEATURE_RELAXED_SIMD ? p0 : prep<T>(qp, ea0, ea1, h, 1);
      const r0 = prep<T>(qq, eb0, eb1, h, 0), r1 = ASC_FEATURE_RELAXED_SIMD ? r0 : prep<T>(qq, eb0, eb1, h, 1);
      let x = v128.load32_splat(xp), x1 = ASC_FEATURE_RELAXED_SIMD ? x : v128.load32_splat(xp, 4);
      a0 = acc(a0, p0, p1, x, x1, f);
      b0 = acc(b0, r0, r1, x, x1, f);
      if (ASC_FEATURE_RELAXED_SIMD && !f) v128.store(SINK, b0);
      x = v128.load32_splat(xp + xRow);
      x1 = ASC_FEATURE_RELAXED_SIMD ? x : v128.load32_splat(xp + xRow, 4);
      a1 = acc(a1, p0, p1, x, x1, f);
      b1 = acc(b1, r0, r1, x, x1, f);
      if (ASC_FEATURE_RELAXED_SIMD && !f) v128.store(SINK, b1);
      x = v128.load32_splat(xp + 2 * xRow);
      x1 = ASC_FEATURE_RELAXED_SIMD ? x : v128.load32_splat(xp + 2 * xRow, 4);
      a2 = acc(a2, p0, p1, x, x1, f);
      b2 = acc(b2, r0, r1, x, x1, f);
      if (ASC_FEATURE_RELAXED_SIMD && !f) v128.store(SINK, b2);
      x = v128.load32_splat(xp + 3 * xRow);
      x1 = ASC_FEATURE_RELAXED_SIMD ? x : v128.load32_splat(xp + 3 * xRow, 4);
      a3 = acc(a3, p0, p1, x, x1, f);
      b3 = acc(b3, r0, r1, x, x1, f);
      qp += 16;
      qq += 16;
      if (q5) {
        ea0 = i16x8.shr_u(ea0, 2);
        ea1 = i16x8.shr_u(ea1, 2);
        eb0 = i16x8.shr_u(eb0, 2);
        eb1 = i16x8.shr_u(eb1, 2);
      }
    }
    if (q5) {
      qp += 16; // past the runs' E vectors
      qq += 16;
    }
    addU(0, a0, sa, f);
    addU(1, a1, sa, f);
    addU(2, a2, sa, f);
    addU(3, a3, sa, f);
    addU(4, b0, sb, f);
    addU(5, b1, sb, f);
    addU(6, b2, sb, f);
    addU(7, b3, sb, f);
  }
}

/** O slots i..i+3 (a panel's four tokens) += the mins term of panel-block wp, as tile4 adds it. */
@inline function mins4<T>(i: usize, wp: usize, sb: usize, sRow: usize, dx0: v128, dx1: v128, dx2: v128, dx3: v128): void {
  const zero = i32x4.splat(0);
  let m0 = zero, m1 = zero, m2 = zero, m3 = zero;
  for (let k: usize = 0; k < 32; k += 8) {
    const m = v128.load8x8_u(wp + 48 + hdr<T>() + k);
    const j = k >> 1;
    m0 = i32x4.add(m0, i32x4.dot_i16x8_s(m, v128.load32_splat(sb + j)));
    m1 = i32x4.add(m1, i32x4.dot_i16x8_s(m, v128.load32_splat(sb + sRow + j)));
    m2 = i32x4.add(m2, i32x4.dot_i16x8_s(m, v128.load32_splat(sb + 2 * sRow + j)));
    m3 = i32x4.add(m3, i32x4.dot_i16x8_s(m, v128.load32_splat(sb + 3 * sRow + j)));
  }
  const dm = dminAt<T>(wp);
  const o = O + (i << 4);
  v128.store(o, madd(f32x4.convert_i32x4_s(m0), f32x4.mul(dm, dx0), v128.load(o)));
  v128.store(o, madd(f32x4.convert_i32x4_s(m1), f32x4.mul(dm, dx1), v128.load(o, 16)), 16);
  v128.store(o, madd(f32x4.convert_i32x4_s(m2), f32x4.mul(dm, dx2), v128.load(o, 32)), 32);
  v128.store(o, madd(f32x4.convert_i32x4_s(m3), f32x4.mul(dm, dx3), v128.load(o, 48)), 48);
}

/** O slots i..i+3 += U slots i..i+3 scaled by panel-block wp's d, as tile4 adds them. */
@inline function sums4<T>(i: usize, wp: usize, dx0: v128, dx1: v128, dx2: v128, dx3: v128): void {
  const d = dAt<T>(wp);
  const o = O + (i << 4), u = U + (i << 4);
  v128.store(o, madd(f32x4.convert_i32x4_s(v128.load(u)), f32x4.mul(d, dx0), v128.load(o)));
  v128.store(o, madd(f32x4.convert_i32x4_s(v128.load(u, 16)), f32x4.mul(d, dx1), v128.load(o, 16)), 16);
  v128.store(o, madd(f32x4.convert_i32x4_s(v128.load(u, 32)), f32x4.mul(d, dx2), v128.load(o, 32)), 32);
  v128.store(o, madd(f32x4.convert_i32x4_s(v128.load(u, 48)), f32x4.mul(d, dx3), v128.load(o, 48)), 48);
}

/**
 * Four tokens (t..t+3) of the two panels at wpan and wpan + PS (rows r..r+7, all below `rows` but the second panel's
 * padding): out o for the first panel, o + 16 bytes for the second; f (a constant): fused i32 dot-adds (see acc).
 */
@inline export function tile8<T>(o: usize, wpan: usize, PS: usize, PB: usize, QOFF: usize, x0: usize, s0: usize, dp: usize, xRow: usize, sRow: usize, nb: usize, r: i32, rows: i32, f: bool): void {
  const zero = i32x4.splat(0);
  const CS: usize = idof<T>() == idof<Q5>() ? 160 : 128;
  for (let i: usize = 0; i < 128; i += 16) v128.store(O + i, zero);
  let wp = wpan;
  for (let b: usize = 0; b < nb; b++) {
    const dx0 = v128.load32_splat(dp + (b << 2)), dx1 = v128.load32_splat(dp + (nb << 2) + (b << 2));
    const dx2 = v128.load32_splat(dp + (nb << 3) + (b << 2)), dx3 = v128.load32_splat(dp + 3 * (nb << 2) + (b << 2));
    const sb = s0 + b * XK_SUMS * 4 + 96;
    const wq = wp + PS;
    mins4<T>(0, wp, sb, sRow, dx0, dx1, dx2, dx3);
    mins4<T>(4, wq, sb, sRow, dx0, dx1, dx2, dx3);
    for (let i: usize = 0; i < 128; i += 16) v128.store(U + i, zero);
    const xb = x0 + b * XK_BYTES;
    for (let c: usize = 0; c < 4; c++) {
      half8<T>(false, wp, wq, QOFF, CS, c, xb, xRow, f);
      half8<T>(true, wp, wq, QOFF, CS, c, xb, xRow, f);
    }
    sums4<T>(0, wp, dx0, dx1, dx2, dx3);
    sums4<T>(4, wq, dx0, dx1, dx2, dx3);
    wp += PB;
  }
  storeTokens4(o, v128.load(O), v128.load(O, 16), v128.load(O, 32), v128.load(O, 48), r, rows);
  storeTokens4(o + 16, v128.load(O, 64), v128.load(O, 80), v128.load(O, 96), v128.load(O, 112), r + 4, rows);
}
