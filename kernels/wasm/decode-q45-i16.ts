// Relaxed Q4_K decode in the i16 form (Node): two panels per pass on the token's activations expanded once.
import { madd } from "./common";
import { storeRows4 } from "./kquant-common";
import { f16Special, q4Scale } from "./q45-values";
import { sink } from "./decode-q45-pair";

// Layout: matmul-q4k.ts (repack-kquant.ts packQ45). With P panels, a pass takes panels p and p + P/2 (two weight
// streams far apart, as decode-pair.ts and decode-q45-pair.ts), an odd last panel alone (`two` false). Where the
// engine does not fuse the i32 dot-add (V8 in Node 22), each step is i16x8.relaxed_dot (one pmaddubsw) plus an i16
// add, settled per run of steps as the one-panel decode (decode-q45.ts) does. The token's activations are first
// expanded (expand) into XE: per 256-block, each step's 4 activation bytes splatted to a full vector, in the order the
// steps take them, then the block's four Q8_K pair sums splatted and its d splatted. Every activation load in the
// loop is then one whole-vector load at an immediate offset from one pointer, shared by both panels: no splatting
// loads (V8 adds their offset in an instruction of its own) and no shuffles, so the pair's four i16 accumulators,
// two value vectors, two broadcasts and the masks fit x64's 16 vector registers.
// Each row's sums are the one-panel decode's: exact i32 sums (any order), then the same two f32 steps per block in
// the same block order, so the same bits (test/kernels/kquant-decode-pairs.case.ts).

/** Expanded bytes per 256-block: 64 step broadcasts (per chunk 8 steps, low then high sub-block's), 4 pair sums, d. */
const EB: usize = 1104;
/** Blocks XE holds: matrices with more columns (over 20480) take the one-panel decode. */
export const XE_BLOCKS: i32 = 80;
// Only the relaxed build runs this decode: SIMD128 reserves nothing.
const XE: usize = ASC_FEATURE_RELAXED_SIMD ? memory.data(<i32>EB * XE_BLOCKS, 16) : 0;

/** Writes nb blocks of one token's Q8_K activations (quants xp, d dp, sums sp: quantize_q8_k) to XE, as above. */
@inline function expand(xp: usize, dp: usize, sp: usize, nb: usize): void {
  let xe = XE;
  for (let b: usize = 0; b < nb; b++) {
    for (let c: usize = 0; c < 4; c++) {
      for (let j: usize = 0; j < 8; j++) {
        v128.store(xe + (c << 8) + (j << 5), v128.load32_splat(xp + (c << 6) + (j << 2)));
        v128.store(xe + (c << 8) + (j << 5) + 16, v128.load32_splat(xp + (c << 6) + 32 + (j << 2)));
      }
    }
    for (let k: usize = 0; k < 4; k++) v128.store(xe + 1024 + (k << 4), v128.load32_splat(sp + 96 + (k << 2)));
    v128.store(xe + 1088, v128.load32_splat(dp));
    xe += EB;
    xp += 256;
    dp += 4;
    sp += 112; // XK_SUMS i32 per block
  }
}

/** acc + the four rows' i16 dots of prepared values p with broadcast activations x. */
@inline function dot(acc: v128, x: v128, p: v128): v128 {
  return i16x8.add(acc, i16x8.relaxed_dot_i8x16_i7x16_s(x, p));
}

/** The first dot of an accumulator (V8 does not fold an add of a zero vector). */
@inline function dot0(x: v128, p: v128): v128 {
  return i16x8.relaxed_dot_i8x16_i7x16_s(x, p);
}

/**
 * The scaled i32 sums of a pair of i16 accumulators: lo by the low sub-block's scales, hi by the high one's, from the
 * chunk's 8 scale bytes at sc widened once; each i32x4.dot_i16x8_s settles and scales (the scales in lane pairs).
 */
@inline function scaledAt(lo: v128, hi: v128, sc: usize): v128 {
  const s = v128.load8x8_u(sc);
  const s0 = i8x16.shuffle(s, s, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  const s1 = i8x16.shuffle(s, s, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  return i32x4.add(i32x4.dot_i16x8_s(lo, s0), i32x4.dot_i16x8_s(hi, s1));
}

/** Σ_j m_j·(-Σqx_j) of the panel-block's mins at mp ([pair][row][2], widened per pair) with the expanded sums at xb. */
@inline function mins(mp: usize, xb: usize): v128 {
  const a = i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_u(mp), v128.load(xb, 1024)), i32x4.dot_i16x8_s(v128.load8x8_u(mp, 8), v128.load(xb, 1040)));
  return i32x4.add(a, i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_u(mp, 16), v128.load(xb, 1056)), i32x4.dot_i16x8_s(v128.load8x8_u(mp, 24), v128.load(xb, 1072))));
}

/** Low (h false) or high nibbles of n. */
@inline function nib(n: v128, h: bool): v128 {
  return h ? v128.and(i16x8.shr_u(n, 4), i8x16.splat(15)) : v128.and(n, i8x16.splat(15));
}


/** Q4_K panel-block bytes (matmul-q4k.ts). */
const PB: usize = 592;

/** Out rows of panels at wa and (two) wa + pw: nb panel-blocks against the expanded activations at XE. */
@inline function decodePanels(two: bool, oa: usize, ob: usize, wa: usize, pw: usize, nb: usize, rb: i32, rows: i32): void {
  const zero = i32x4.splat(0);
  let accA = f32x4.splat(0), accB = f32x4.splat(0);
  let wb = wa + pw;
  let xb = XE;
  const end = XE + nb * EB;
  while (xb < end) {
    let sa = zero, sb = zero;
    let qa = wa + 80, qb = wb + 80, ca = wa + 16, cb = wb + 16;
    let xc = xb;
    for (let c = 0; c < 4; c++) {
      const m = i8x16.splat(15);
      let L = v128.load(xc), Hv = v128.load(xc, 16);
      let na = v128.load(qa), nv = two ? v128.load(qb) : zero;
      let la = dot0(L, v128.and(na, m)), ha = dot0(Hv, nib(na, true));
      let lb = two ? dot0(L, v128.and(nv, m)) : zero, hb = two ? dot0(Hv, nib(nv, true)) : zero;
      sink(la, ha, lb, hb, two);
      L = v128.load(xc, 32); Hv = v128.load(xc, 48);
      na = v128.load(qa, 16); if (two) nv = v128.load(qb, 16);
      la = dot(la, L, v128.and(na, m)); ha = dot(ha, Hv, nib(na, true));
      if (two) { lb = dot(lb, L, v128.and(nv, m)); hb = dot(hb, Hv, nib(nv, true)); }
      sink(la, ha, lb, hb, two);
      L = v128.load(xc, 64); Hv = v128.load(xc, 80);
      na = v128.load(qa, 32); if (two) nv = v128.load(qb, 32);
      la = dot(la, L, v128.and(na, m)); ha = dot(ha, Hv, nib(na, true));
      if (two) { lb = dot(lb, L, v128.and(nv, m)); hb = dot(hb, Hv, nib(nv, true)); }
      sink(la, ha, lb, hb, two);
      L = v128.load(xc, 96); Hv = v128.load(xc, 112);
      na = v128.load(qa, 48); if (two) nv = v128.load(qb, 48);
      la = dot(la, L, v128.and(na, m)); ha = dot(ha, Hv, nib(na, true));
      if (two) { lb = dot(lb, L, v128.and(nv, m)); hb = dot(hb, Hv, nib(nv, true)); }
      sink(la, ha, lb, hb, two);
      L = v128.load(xc, 128); Hv = v128.load(xc, 144);
      na = v128.load(qa, 64); if (two) nv = v128.load(qb, 64);
      la = dot(la, L, v128.and(na, m)); ha = dot(ha, Hv, nib(na, true));
      if (two) { lb = dot(lb, L, v128.and(nv, m)); hb = dot(hb, Hv, nib(nv, true)); }
      sink(la, ha, lb, hb, two);
      L = v128.load(xc, 160); Hv = v128.load(xc, 176);
      na = v128.load(qa, 80); if (two) nv = v128.load(qb, 80);
      la = dot(la, L, v128.and(na, m)); ha = dot(ha, Hv, nib(na, true));
      if (two) { lb = dot(lb, L, v128.and(nv, m)); hb = dot(hb, Hv, nib(nv, true)); }
      sink(la, ha, lb, hb, two);
      L = v128.load(xc, 192); Hv = v128.load(xc, 208);
      na = v128.load(qa, 96); if (two) nv = v128.load(qb, 96);
      la = dot(la, L, v128.and(na, m)); ha = dot(ha, Hv, nib(na, true));
      if (two) { lb = dot(lb, L, v128.and(nv, m)); hb = dot(hb, Hv, nib(nv, true)); }
      sink(la, ha, lb, hb, two);
      L = v128.load(xc, 224); Hv = v128.load(xc, 240);
      na = v128.load(qa, 112); if (two) nv = v128.load(qb, 112);
      la = dot(la, L, v128.and(na, m)); ha = dot(ha, Hv, nib(na, true));
      if (two) { lb = dot(lb, L, v128.and(nv, m)); hb = dot(hb, Hv, nib(nv, true)); }
      // 8 steps of 4-bit values: ≤ 8·2·15·127 per i16 lane, exact
      sa = i32x4.add(sa, scaledAt(la, ha, ca));
      if (two) sb = i32x4.add(sb, scaledAt(lb, hb, cb));
      qa += 128;
      qb += 128;
      xc += 256;
      ca += 8;
      cb += 8;
    }
    const dx = v128.load(xb, 1088);
    // d, dmin: both f16 rows from one load (q4Scale)
    const fa = v128.load(wa), spa = f16Special(fa);
    const da = q4Scale(fa, false, spa), dma = q4Scale(fa, true, spa);
    accA = madd(f32x4.convert_i32x4_s(sa), f32x4.mul(da, dx), accA);
    accA = madd(f32x4.convert_i32x4_s(mins(wa + 48, xb)), f32x4.mul(dma, dx), accA);
    if (two) {
      const fb = v128.load(wb), spb = f16Special(fb);
      const db = q4Scale(fb, false, spb), dmb = q4Scale(fb, true, spb);
      accB = madd(f32x4.convert_i32x4_s(sb), f32x4.mul(db, dx), accB);
      accB = madd(f32x4.convert_i32x4_s(mins(wb + 48, xb)), f32x4.mul(dmb, dx), accB);
    }
    wa += PB;
    wb += PB;
    xb += EB;
  }
  if (two) {
    v128.store(oa, accA);
    storeRows4(ob, accB, rb, rows);
  } else storeRows4(oa, accA, rb, rows);
}

/**
 * One token's out[r] = Σ_c w[r, c] x[c] for relaxed Q4_K weights in the i16 form (Q8_K activations xq, xd, xs; at
 * most XE_BLOCKS 256-blocks of columns): panels p and p + P/2 together, an odd last panel alone.
 */
export function decodeQ4KI16(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32): void {
  const nb = <usize>(cols >> 8);
  expand(xq, xd, xs, nb);
  const pw = nb * PB;
  const panels = (rows + 3) >> 2, half = panels >> 1;
  const hw = <usize>half * pw, ho = <usize>half << 4;
  for (let p = 0; p < half; p++) {
    const o = out + (<usize>p << 4);
    decodePanels(true, o, o + ho, w + <usize>p * pw, hw, nb, (p + half) << 2, rows);
  }
  for (let p = half << 1; p < panels; p++) {
    const r = p << 2;
    decodePanels(false, out + (<usize>r << 2), 0, w + <usize>p * pw, 0, nb, r, rows);
  }
}
