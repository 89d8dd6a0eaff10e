// Relaxed Q6_K decode: two 4-row panels (8 rows) per pass, each activation load and sub-block sum serving both.
import { SINK, madd } from "./common";
import { XK_BYTES, XK_SUMS, storeRows4 } from "./kquant-common";
import { PB } from "./q6k-values";

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

/**
 * One token's outputs of panels wpan and wpan + nb·PB (rows r..r+7) into o (f: fused i32 dot-adds). Per sub-block
 * group (h, g) each step's three vectors of both panels are read once, plane 3's value built from them as they pass
 * (the serial form of q6k-values.ts q6), each activation broadcast serving both panels: a 256-block reads 64 weight
 * vectors' worth of bytes... 
 */
@inline export function decodePair(o: usize, wpan: usize, x0: usize, s0: usize, dp: usize, nb: usize, r: i32, rows: i32): void {
  const m = i8x16.splat(0x3f);
  const ps = nb * PB;
  let o0 = f32x4.splat(0), o1 = o0;
  let wp = wpan;
  for (let b: usize = 0; b < nb; b++) {
    let u0 = i32x4.splat(0), u1 = u0;
    const xb = x0 + b * XK_BYTES;
    const sb = s0 + b * XK_SUMS * 4;
    for (let h: usize = 0; h < 2; h++) {
      // g = 0: bytes l = 0..15 feed sub-blocks 8h + 0, 2, 4, 6; g = 1: l = 16..31 feed 8h + 1, 3, 5, 7.
      for (let g: usize = 0; g < 2; g++) {
        const j = (h << 3) + g;
        const sj = sb + (j << 2);
        // Each sub-block's sums start at 32·(−Σqx): ggml's q − 32 with unsigned values dotted.
        const s01 = i32x4.shl(v128.load(sj), 5), s23 = i32x4.shl(v128.load(sj, 16), 5);
        let a00 = lane0(s01), a01 = lane2(s01), a02 = lane0(s23), a03 = lane2(s23);
        let a10 = a00, a11 = a01, a12 = a02, a13 = a03;
        const xv = xb + (h << 7) + (g << 4);
        const q0 = wp + 80 + h * 384 + g * 192, q1 = q0 + ps;
        {
          // Step 0: elements 0..3 of each plane.
          let w0 = v128.load(q0, 0), w1 = v128.load(q1, 0);
          let x = v128.load32_splat(xv, 0);
          a00 = dd(a00, v128.and(w0, m), x);
          a10 = dd(a10, v128.and(w1, m), x);
          v128.store(SINK, a00);
          v128.store(SINK, a10);
          let t0 = i16x8.shr_u(v128.andnot(w0, m), 2), t1 = i16x8.shr_u(v128.andnot(w1, m), 2);
          w0 = v128.load(q0, 16);
          w1 = v128.load(q1, 16);
          x = v128.load32_splat(xv, 32);
          a01 = dd(a01, v128.and(w0, m), x);
          a11 = dd(a11, v128.and(w1, m), x);
          v128.store(SINK, a01);
          v128.store(SINK, a11);
          t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
          t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
          w0 = v128.load(q0, 32);
          w1 = v128.load(q1, 32);
          x = v128.load32_splat(xv, 64);
          a02 = dd(a02, v128.and(w0, m), x);
          a12 = dd(a12, v128.and(w1, m), x);
          v128.store(SINK, a02);
          v128.store(SINK, a12);
          t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
          t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
          x = v128.load32_splat(xv, 96);
          a03 = dd(a03, t0, x);
          a13 = dd(a13, t1, x);
          v128.store(SINK, a03);
          v128.store(SINK, a13);
        }
        {
          // Step 1: elements 4..7 of each plane.
          let w0 = v128.load(q0, 48), w1 = v128.load(q1, 48);
          let x = v128.load32_splat(xv, 4);
          a00 = dd(a00, v128.and(w0, m), x);
          a10 = dd(a10, v128.and(w1, m), x);
          v128.store(SINK, a00);
          v128.store(SINK, a10);
          let t0 = i16x8.shr_u(v128.andnot(w0, m), 2), t1 = i16x8.shr_u(v128.andnot(w1, m), 2);
          w0 = v128.load(q0, 64);
          w1 = v128.load(q1, 64);
          x = v128.load32_splat(xv, 36);
          a01 = dd(a01, v128.and(w0, m), x);
          a11 = dd(a11, v128.and(w1, m), x);
          v128.store(SINK, a01);
          v128.store(SINK, a11);
          t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
          t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
          w0 = v128.load(q0, 80);
          w1 = v128.load(q1, 80);
          x = v128.load32_splat(xv, 68);
          a02 = dd(a02, v128.and(w0, m), x);
          a12 = dd(a12, v128.and(w1, m), x);
          v128.store(SINK, a02);
          v128.store(SINK, a12);
          t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
          t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
          x = v128.load32_splat(xv, 100);
          a03 = dd(a03, t0, x);
          a13 = dd(a13, t1, x);
          v128.store(SINK, a03);
          v128.store(SINK, a13);
        }
        {
          // Step 2: elements 8..11 of each plane.
          let w0 = v128.load(q0, 96), w1 = v128.load(q1, 96);
          let x = v128.load32_splat(xv, 8);
          a00 = dd(a00, v128.and(w0, m), x);
          a10 = dd(a10, v128.and(w1, m), x);
          v128.store(SINK, a00);
          v128.store(SINK, a10);
          let t0 = i16x8.shr_u(v128.andnot(w0, m), 2), t1 = i16x8.shr_u(v128.andnot(w1, m), 2);
          w0 = v128.load(q0, 112);
          w1 = v128.load(q1, 112);
          x = v128.load32_splat(xv, 40);
          a01 = dd(a01, v128.and(w0, m), x);
          a11 = dd(a11, v128.and(w1, m), x);
          v128.store(SINK, a01);
          v128.store(SINK, a11);
          t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
          t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
          w0 = v128.load(q0, 128);
          w1 = v128.load(q1, 128);
          x = v128.load32_splat(xv, 72);
          a02 = dd(a02, v128.and(w0, m), x);
          a12 = dd(a12, v128.and(w1, m), x);
          v128.store(SINK, a02);
          v128.store(SINK, a12);
          t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
          t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
          x = v128.load32_splat(xv, 104);
          a03 = dd(a03, t0, x);
          a13 = dd(a13, t1, x);
          v128.store(SINK, a03);
          v128.store(SINK, a13);
        }
        {
          // Step 3: elements 12..15 of each plane.
          let w0 = v128.load(q0, 144), w1 = v128.load(q1, 144);
          let x = v128.load32_splat(xv, 12);
          a00 = dd(a00, v128.and(w0, m), x);
          a10 = dd(a10, v128.and(w1, m), x);
          v128.store(SINK, a00);
          v128.store(SINK, a10);
          let t0 = i16x8.shr_u(v128.andnot(w0, m), 2), t1 = i16x8.shr_u(v128.andnot(w1, m), 2);
          w0 = v128.load(q0, 160);
          w1 = v128.load(q1, 160);
          x = v128.load32_splat(xv, 44);
          a01 = dd(a01, v128.and(w0, m), x);
          a11 = dd(a11, v128.and(w1, m), x);
          v128.store(SINK, a01);
          v128.store(SINK, a11);
          t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
          t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
          w0 = v128.load(q0, 176);
          w1 = v128.load(q1, 176);
          x = v128.load32_splat(xv, 76);
          a02 = dd(a02, v128.and(w0, m), x);
          a12 = dd(a12, v128.and(w1, m), x);
          v128.store(SINK, a02);
          v128.store(SINK, a12);
          t0 = i16x8.shr_u(v128.or(t0, v128.andnot(w0, m)), 2);
          t1 = i16x8.shr_u(v128.or(t1, v128.andnot(w1, m)), 2);
          x = v128.load32_splat(xv, 108);
          a03 = dd(a03, t0, x);
          a13 = dd(a13, t1, x);
          v128.store(SINK, a03);
          v128.store(SINK, a13);
        }
        const c0 = wp + 16 + (j << 2), c1 = c0 + ps;
        let v = v128.load(c0), e = i16x8.extend_low_i8x16_s(v), e2 = i16x8.extend_high_i8x16_s(v);
        u0 = i32x4.add(u0, i32x4.add(i32x4.mul(a00, i32x4.extend_low_i16x8_s(e)), i32x4.mul(a01, i32x4.extend_low_i16x8_s(e2))));
        v = v128.load(c0, 16);
        e = i16x8.extend_low_i8x16_s(v);
        e2 = i16x8.extend_high_i8x16_s(v);
        u0 = i32x4.add(u0, i32x4.add(i32x4.mul(a02, i32x4.extend_low_i16x8_s(e)), i32x4.mul(a03, i32x4.extend_low_i16x8_s(e2))));
        v = v128.load(c1);
        e = i16x8.extend_low_i8x16_s(v);
        e2 = i16x8.extend_high_i8x16_s(v);
        u1 = i32x4.add(u1, i32x4.add(i32x4.mul(a10, i32x4.extend_low_i16x8_s(e)), i32x4.mul(a11, i32x4.extend_low_i16x8_s(e2))));
        v = v128.load(c1, 16);
        e = i16x8.extend_low_i8x16_s(v);
        e2 = i16x8.extend_high_i8x16_s(v);
        u1 = i32x4.add(u1, i32x4.add(i32x4.mul(a12, i32x4.extend_low_i16x8_s(e)), i32x4.mul(a13, i32x4.extend_low_i16x8_s(e2))));
      }
    }
    const dx = v128.load32_splat(dp + (b << 2));
    o0 = madd(f32x4.convert_i32x4_s(u0), f32x4.mul(v128.load(wp), dx), o0);
    o1 = madd(f32x4.convert_i32x4_s(u1), f32x4.mul(v128.load(wp + ps), dx), o1);
    wp += PB;
  }
  storeRows4(o, o0, r, rows);
  storeRows4(o + 16, o1, r + 4, rows);
}
