// Relaxed Q6_K decode (one token): two 4-row panels half a matrix apart per pass, each activation load serving both.
import { SINK, madd } from "./common";
import { XK_BYTES, XK_SUMS, storeRows4 } from "./kquant-common";
import { PB } from "./q6k-values";

// Layout: q6k-values.ts (repack-kquant.ts packQ6K). With P panels, a pass takes panels p and p + P/2 (two weight
// streams far apart: measured 0.82-0.97x the time of adjacent panels in workerd), an odd last panel alone
// (matmul-q6k.ts). This is the fused form's decode (dot_add_fused: workerd), where
// every wasm load carries an explicit bounds check (no trap handler), so it cuts loads, not arithmetic: per 256-block
// and panel, 48 weight vectors, 32 activation broadcasts (each serving both panels), the Q8_K sums of a sub-block
// group by 2 whole-vector loads shared by both panels (16 broadcasts before) and each panel's scales by 8 whole-vector
// loads (16 before). Loads take no immediate offset (pointers bumped or added to): V8 compares each access against the
// memory size less its offset, so every distinct offset would cost a limit of its own. The i16 form (Node) keeps the
// one-panel decode (matmul-q6k.ts): its steps settle in pairs, and 8 rows' i16 and i32 sums exceed the registers.
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
 * sub-block group (h, g) each step's three vectors of both panels are read once, plane 3's value built from them as they pass (the serial form of
 * q6k-values.ts q6: and-nots against the value mask, 16-bit shifts right); a store to SINK after each plane's two
 * dot-adds keeps V8 from issuing every load of the group first (stores after every step or every second plane
 * measured slower), which spilled the accumulators.
 */
@inline export function decodePair(o: usize, o2: usize, wpan: usize, ps: usize, x0: usize, s0: usize, dp: usize, nb: usize, r: i32, r2: i32, rows: i32): void {
  const m = i8x16.splat(0x3f);
  let o0 = f32x4.splat(0), o1 = o0;
  let wp = wpan;
  for (let b: usize = 0; b < nb; b++) {
    let u0 = i32x4.splat(0), u1 = u0;
    const xb = x0 + b * XK_BYTES;
    const sb = s0 + b * XK_SUMS * 4;
    // The quants of both panels run in order through the block's groups (h, g): 12 vectors per group and panel.
    let qa = wp + 80, qb = qa + ps;
    for (let h: usize = 0; h < 2; h++) {
      // g = 0: bytes l = 0..15 feed sub-blocks 8h + 0, 2, 4, 6; g = 1: l = 16..31 feed 8h + 1, 3, 5, 7.
      for (let g: usize = 0; g < 2; g++) {
        const j = (h << 3) + g;
        const sj = sb + (j << 2);
        // Each sub-block's sums start at 32·(−Σqx): ggml's q − 32 with unsigned values dotted. The four sums of the
        // group sit 8 bytes apart: lanes 0 and 2 of two vectors.
        const s01 = i32x4.shl(v128.load(sj), 5), s23 = i32x4.shl(v128.load(sj + 16), 5);
        let a00 = lane0(s01), a01 = lane2(s01), a02 = lane0(s23), a03 = lane2(s23);
        let a10 = a00, a11 = a01, a12 = a02, a13 = a03;
        let xa = xb + (h << 7) + (g << 4);
        let w0: v128, w1: v128, x: v128, t0: v128, t1: v128;
        // Four steps written out with the same body: as a loop over the steps they took 1.17–1.18x the time in
        // workerd (kernels/bench/kquant-ab.ts, 2026-12-05).
        // Step 0: elements 0..3 of each plane.
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa);
        a00 = dd(a00, v128.and(w0, m), x);
        a10 = dd(a10, v128.and(w1, m), x);
        v128.store(SINK, a00);
        v128.store(SINK, a10);
        t0 = i16x8.shr_u(v128.andnot(w0, m), 2);
        t1 = i16x8.shr_u(v128.andnot(w1, m), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa + 32);
        a01 = dd(a01, v128.and(w0, m), x);
        a11 = dd(a11, v128.and(w1, m), x);
        v128.store(SINK, a01);
        v128.store(SINK, a11);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa + 64);
        a02 = dd(a02, v128.and(w0, m), x);
        a12 = dd(a12, v128.and(w1, m), x);
        v128.store(SINK, a02);
        v128.store(SINK, a12);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        x = v128.load32_splat(xa + 96);
        a03 = dd(a03, t0, x);
        a13 = dd(a13, t1, x);
        v128.store(SINK, a03);
        v128.store(SINK, a13);
        xa += 4;
        // Step 1: elements 4..7 of each plane.
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa);
        a00 = dd(a00, v128.and(w0, m), x);
        a10 = dd(a10, v128.and(w1, m), x);
        v128.store(SINK, a00);
        v128.store(SINK, a10);
        t0 = i16x8.shr_u(v128.andnot(w0, m), 2);
        t1 = i16x8.shr_u(v128.andnot(w1, m), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa + 32);
        a01 = dd(a01, v128.and(w0, m), x);
        a11 = dd(a11, v128.and(w1, m), x);
        v128.store(SINK, a01);
        v128.store(SINK, a11);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa + 64);
        a02 = dd(a02, v128.and(w0, m), x);
        a12 = dd(a12, v128.and(w1, m), x);
        v128.store(SINK, a02);
        v128.store(SINK, a12);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        x = v128.load32_splat(xa + 96);
        a03 = dd(a03, t0, x);
        a13 = dd(a13, t1, x);
        v128.store(SINK, a03);
        v128.store(SINK, a13);
        xa += 4;
        // Step 2: elements 8..11 of each plane.
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa);
        a00 = dd(a00, v128.and(w0, m), x);
        a10 = dd(a10, v128.and(w1, m), x);
        v128.store(SINK, a00);
        v128.store(SINK, a10);
        t0 = i16x8.shr_u(v128.andnot(w0, m), 2);
        t1 = i16x8.shr_u(v128.andnot(w1, m), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa + 32);
        a01 = dd(a01, v128.and(w0, m), x);
        a11 = dd(a11, v128.and(w1, m), x);
        v128.store(SINK, a01);
        v128.store(SINK, a11);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa + 64);
        a02 = dd(a02, v128.and(w0, m), x);
        a12 = dd(a12, v128.and(w1, m), x);
        v128.store(SINK, a02);
        v128.store(SINK, a12);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        x = v128.load32_splat(xa + 96);
        a03 = dd(a03, t0, x);
        a13 = dd(a13, t1, x);
        v128.store(SINK, a03);
        v128.store(SINK, a13);
        xa += 4;
        // Step 3: elements 12..15 of each plane.
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa);
        a00 = dd(a00, v128.and(w0, m), x);
        a10 = dd(a10, v128.and(w1, m), x);
        v128.store(SINK, a00);
        v128.store(SINK, a10);
        t0 = i16x8.shr_u(v128.andnot(w0, m), 2);
        t1 = i16x8.shr_u(v128.andnot(w1, m), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa + 32);
        a01 = dd(a01, v128.and(w0, m), x);
        a11 = dd(a11, v128.and(w1, m), x);
        v128.store(SINK, a01);
        v128.store(SINK, a11);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        w0 = v128.load(qa);
        w1 = v128.load(qb);
        qa += 16;
        qb += 16;
        x = v128.load32_splat(xa + 64);
        a02 = dd(a02, v128.and(w0, m), x);
        a12 = dd(a12, v128.and(w1, m), x);
        v128.store(SINK, a02);
        v128.store(SINK, a12);
        t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
        t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
        x = v128.load32_splat(xa + 96);
        a03 = dd(a03, t0, x);
        a13 = dd(a13, t1, x);
        v128.store(SINK, a03);
        v128.store(SINK, a13);
        xa += 4;
        // The group's scales, 8 bytes apart as its sums: lanes 0-3 and 8-11 of two vectors per panel.
        const c0 = wp + 16 + (j << 2), c1 = c0 + ps;
        u0 = scale2(scale2(u0, a00, a01, c0), a02, a03, c0 + 16);
        u1 = scale2(scale2(u1, a10, a11, c1), a12, a13, c1 + 16);
      }
    }
    const dx = v128.load32_splat(dp + (b << 2));
    o0 = madd(f32x4.convert_i32x4_s(u0), f32x4.mul(v128.load(wp), dx), o0);
    o1 = madd(f32x4.convert_i32x4_s(u1), f32x4.mul(v128.load(wp + ps), dx), o1);
    wp += PB;
  }
  storeRows4(o, o0, r, rows);
  storeRows4(o2, o1, r2, rows);
}
