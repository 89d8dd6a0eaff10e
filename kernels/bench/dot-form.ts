// Micro-benchmark of relaxed Q4_0's decode step (decode-legacy.ts blockQ4Relaxed) in its two integer-dot forms.
// run16: i16x8.relaxed_dot_i8x16_i7x16_s summed in i16 lanes, widened once (the kernels' form); run32/run32b:
// i32x4.relaxed_dot_i8x16_i7x16_add_s accumulating in i32 (one chain / two chains); runLd/runAlu: plain loads and
// plain i32x4 adds, as controls; run16n: run16 without the SINK stores. Each walks nblk 64-byte panel-blocks reps times; the integer sums are identical.
import { SINK } from "../wasm/common";
// The kernels' own step, so the benchmark times what ships.
import { blockQ4Relaxed as b16 } from "../wasm/decode-legacy";

/** b16 (blockQ4Relaxed) without the SINK stores (V8 then schedules the loads freely). */
@inline function b16n(wp: usize, xp: usize, sp: usize): v128 {
  const m = i8x16.splat(0x0f);
  const n0 = v128.load(wp);
  let lo = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp), v128.and(n0, m));
  let hi = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 16), v128.and(i16x8.shr_u(n0, 4), m));
  const n1 = v128.load(wp, 16);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 4), v128.and(n1, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 20), v128.and(i16x8.shr_u(n1, 4), m)));
  const n2 = v128.load(wp, 32);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 8), v128.and(n2, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 24), v128.and(i16x8.shr_u(n2, 4), m)));
  const n3 = v128.load(wp, 48);
  lo = i16x8.add(lo, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 12), v128.and(n3, m)));
  hi = i16x8.add(hi, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(xp, 28), v128.and(i16x8.shr_u(n3, 4), m)));
  return i32x4.add(i32x4.extadd_pairwise_i16x8_s(i16x8.add(lo, hi)), i32x4.shl(v128.load32_splat(sp), 3));
}
/** The i32 form, one accumulator chain. */
@inline function b32(wp: usize, xp: usize, sp: usize): v128 {
  const m = i8x16.splat(0x0f);
  const n0 = v128.load(wp);
  let a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp), v128.and(n0, m), i32x4.shl(v128.load32_splat(sp), 3));
  a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 16), v128.and(i16x8.shr_u(n0, 4), m), a);
  const n1 = v128.load(wp, 16);
  a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 4), v128.and(n1, m), a);
  a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 20), v128.and(i16x8.shr_u(n1, 4), m), a);
  v128.store(SINK, a);
  const n2 = v128.load(wp, 32);
  a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 8), v128.and(n2, m), a);
  a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 24), v128.and(i16x8.shr_u(n2, 4), m), a);
  const n3 = v128.load(wp, 48);
  a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 12), v128.and(n3, m), a);
  a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 28), v128.and(i16x8.shr_u(n3, 4), m), a);
  return a;
}
/** The i32 form, two chains (low and high nibbles) like the i16 form. */
@inline function b32b(wp: usize, xp: usize, sp: usize): v128 {
  const m = i8x16.splat(0x0f);
  const n0 = v128.load(wp);
  let lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp), v128.and(n0, m), i32x4.shl(v128.load32_splat(sp), 3));
  let hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 16), v128.and(i16x8.shr_u(n0, 4), m), i32x4.splat(0));
  const n1 = v128.load(wp, 16);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 4), v128.and(n1, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 20), v128.and(i16x8.shr_u(n1, 4), m), hi);
  v128.store(SINK, lo);
  v128.store(SINK, hi);
  const n2 = v128.load(wp, 32);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 8), v128.and(n2, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 24), v128.and(i16x8.shr_u(n2, 4), m), hi);
  const n3 = v128.load(wp, 48);
  lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 12), v128.and(n3, m), lo);
  hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp, 28), v128.and(i16x8.shr_u(n3, 4), m), hi);
  return i32x4.add(lo, hi);
}
// One f32 scale-and-madd per block, as the decode loop does.
export function run16(w: usize, x: usize, nblk: i32, reps: i32): f32 {
  let acc = f32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    for (let b = 0; b < nblk; b++) {
      const s = b16(w + (<usize>b << 6), x + (<usize>(b & 63) * 40), x + (<usize>(b & 63) * 40) + 32);
      acc = f32x4.relaxed_madd(f32x4.convert_i32x4_s(s), f32x4.splat(0.5), acc);
    }
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 3);
}
export function run32(w: usize, x: usize, nblk: i32, reps: i32): f32 {
  let acc = f32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    for (let b = 0; b < nblk; b++) {
      const s = b32(w + (<usize>b << 6), x + (<usize>(b & 63) * 40), x + (<usize>(b & 63) * 40) + 32);
      acc = f32x4.relaxed_madd(f32x4.convert_i32x4_s(s), f32x4.splat(0.5), acc);
    }
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 3);
}
// loads only: sum of i32x4 over nblk*4 vectors (bounds-check sensitive)
export function runLd(w: usize, x: usize, nblk: i32, reps: i32): f32 {
  let a = i32x4.splat(0), b = i32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < nblk; i++) {
      const p = w + (<usize>i << 6);
      a = i32x4.add(a, i32x4.add(v128.load(p), v128.load(p, 16)));
      b = i32x4.add(b, i32x4.add(v128.load(p, 32), v128.load(p, 48)));
    }
  }
  return <f32>i32x4.extract_lane(i32x4.add(a, b), 0);
}
// ALU only: the same adds on registers
export function runAlu(w: usize, x: usize, nblk: i32, reps: i32): f32 {
  let a = i32x4.splat(<i32>w), b = i32x4.splat(<i32>x), c = i32x4.splat(3), d = i32x4.splat(5);
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < nblk; i++) {
      a = i32x4.add(a, i32x4.add(c, d));
      b = i32x4.add(b, i32x4.add(d, a));
      c = i32x4.add(c, i32x4.add(a, b));
      d = i32x4.add(d, i32x4.add(b, c));
    }
  }
  return <f32>i32x4.extract_lane(i32x4.add(a, b), 0);
}
export function run32b(w: usize, x: usize, nblk: i32, reps: i32): f32 {
  let acc = f32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    for (let b = 0; b < nblk; b++) {
      const s = b32b(w + (<usize>b << 6), x + (<usize>(b & 63) * 40), x + (<usize>(b & 63) * 40) + 32);
      acc = f32x4.relaxed_madd(f32x4.convert_i32x4_s(s), f32x4.splat(0.5), acc);
    }
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 3);
}

export function run16n(w: usize, x: usize, nblk: i32, reps: i32): f32 {
  let acc = f32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    for (let b = 0; b < nblk; b++) {
      const s = b16n(w + (<usize>b << 6), x + (<usize>(b & 63) * 40), x + (<usize>(b & 63) * 40) + 32);
      acc = f32x4.relaxed_madd(f32x4.convert_i32x4_s(s), f32x4.splat(0.5), acc);
    }
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 3);
}
