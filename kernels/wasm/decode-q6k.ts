// Relaxed Q6_K decode (one token): two 4-row panels half a matrix apart per pass, each activation load serving both.
import { SINK, madd } from "./common";
import { XK_BYTES, XK_SUMS, storeRows4 } from "./kquant-common";
import { PB } from "./q6k-values";

// Layout: q6k-values.ts (repack-kquant.ts packQ6K). With P panels, a pass takes panels p and p + P/2 (two weight
// streams far apart: measured 0.82-0.97x the time of adjacent panels in workerd), an odd last panel alone
// (matmul-q6k.ts). This is the fused form's decode (dot_add_fused: workerd), where
// every wasm load carries an explicit bounds check (no trap handler), so it cuts loads, not arithmetic: per 256-block
// and panel, 48 weight vectors, 8 activation loads (a sub-block's 16 bytes as one vector, its four broadcasts by
// shuffles, each serving both panels: 0.95-0.98x the time of four splatting loads in workerd), the Q8_K sums of two
// sub-blocks by one whole-vector load shared by both panels and each panel's scales of two sub-blocks by one widening
// load. A
// group of three vectors is one sub-block (q6k-values.ts), so each panel keeps one i32 accumulator (two for the pair,
// where ggml's element order kept eight). Loads take no immediate offset (pointers bumped or added to): V8 compares
// each access against the memory size less its offset, so every distinct offset would cost a limit of its own. The
// i16 form (Node) keeps one panel (decode-q6k-i16.ts).
// Each row's sums are the one-panel decode's: exact i32 sums (any order), then the same two f32 steps per block in
// the same block order, so the same bits (test/kernels/q6k-decode.case.ts).

/** acc + the dots of a value vector e (6-bit, 4 per row) with the broadcast activations x: one fused i32 dot-add. */
@inline function dd(acc: v128, e: v128, x: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, e, acc);
}

/** i32 lane 0 of v in every lane. */
@inline function lane0(v: v128): v128 {
  return i8x16.shuffle(v, v, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
}

/** i32 lane 2 of v in every lane. */
@inline function lane2(v: v128): v128 {
  return i8x16.shuffle(v, v, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11);
}

/** u + a·(the four i8 scales at c) + b·(the four at c + 8), both from one 16-byte load, as i32 lanes. */
@inline function scale2(u: v128, a: v128, b: v128, c: usize): v128 {
  const v = v128.load(c);
  const lo = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v)), hi = i32x4.extend_low_i16x8_s(i16x8.extend_high_i8x16_s(v));
  return i32x4.add(u, i32x4.add(i32x4.mul(a, lo), i32x4.mul(b, hi)));
}

/**
 * One token's outputs of the panels at wpan (rows r..r+3, into o) and wpan + ps (rows r2..r2+3, into o2). Per
 * sub-block, each of its three vectors of both panels is read once, plane 3's value built from them as they pass (the
 * serial form of q6k-values.ts q6: and-nots against the value mask, 16-bit shifts right), all four planes dot-added
 * into the panel's one accumulator from the sub-block's start; a store to SINK after each plane's two dot-adds keeps
 * V8 from issuing every load of the sub-block first.
 */
@inline export function decodePair(o: usize, o2: usize, wpan: usize, ps: usize, x0: usize, s0: usize, dp: usize, nb: usize, r: i32, r2: i32, rows: i32): void {
  const m = i8x16.splat(0x3f);
  let o0 = f32x4.splat(0), o1 = o0;
  let wp = wpan;
  for (let b: usize = 0; b < nb; b++) {
    let u0 = i32x4.splat(0), u1 = u0;
    let xa = x0 + b * XK_BYTES;
    let sj = s0 + b * XK_SUMS * 4;
    let qa = wp + 80, qb = qa + ps;
    let sc = wp + 16;
    for (let j = 0; j < 16; j += 2) {
      // Sub-blocks j and j + 1: their starts 32·(−Σqx) (lanes 0 and 1 of one load), each panel's scales (one widening load).
      const st = i32x4.shl(v128.load(sj), 5);
      const st0 = lane0(st), st1 = i8x16.shuffle(st, st, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);
      sj += 8;
      const c0 = v128.load8x8_s(sc), c1 = v128.load8x8_s(sc + ps);
      sc += 8;
      let a0: v128, a1: v128, xv: v128, w0: v128, w1: v128, x: v128, t0: v128, t1: v128;
        // Sub-block j + 0: its three vectors per panel, planes 0-2 dotted as they load, plane 3 built from them.
        a0 = st0;
        a1 = st0;
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        xv = v128.load(xa);
        x = i8x16.shuffle(xv, xv, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
        a0 = dd(a0, v128.and(w0, m), x);
        a1 = dd(a1, v128.and(w1, m), x);
        v128.store(SINK, a0);
        v128.store(SINK, a1);
        t0 = i16x8.shr_u(v128.andnot(w0, m), 2);
        t1 = i16x8.shr_u(v128.andnot(w1, m), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = i8x16.shuffle(xv, xv, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);
        a0 = dd(a0, v128.and(w0, m), x);
        a1 = dd(a1, v128.and(w1, m), x);
        v128.store(SINK, a0);
        v128.store(SINK, a1);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = i8x16.shuffle(xv, xv, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11);
        a0 = dd(a0, v128.and(w0, m), x);
        a1 = dd(a1, v128.and(w1, m), x);
        v128.store(SINK, a0);
        v128.store(SINK, a1);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        x = i8x16.shuffle(xv, xv, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15);
        a0 = dd(a0, t0, x);
        a1 = dd(a1, t1, x);
        v128.store(SINK, a0);
        v128.store(SINK, a1);
        xa += 16;
        u0 = i32x4.add(u0, i32x4.mul(a0, i32x4.extend_low_i16x8_s(c0)));
        u1 = i32x4.add(u1, i32x4.mul(a1, i32x4.extend_low_i16x8_s(c1)));
        // Sub-block j + 1: its three vectors per panel, planes 0-2 dotted as they load, plane 3 built from them.
        a0 = st1;
        a1 = st1;
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        xv = v128.load(xa);
        x = i8x16.shuffle(xv, xv, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
        a0 = dd(a0, v128.and(w0, m), x);
        a1 = dd(a1, v128.and(w1, m), x);
        v128.store(SINK, a0);
        v128.store(SINK, a1);
        t0 = i16x8.shr_u(v128.andnot(w0, m), 2);
        t1 = i16x8.shr_u(v128.andnot(w1, m), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = i8x16.shuffle(xv, xv, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);
        a0 = dd(a0, v128.and(w0, m), x);
        a1 = dd(a1, v128.and(w1, m), x);
        v128.store(SINK, a0);
        v128.store(SINK, a1);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = i8x16.shuffle(xv, xv, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11);
        a0 = dd(a0, v128.and(w0, m), x);
        a1 = dd(a1, v128.and(w1, m), x);
        v128.store(SINK, a0);
        v128.store(SINK, a1);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        x = i8x16.shuffle(xv, xv, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15);
        a0 = dd(a0, t0, x);
        a1 = dd(a1, t1, x);
        v128.store(SINK, a0);
        v128.store(SINK, a1);
        xa += 16;
        u0 = i32x4.add(u0, i32x4.mul(a0, i32x4.extend_high_i16x8_s(c0)));
        u1 = i32x4.add(u1, i32x4.mul(a1, i32x4.extend_high_i16x8_s(c1)));
    }
    const dx = v128.load32_splat(dp + (b << 2));
    o0 = madd(f32x4.convert_i32x4_s(u0), f32x4.mul(v128.load(wp), dx), o0);
    o1 = madd(f32x4.convert_i32x4_s(u1), f32x4.mul(v128.load(wp + ps), dx), o1);
    wp += PB;
  }
  storeRows4(o, o0, r, rows);
  storeRows4(o2, o1, r2, rows);
}
