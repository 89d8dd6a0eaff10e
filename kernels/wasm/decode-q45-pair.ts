// Relaxed Q4_K / Q5_K decode (one token): two 4-row panels half a matrix apart per pass, sharing each activation load.
import { SINK, madd } from "./common";
import { storeRows4 } from "./kquant-common";
import { q5hi } from "./decode-q45";
import { Q5, f16Special, q4Scale } from "./q45-values";

// Layout: matmul-q4k.ts (repack-kquant.ts packQ45). With P panels, a pass takes panels p and p + P/2 (two weight
// streams far apart, as decode-pair.ts measured fastest for Q4_0), an odd last panel alone (the same code, `two`
// false). This is the fused form's decode (dot_add_fused: workerd), where every wasm load carries an explicit bounds
// check (no trap handler), so it cuts loads, not arithmetic: per 256-block and pair of panels, 16 activation loads
// (whole vectors, each step's 4-byte broadcast an i32x4 shuffle of one, a pshufd) where two one-panel passes made 128
// splatting loads; the Q8_K pair sums 1 load and the mins 2 per panel where each panel made 8; a chunk's scales one
// widening load (two before); Q4_K's f16 d and dmin one load. Weight loads bump their pointer and use no immediate
// offset: V8 compares each access against the memory size less its offset, so every distinct offset costs a limit
// of its own, which ran out of registers and was reloaded from the stack per check. The i16 form (Node) keeps the
// one-panel decode (decode-q45.ts): pairs measured 1.09-1.15x slower there, where loads cost no check.
// Each row's sums are the one-panel decode's: exact i32 sums (any order), then the same two f32 steps per block in
// the same block order, so the same bits (test/kernels/kquant-decode-pairs.case.ts).

/** Lane j (a constant) of v broadcast to all four i32 lanes: 4 activation bytes, as load32_splat gave them. */
@inline function lane(v: v128, j: i32): v128 {
  if (j == 0) return i8x16.shuffle(v, v, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
  if (j == 1) return i8x16.shuffle(v, v, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);
  if (j == 2) return i8x16.shuffle(v, v, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11);
  return i8x16.shuffle(v, v, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15);
}

/** acc + the four rows' dots of prepared values p with broadcast activations x (i32 dot-add, exact). */
@inline function dot(acc: v128, x: v128, p: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, p, acc);
}

/** Low (h false) or high nibbles of n. */
@inline function nib(n: v128, h: bool): v128 {
  return h ? v128.and(i16x8.shr_u(n, 4), i8x16.splat(15)) : v128.and(n, i8x16.splat(15));
}

/** Q5_K's low value of X bytes n (bits 0-4). */
@inline function lo5(n: v128): v128 {
  return v128.and(n, i8x16.splat(0x1f));
}

/** The scaled i32 sums of one sub-block pair's accumulators lo, hi with the chunk's 8 scale bytes widened to i16 (w). */
@inline function scaledPair(lo: v128, hi: v128, w: v128): v128 {
  return i32x4.add(i32x4.mul(lo, i32x4.extend_low_i16x8_u(w)), i32x4.mul(hi, i32x4.extend_high_i16x8_u(w)));
}

/** Σ_j m_j·(-Σqx_j) of the panel-block's mins at mp (32 bytes, [pair][row][2]) with the Q8_K pair sums sv broadcast. */
@inline function mins(mp: usize, sv: v128): v128 {
  const m0 = v128.load(mp), m1 = v128.load(mp, 16);
  const a = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(m0), lane(sv, 0)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(m0), lane(sv, 1)));
  return i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(m1), lane(sv, 2)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(m1), lane(sv, 3))));
}

// Stores to SINK order the loads before them after the arithmetic before them (decode-q45.ts). workerd's V8 schedules
// an unstored dot-add late, next to its next use, so an accumulator left out of the stores ends its run as a chain of
// dependent dot-adds. Q5_K stores the high sub-block's accumulators (ha, hb) at every step and lets the low ones (an
// `and` per value) be deferred: 0.97-0.98x the time of storing all four in workerd (the low ones alone measured
// 1.09-1.20x all four, none 1.02-1.04x). Q4_K alternates the low and the high ones, so no chain waits more than a step:
// 0.97x the low ones alone (all four measured 1.10-1.16x, none 1.06-1.12x).

/** One accumulator per panel. */
@inline function sink2(a: v128, b: v128, two: bool): void {
  v128.store(SINK, a);
  if (two) v128.store(SINK, b);
}

/** decode-q45-i16.ts's sink: both accumulators of panel a, then (two) panel b's. */
@inline export function sink(a: v128, b: v128, c: v128, d: v128, two: bool): void {
  v128.store(SINK, a);
  v128.store(SINK, b);
  if (two) {
    v128.store(SINK, c);
    v128.store(SINK, d);
  }
}

/**
 * Out rows of panels at wa and (two) wa + pw, Q4_K or (T = Q5) Q5_K: nb panel-blocks of PB bytes; one token's Q8_K
 * activations at xp (i8), block scales at dp, sums at sp; i32 dot-adds throughout.
 */
@inline function decodePanels<T>(two: bool, oa: usize, ob: usize, wa: usize, pw: usize, xp: usize, dp: usize, sp: usize, nb: usize, rb: i32, rows: i32): void {
  const q5 = idof<T>() == idof<Q5>();
  const PB: usize = q5 ? 736 : 592, H: usize = q5 ? 16 : 0;
  const zero = i32x4.splat(0);
  let accA = f32x4.splat(0), accB = f32x4.splat(0);
  let wb = wa + pw;
  const end = xp + (nb << 8);
  while (xp < end) {
    let sa = zero, sb = zero;
    let qa = wa + 80 + H, qb = wb + 80 + H, ca = wa + 16 + H, cb = wb + 16 + H;
    let xv = xp;
    for (let c = 0; c < 4; c++) {
      // a chunk's two runs of 4 steps written out (a loop over them took 1.02-1.05x the time in workerd): steps 4k..4k+3
      // take the low sub-block's activations from x, the high one's from y
      let la = zero, ha = zero, lb = zero, hb = zero, n: v128, x: v128, y: v128;
      if (!q5) {
        x = v128.load(xv);
        y = v128.load(xv + 32);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 0), nib(n, false)); ha = dot(ha, lane(y, 0), nib(n, true));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 0), nib(n, false)); hb = dot(hb, lane(y, 0), nib(n, true)); }
        sink2(la, lb, two);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 1), nib(n, false)); ha = dot(ha, lane(y, 1), nib(n, true));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 1), nib(n, false)); hb = dot(hb, lane(y, 1), nib(n, true)); }
        sink2(ha, hb, two);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 2), nib(n, false)); ha = dot(ha, lane(y, 2), nib(n, true));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 2), nib(n, false)); hb = dot(hb, lane(y, 2), nib(n, true)); }
        sink2(la, lb, two);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 3), nib(n, false)); ha = dot(ha, lane(y, 3), nib(n, true));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 3), nib(n, false)); hb = dot(hb, lane(y, 3), nib(n, true)); }
        sink2(ha, hb, two);
        xv += 16;
        x = v128.load(xv);
        y = v128.load(xv + 32);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 0), nib(n, false)); ha = dot(ha, lane(y, 0), nib(n, true));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 0), nib(n, false)); hb = dot(hb, lane(y, 0), nib(n, true)); }
        sink2(la, lb, two);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 1), nib(n, false)); ha = dot(ha, lane(y, 1), nib(n, true));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 1), nib(n, false)); hb = dot(hb, lane(y, 1), nib(n, true)); }
        sink2(ha, hb, two);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 2), nib(n, false)); ha = dot(ha, lane(y, 2), nib(n, true));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 2), nib(n, false)); hb = dot(hb, lane(y, 2), nib(n, true)); }
        sink2(la, lb, two);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 3), nib(n, false)); ha = dot(ha, lane(y, 3), nib(n, true));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 3), nib(n, false)); hb = dot(hb, lane(y, 3), nib(n, true)); }
        sink2(ha, hb, two);
      } else {
        // a run: vectors X0..X3, then E (the high values' top bits, q5hi)
        let e: v128, f = zero;
        x = v128.load(xv);
        y = v128.load(xv + 32);
        e = v128.load(qa, 64);
        if (two) f = v128.load(qb, 64);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 0), lo5(n)); ha = dot(ha, lane(y, 0), q5hi(n, e, 0));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 0), lo5(n)); hb = dot(hb, lane(y, 0), q5hi(n, f, 0)); }
        sink2(ha, hb, two);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 1), lo5(n)); ha = dot(ha, lane(y, 1), q5hi(n, e, 1));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 1), lo5(n)); hb = dot(hb, lane(y, 1), q5hi(n, f, 1)); }
        sink2(ha, hb, two);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 2), lo5(n)); ha = dot(ha, lane(y, 2), q5hi(n, e, 2));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 2), lo5(n)); hb = dot(hb, lane(y, 2), q5hi(n, f, 2)); }
        sink2(ha, hb, two);
        n = v128.load(qa); qa += 32; la = dot(la, lane(x, 3), lo5(n)); ha = dot(ha, lane(y, 3), q5hi(n, e, 3));
        if (two) { n = v128.load(qb); qb += 32; lb = dot(lb, lane(x, 3), lo5(n)); hb = dot(hb, lane(y, 3), q5hi(n, f, 3)); }
        sink2(ha, hb, two); // past E as well
        xv += 16;
        x = v128.load(xv);
        y = v128.load(xv + 32);
        e = v128.load(qa, 64);
        if (two) f = v128.load(qb, 64);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 0), lo5(n)); ha = dot(ha, lane(y, 0), q5hi(n, e, 0));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 0), lo5(n)); hb = dot(hb, lane(y, 0), q5hi(n, f, 0)); }
        sink2(ha, hb, two);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 1), lo5(n)); ha = dot(ha, lane(y, 1), q5hi(n, e, 1));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 1), lo5(n)); hb = dot(hb, lane(y, 1), q5hi(n, f, 1)); }
        sink2(ha, hb, two);
        n = v128.load(qa); qa += 16; la = dot(la, lane(x, 2), lo5(n)); ha = dot(ha, lane(y, 2), q5hi(n, e, 2));
        if (two) { n = v128.load(qb); qb += 16; lb = dot(lb, lane(x, 2), lo5(n)); hb = dot(hb, lane(y, 2), q5hi(n, f, 2)); }
        sink2(ha, hb, two);
        n = v128.load(qa); qa += 32; la = dot(la, lane(x, 3), lo5(n)); ha = dot(ha, lane(y, 3), q5hi(n, e, 3));
        if (two) { n = v128.load(qb); qb += 32; lb = dot(lb, lane(x, 3), lo5(n)); hb = dot(hb, lane(y, 3), q5hi(n, f, 3)); }
        sink2(ha, hb, two);
      }
      sa = i32x4.add(sa, scaledPair(la, ha, v128.load8x8_u(ca)));
      if (two) sb = i32x4.add(sb, scaledPair(lb, hb, v128.load8x8_u(cb)));
      xv += 48; // past the high sub-block's activations
      ca += 8;
      cb += 8;
    }
    const sv = v128.load(sp, 96);
    const dx = v128.load32_splat(dp);
    // d, dmin: f32 (Q5_K) or f16 (Q4_K: both from one load, q4Scale)
    let da: v128, dma: v128;
    if (q5) {
      da = v128.load(wa);
      dma = v128.load(wa, 16);
    } else {
      const h = v128.load(wa), sp16 = f16Special(h);
      da = q4Scale(h, false, sp16);
      dma = q4Scale(h, true, sp16);
    }
    accA = madd(f32x4.convert_i32x4_s(sa), f32x4.mul(da, dx), accA);
    accA = madd(f32x4.convert_i32x4_s(mins(wa + 48 + H, sv)), f32x4.mul(dma, dx), accA);
    if (two) {
      let db: v128, dmb: v128;
      if (q5) {
        db = v128.load(wb);
        dmb = v128.load(wb, 16);
      } else {
        const h = v128.load(wb), sp16 = f16Special(h);
        db = q4Scale(h, false, sp16);
        dmb = q4Scale(h, true, sp16);
      }
      accB = madd(f32x4.convert_i32x4_s(sb), f32x4.mul(db, dx), accB);
      accB = madd(f32x4.convert_i32x4_s(mins(wb + 48 + H, sv)), f32x4.mul(dmb, dx), accB);
    }
    wa += PB;
    wb += PB;
    xp += 256;
    dp += 4;
    sp += 112; // XK_SUMS i32 per block
  }
  if (two) {
    v128.store(oa, accA);
    storeRows4(ob, accB, rb, rows);
  } else storeRows4(oa, accA, rb, rows);
}

/**
 * One token's out[r] = Σ_c w[r, c] x[c] for relaxed Q4_K or Q5_K (T) weights (Q8_K activations xq, xd, xs): panels
 * p and p + P/2 together, an odd last panel alone.
 */
@inline export function decodeQ45<T>(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32): void {
  const PB: usize = idof<T>() == idof<Q5>() ? 736 : 592;
  const nb = <usize>(cols >> 8);
  const pw = nb * PB;
  const panels = (rows + 3) >> 2, half = panels >> 1;
  const hw = <usize>half * pw, ho = <usize>half << 4;
  for (let p = 0; p < half; p++) {
    const o = out + (<usize>p << 4);
    decodePanels<T>(true, o, o + ho, w + <usize>p * pw, hw, xq, xd, xs, nb, (p + half) << 2, rows);
  }
  if (panels & 1) {
    const r = (panels - 1) << 2;
    decodePanels<T>(false, out + (<usize>r << 2), 0, w + <usize>(panels - 1) * pw, 0, xq, xd, xs, nb, r, rows);
  }
}
