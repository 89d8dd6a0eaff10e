// Q4_K weights × Q8_K activations: 4-row panels, integer dots per 32-element sub-block, 6-bit scales and mins in ints.
import { madd } from "./common";
import { XK_BYTES, XK_ELEM, XK_SUMS, dotStep, scaled, settle, storeRows4, storeTokens4, u8x4, u8x4For } from "./kquant-common";
import { SINK } from "./common";
import { chunkRelaxed } from "./decode-q45";
import { Q4, Q5, dAt, dminAt, f16Special, hdr, phases, prep, q4Scale, runTop, value } from "./q45-values";
import { tile8 } from "./prefill-q45";
import { dot_add_fused } from "./matmul-quant";
import { decodeQ45 } from "./decode-q45-pair";
import { XE_BLOCKS, decodeQ4KI16 } from "./decode-q45-i16";

export { Q4, Q5 };

/** Prefill tiles of two panels (prefill-q45.ts) on the relaxed build; SIMD128's widened halves leave too few registers. */
const TILE8: bool = ASC_FEATURE_RELAXED_SIMD;

// Weight layout (repack-kquant.ts packQ4K): rows in panels of four (the last padded with zero rows); per panel and
// 256-block 592 bytes: d of the 4 rows (f16), dmin (f16), the 8 six-bit scales unpacked to u8 as [sub-block][row], the
// 8 mins as u8 [pair][row][2] (one dot_i16x8 per pair against the i16 activation sums), then the quants: per
// 64-element chunk c, the row's 32 bytes (low nibbles: sub-block 2c, high: 2c+1) as 8 vectors, vector v holding bytes
// 4v..4v+3 of the four rows (relaxed: each row's 4 together; SIMD128: each row's bytes 4v, 4v+1 in the first half,
// 4v+2, 4v+3 in the second). Q5_K (matmul-q5k.ts) holds whole 5-bit values instead, 160 bytes per chunk: per run of
// 4 steps (the span between settles) vectors X0..X3, byte l of Xj holding element 4j + l of sub-block 2c in bits 0-4
// and the low 3 bits of the same element of 2c + 1 in bits 5-7, then E, whose bits 2j, 2j+1 are that element's top
// 2 bits: 3 operations per value vector where nibbles plus a fifth-bit plane take 4.5, in the same bytes. Q5_K's d
// and dmin are f32 (736 bytes per panel-block, everything after them 16 bytes later: q45-values.ts hdr), read by one
// load each where Q4_K's f16 take two conversions per block (Q4_K keeps f16: f32 would put it 5.6 % over the file).
// Per block: Σ_r w·x = dx·(d·Σ_j sc_j·Σ q·qx − dmin·Σ_j m_j·Σ qx), with every Σ exact in i32 (|Σ| < 2^26) and the
// four rows in the four lanes; the activation sums come negated from quantize_q8_k, so both terms are added.

/** Four tokens' i32 block sums (one v128 each) for half4: an inline function returns one value. */
const U: usize = memory.data(64, 16);

/**
 * The low (h false) or high nibbles of chunk c of panel-block wp for four tokens (activations at xb, tokens xRow apart):
 * each weight vector prepared once for the four, settled per run of steps, scaled and added to the sums at U.
 */
@inline function half4<T>(h: bool, wp: usize, QOFF: usize, c: usize, xb: usize, xRow: usize, f: bool): void {
  const zero = i32x4.splat(0);
  const sc = u8x4For(wp + 16 + hdr<T>() + (c << 3) + (h ? 4 : 0), f);
  const q5 = idof<T>() == idof<Q5>();
  let qp = wp + QOFF + c * (q5 ? 160 : 128);
  let xp = xb + ((c << 6) + (h ? 32 : 0)) * XK_ELEM;
  for (let ph = 0; ph < phases<T>(); ph++) {
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    const xe = xp + (32 / phases<T>()) * XK_ELEM;
    let e0 = q5 ? runTop(qp, 0) : zero, e1 = q5 && !ASC_FEATURE_RELAXED_SIMD ? runTop(qp, 1) : zero;
    for (; xp < xe; xp += 4 * XK_ELEM) {
      const p0 = prep<T>(qp, e0, e1, h, 0);
      const p1 = ASC_FEATURE_RELAXED_SIMD ? p0 : prep<T>(qp, e0, e1, h, 1);
      a0 = ASC_FEATURE_RELAXED_SIMD && f ? i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp), p0, a0) : dotStep(a0, p0, p1, xp);
      a1 = ASC_FEATURE_RELAXED_SIMD && f ? i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp + xRow), p0, a1) : dotStep(a1, p0, p1, xp + xRow);
      a2 = ASC_FEATURE_RELAXED_SIMD && f ? i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp + 2 * xRow), p0, a2) : dotStep(a2, p0, p1, xp + 2 * xRow);
      a3 = ASC_FEATURE_RELAXED_SIMD && f ? i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(xp + 3 * xRow), p0, a3) : dotStep(a3, p0, p1, xp + 3 * xRow);
      qp += 16;
      if (q5) {
        e0 = i16x8.shr_u(e0, 2);
        e1 = i16x8.shr_u(e1, 2);
      }
    }
    if (q5) qp += 16; // past the run's E vector
    v128.store(U, i32x4.add(v128.load(U), scaled(a0, sc, f)));
    v128.store(U, i32x4.add(v128.load(U, 16), scaled(a1, sc, f)), 16);
    v128.store(U, i32x4.add(v128.load(U, 32), scaled(a2, sc, f)), 32);
    v128.store(U, i32x4.add(v128.load(U, 48), scaled(a3, sc, f)), 48);
  }
}

/**
 * Four tokens (t..t+3, prefill) of one panel: each weight vector is prepared once for all four, low nibbles and high
 * nibbles in separate passes over the chunk so that four accumulators serve both.
 */
@inline function tile4<T>(o: usize, wpan: usize, PB: usize, QOFF: usize, x0: usize, s0: usize, dp: usize, xRow: usize, sRow: usize, nb: usize, r: i32, rows: i32, f: bool): void {
  const zero = i32x4.splat(0);
  let o0 = f32x4.splat(0), o1 = o0, o2 = o0, o3 = o0;
  let wp = wpan;
  for (let b: usize = 0; b < nb; b++) {
    const dx0 = v128.load32_splat(dp + (b << 2)), dx1 = v128.load32_splat(dp + (nb << 2) + (b << 2));
    const dx2 = v128.load32_splat(dp + (nb << 3) + (b << 2)), dx3 = v128.load32_splat(dp + 3 * (nb << 2) + (b << 2));
    const dm = dminAt<T>(wp);
    const sb = s0 + b * XK_SUMS * 4 + 96;
    let m0 = zero, m1 = zero, m2 = zero, m3 = zero;
    for (let k: usize = 0; k < 32; k += 8) {
      const m = v128.load8x8_u(wp + 48 + hdr<T>() + k);
      const j = k >> 1;
      m0 = i32x4.add(m0, i32x4.dot_i16x8_s(m, v128.load32_splat(sb + j)));
      m1 = i32x4.add(m1, i32x4.dot_i16x8_s(m, v128.load32_splat(sb + sRow + j)));
      m2 = i32x4.add(m2, i32x4.dot_i16x8_s(m, v128.load32_splat(sb + 2 * sRow + j)));
      m3 = i32x4.add(m3, i32x4.dot_i16x8_s(m, v128.load32_splat(sb + 3 * sRow + j)));
    }
    o0 = madd(f32x4.convert_i32x4_s(m0), f32x4.mul(dm, dx0), o0);
    o1 = madd(f32x4.convert_i32x4_s(m1), f32x4.mul(dm, dx1), o1);
    o2 = madd(f32x4.convert_i32x4_s(m2), f32x4.mul(dm, dx2), o2);
    o3 = madd(f32x4.convert_i32x4_s(m3), f32x4.mul(dm, dx3), o3);
    v128.store(U, zero);
    v128.store(U, zero, 16);
    v128.store(U, zero, 32);
    v128.store(U, zero, 48);
    const xb = x0 + b * XK_BYTES;
    for (let c: usize = 0; c < 4; c++) {
      // Low nibbles, then high: h a constant in each (as a loop variable it cost a branch per step).
      half4<T>(false, wp, QOFF, c, xb, xRow, f);
      half4<T>(true, wp, QOFF, c, xb, xRow, f);
    }
    const u0 = v128.load(U), u1 = v128.load(U, 16), u2 = v128.load(U, 32), u3 = v128.load(U, 48);
    const d = dAt<T>(wp);
    o0 = madd(f32x4.convert_i32x4_s(u0), f32x4.mul(d, dx0), o0);
    o1 = madd(f32x4.convert_i32x4_s(u1), f32x4.mul(d, dx1), o1);
    o2 = madd(f32x4.convert_i32x4_s(u2), f32x4.mul(d, dx2), o2);
    o3 = madd(f32x4.convert_i32x4_s(u3), f32x4.mul(d, dx3), o3);
    wp += PB;
  }
  storeTokens4(o, o0, o1, o2, o3, r, rows);
}

/**
 * out[t, r] = Σ_c w[r, c] x[t, c] for Q4_K or Q5_K weights w; x already quantized by quantize_q8_k. f (a constant,
 * relaxed build): the dots of decode and the prefill tiles as fused i32 dot-adds (see matmulQ45F).
 */
@inline export function matmulQ45<T>(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32, f: bool = false): void {
  const q5 = idof<T>() == idof<Q5>();
  const PB: usize = q5 ? 736 : 592; // panel-block bytes
  const QOFF: usize = 80 + hdr<T>(); // where the quants start
  const CS: usize = q5 ? 160 : 128; // bytes per 64-element chunk
  const nb = <usize>(cols >> 8);
  const xRow = nb * XK_BYTES;
  const sRow = nb * XK_SUMS * 4;
  const zero = i32x4.splat(0);
  for (let r0 = 0; r0 < rows; r0 += 4) {
    // Prefill on the relaxed build: two panels at a time while a second one exists (prefill-q45.ts).
    const pair = TILE8 && nTokens >= 4 && r0 + 4 < rows;
    const wpan0 = w + (<usize>r0 >> 2) * nb * PB;
    let t0 = 0;
    for (; t0 + 4 <= nTokens; t0 += 4) {
      const o = out + ((<usize>t0 * <usize>rows + <usize>r0) << 2);
      const x0 = xq + <usize>t0 * xRow, s0 = xs + <usize>t0 * sRow, d0 = xd + ((<usize>t0 * nb) << 2);
      if (pair) tile8<T>(o, wpan0, nb * PB, PB, QOFF, x0, s0, d0, xRow, sRow, nb, r0, rows, f);
      else tile4<T>(o, wpan0, PB, QOFF, x0, s0, d0, xRow, sRow, nb, r0, rows, f);
    }
    // Remaining tokens (all of decode) one at a time, per panel.
    const r1 = pair ? r0 + 8 : r0 + 4;
    for (let r = r0; r < r1 && r < rows; r += 4) {
      const wpan = w + (<usize>r >> 2) * nb * PB;
      for (let t = t0; t < nTokens; t++) {
        let wp = wpan;
        let xp = xq + <usize>t * xRow;
        let sp = xs + <usize>t * sRow;
        const dp = xd + ((<usize>t * nb) << 2);
        let o = f32x4.splat(0);
        for (let b: usize = 0; b < nb; b++) {
          let mins = zero;
          for (let k: usize = 0; k < 32; k += 8) mins = i32x4.add(mins, i32x4.dot_i16x8_s(v128.load8x8_u(wp + 48 + hdr<T>() + k), v128.load32_splat(sp + 96 + (k >> 1))));
          let sumi = zero;
          let qp = wp + QOFF;
          if (ASC_FEATURE_RELAXED_SIMD) {
            // The four chunks written out (Q5_K: the chunk index sets the fifth bits' shifts, then immediates), a store
            // after each keeping V8 from issuing the next chunk's loads before this one's arithmetic.
            sumi = chunkRelaxed(q5, qp, wp, xp, 0, f);
            v128.store(SINK, sumi);
            sumi = i32x4.add(sumi, chunkRelaxed(q5, qp + CS, wp, xp + 64, 1, f));
            v128.store(SINK, sumi);
            sumi = i32x4.add(sumi, chunkRelaxed(q5, qp + 2 * CS, wp, xp + 128, 2, f));
            v128.store(SINK, sumi);
            sumi = i32x4.add(sumi, chunkRelaxed(q5, qp + 3 * CS, wp, xp + 192, 3, f));
            xp += 256;
          }
          for (let c: usize = 0; c < 4; c++) {
            if (ASC_FEATURE_RELAXED_SIMD) break;
            const sc = wp + 16 + hdr<T>() + (c << 3);
            let xv = xp;
            for (let ph = 0; ph < phases<T>(); ph++) {
              let lo = zero, hi = zero;
              const xe = xv + (32 / phases<T>()) * XK_ELEM;
              let e0 = q5 ? runTop(qp, 0) : zero, e1 = q5 ? runTop(qp, 1) : zero;
              for (; xv < xe; xv += 4 * XK_ELEM) {
                // Bytes to i16 lanes first (x86 has no byte shifts); the masks work on either.
                const n0 = v128.load8x8_u(qp), n1 = v128.load8x8_u(qp, 8);
                lo = dotStep(lo, value<T>(n0, e0, false), value<T>(n1, e1, false), xv);
                if (q5) v128.store(SINK, lo); // orders the high half's loads after the low half (measured: Q5_K only)
                hi = dotStep(hi, value<T>(n0, e0, true), value<T>(n1, e1, true), xv + 64);
                qp += 16;
                if (q5) {
                  e0 = i16x8.shr_u(e0, 2);
                  e1 = i16x8.shr_u(e1, 2);
                }
              }
              if (q5) qp += 16; // past the run's E vector
              sumi = i32x4.add(sumi, i32x4.add(i32x4.mul(settle(lo), u8x4(sc)), i32x4.mul(settle(hi), u8x4(sc + 4))));
            }
            xp += 64 * XK_ELEM;
          }
          const dx = v128.load32_splat(dp + (b << 2));
          // Q4_K: both f16 rows of the header from one load, widened in four operations unless Inf/NaN (q4Scale)
          const h = q5 ? zero : v128.load(wp), sp16 = q5 ? false : f16Special(h);
          o = madd(f32x4.convert_i32x4_s(sumi), f32x4.mul(q5 ? dAt<T>(wp) : q4Scale(h, false, sp16), dx), o);
          o = madd(f32x4.convert_i32x4_s(mins), f32x4.mul(q5 ? dminAt<T>(wp) : q4Scale(h, true, sp16), dx), o);
          wp += PB;
          sp += XK_SUMS * 4;
        }
        storeRows4(out + ((<usize>t * <usize>rows + <usize>r) << 2), o, r, rows);
      }
    }
    r0 = r1 - 4;
  }
}

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q4_K weights w; x already quantized by quantize_q8_k into (xq, xd, xs). */
export function matmul_q4_k(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ45F<Q4>(out, w, xq, xd, xs, rows, cols, nTokens);
}

/**
 * matmulQ45 with the relaxed build's dots (decode and prefill tiles) as i32 dot-adds where the engine fuses them
 * (matmul-quant.ts dot_add_fused; the values are 4- or 5-bit, so the sums are exact and the bits the same either way).
 */
@inline export function matmulQ45F<T>(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  const q5 = idof<T>() == idof<Q5>();
  if (ASC_FEATURE_RELAXED_SIMD && dot_add_fused()) {
    if (q5) q5kFused(out, w, xq, xd, xs, rows, cols, nTokens);
    else q4kFused(out, w, xq, xd, xs, rows, cols, nTokens);
  } else if (ASC_FEATURE_RELAXED_SIMD && !q5 && nTokens == 1 && cols >> 8 <= XE_BLOCKS) {
    // Q4_K decode in the i16 form: panel pairs on expanded activations (decode-q45-i16.ts). Q5_K's pair measured no
    // faster than its one-panel decode there (its value vectors cost 3 operations each: arithmetic-bound).
    decodeQ4KI16(out, w, xq, xd, xs, rows, cols);
  } else matmulQ45<T>(out, w, xq, xd, xs, rows, cols, nTokens, false);
}

// The fused copies as functions of their own (their loops keep Binaryen from inlining them): one exported function
// holding both copies measured slower in Node, which runs only the i16 one.
function q4kFused(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  if (nTokens == 1) decodeQ45<Q4>(out, w, xq, xd, xs, rows, cols);
  else matmulQ45<Q4>(out, w, xq, xd, xs, rows, cols, nTokens, true);
}
function q5kFused(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  if (nTokens == 1) decodeQ45<Q5>(out, w, xq, xd, xs, rows, cols);
  else matmulQ45<Q5>(out, w, xq, xd, xs, rows, cols, nTokens, true);
}

