// workerd's fused Q4_0 prefill tile on group-major activations: two 4-row panels by four tokens, one load per token group.
import { madd } from "./common";
import { storeRows } from "./prefill-block32";
import { TILE_BLOCK } from "./quantize-act";

// prefill-q4t.ts's tiles broadcast each token's 4-byte group (one bounds-checked load per two dot-adds here, eight
// per block and token pair of panels). quantize_q8_0_tiles stores a block's groups group-major (token u's group g at
// 16g + 4u), so one 16-byte load holds a group of all four tokens and three lane rotations (pshufd, no load) give
// the other (row, token) pairings: 8 activation loads per block instead of 32.

/** The eight rotated f32 output sums: panel A's rotations 0-3, then panel B's (lane i of rotation k: row i, token (i + k) & 3). */
const O: usize = memory.data(128, 16);

/** acc + the four rows' dots of nibbles p against the four i8 activations in each lane of x (one vpdpbusd in workerd). */
@inline function dot(acc: v128, x: v128, p: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, p, acc);
}

/** O slot i += row sums a scaled by the panel's scales dw times the lanes' token d (dx): prefill-q4t.ts's float step. */
@inline function addO(i: usize, a: v128, dw: v128, dx: v128): void {
  v128.store(O + (i << 4), madd(f32x4.convert_i32x4_s(a), f32x4.mul(dw, dx), v128.load(O + (i << 4))));
}

/** v's lanes rotated by k: lane i holds lane (i + k) & 3, i.e. (row i, token (i + k) & 3) against a panel's rows. */
@inline function rot1(v: v128): v128 {
  return i32x4.shuffle(v, v, 1, 2, 3, 0);
}
@inline function rot2(v: v128): v128 {
  return i32x4.shuffle(v, v, 2, 3, 0, 1);
}
@inline function rot3(v: v128): v128 {
  return i32x4.shuffle(v, v, 3, 0, 1, 2);
}

/**
 * Two 4-row panels (quants at wa and wb, f32 scales at da and db; rows r + 4.. may be partial) by one 4-token tile,
 * fused dot-adds. One 16-byte load holds a group of all four tokens (group-major quants): dotted as loaded and in its
 * three lane rotations against each panel's rows, accumulator k's lane i is row i by token (i + k) & 3. The starts
 * and d are rotated alike, so each lane gets tile4's integer and float steps for its (row, token): the same bits. The
 * lanes return to tokens once per tile (storeRot). Loads per block: 8 weights and 8 groups, not 8 and 32 broadcasts.
 */
@inline export function tile8(out: usize, wa: usize, wb: usize, da: usize, db: usize, xt: usize, nb: i32, r: i32, rows: i32): void {
  const zero = f32x4.splat(0);
  const m = i8x16.splat(0x0f);
  for (let i: usize = 0; i < 8; i++) v128.store(O + (i << 4), zero);
  let pa = wa, pb = wb, xb = xt;
  for (let b = 0; b < nb; b++) {
    const s = v128.load(xb, 144);
    let a0 = s, a1 = rot1(s), a2 = rot2(s), a3 = rot3(s);
    let b0 = a0, b1 = a1, b2 = a2, b3 = a3;
    const xe = xb + 64;
    for (let xp = xb; xp < xe; xp += 16) {
      const la = v128.and(v128.load(pa), m), lb = v128.and(v128.load(pb), m);
      const x = v128.load(xp);
      a0 = dot(a0, x, la);
      b0 = dot(b0, x, lb);
      let y = rot1(x);
      a1 = dot(a1, y, la);
      b1 = dot(b1, y, lb);
      y = rot2(x);
      a2 = dot(a2, y, la);
      b2 = dot(b2, y, lb);
      y = rot3(x);
      a3 = dot(a3, y, la);
      b3 = dot(b3, y, lb);
      pa += 16;
      pb += 16;
    }
    pa -= 64;
    pb -= 64;
    for (let xp = xe; xp < xe + 64; xp += 16) {
      const ha = v128.and(i16x8.shr_u(v128.load(pa), 4), m), hb = v128.and(i16x8.shr_u(v128.load(pb), 4), m);
      const x = v128.load(xp);
      a0 = dot(a0, x, ha);
      b0 = dot(b0, x, hb);
      let y = rot1(x);
      a1 = dot(a1, y, ha);
      b1 = dot(b1, y, hb);
      y = rot2(x);
      a2 = dot(a2, y, ha);
      b2 = dot(b2, y, hb);
      y = rot3(x);
      a3 = dot(a3, y, ha);
      b3 = dot(b3, y, hb);
      pa += 16;
      pb += 16;
    }
    const dwa = v128.load(da + (<usize>b << 4));
    const dwb = v128.load(db + (<usize>b << 4));
    const d = v128.load(xb, 128);
    const d1 = rot1(d), d2 = rot2(d), d3 = rot3(d);
    addO(0, a0, dwa, d);
    addO(1, a1, dwa, d1);
    addO(2, a2, dwa, d2);
    addO(3, a3, dwa, d3);
    addO(4, b0, dwb, d);
    addO(5, b1, dwb, d1);
    addO(6, b2, dwb, d2);
    addO(7, b3, dwb, d3);
    xb += TILE_BLOCK;
  }
  storeRot(O, out + <usize>r * 4, rows, r, false);
  storeRot(O + 64, out + <usize>r * 4 + 16, rows, r + 4, true);
}

/** Token t's four rows from rotated sums (slot k's lane i: row i, token (i + k) & 3): lane i from slot (t − i) & 3. */
@inline function unrot(k0: v128, k1: v128, k2: v128, k3: v128): v128 {
  return i32x4.shuffle(i32x4.shuffle(k0, k1, 0, 5, 2, 7), i32x4.shuffle(k2, k3, 0, 5, 2, 7), 0, 1, 6, 7);
}

/** One panel's four rotated O slots at p as four tokens' rows at o (oRow apart); rows r0.. partial if `part`. */
@inline function storeRot(p: usize, o: usize, rows: i32, r0: i32, part: bool): void {
  const k0 = v128.load(p), k1 = v128.load(p, 16), k2 = v128.load(p, 32), k3 = v128.load(p, 48);
  const oRow = <usize>rows << 2;
  const t0 = unrot(k0, k3, k2, k1), t1 = unrot(k1, k0, k3, k2), t2 = unrot(k2, k1, k0, k3), t3 = unrot(k3, k2, k1, k0);
  if (part) {
    storeRows(o, t0, r0, rows);
    storeRows(o + oRow, t1, r0, rows);
    storeRows(o + 2 * oRow, t2, r0, rows);
    storeRows(o + 3 * oRow, t3, r0, rows);
  } else {
    v128.store(o, t0);
    v128.store(o + oRow, t1);
    v128.store(o + 2 * oRow, t2);
    v128.store(o + 3 * oRow, t3);
  }
}

