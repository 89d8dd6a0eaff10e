// Relaxed Q4_0 prefill tiles on token-interleaved activations (quantize_q8_0_tiles): one pointer per tile, immediate offsets.
import { madd } from "./common";
import { dot_add_fused } from "./dot-probe";
import { XB } from "./block32-steps";
import { matmul_q4_0 } from "./matmul-quant";
import { storeRows } from "./prefill-block32";
import { tile8 } from "./prefill-q4t-fused";
import { TILE_BLOCK } from "./quantize-act";

// The same tiles as matmul-quant.ts (Node's 4 rows × 4 tokens, i16 steps) and prefill-block32.ts (8 × 4, fused
// dot-adds), the same integer steps and the same float steps per row and token in the same order, so the results are
// the same bits. What changes is the activations' layout: with each token its own row, a tile kept four quant
// pointers stepping through the block and computed four d and four −Σq addresses per block (about 35 scalar
// instructions per 4-token block in V8's code); here a tile-block holds the four tokens' quants, d and starts
// together (quantize-act.ts TILE_BLOCK), so each is a load at an immediate offset from one pointer. Node's i16 form
// also takes two panels per tile (tile8u) where a pass has two tiles or more: their nibbles unpacked once per pass.
// workerd's fused two-panel tile (tile8) is in prefill-q4t-fused.ts.

/** The eight (panel, token) f32 output sums of the two-panel tile: panel A's tokens 0-3, then panel B's. */
const O: usize = memory.data(128, 16);

/** acc + the four rows' dots of prepared nibbles p against broadcast i8 activations x (f: a fused i32 dot-add). */
@inline function dot(acc: v128, x: v128, p: v128, f: bool): v128 {
  if (f) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, p, acc);
  return i16x8.add(acc, i16x8.relaxed_dot_i8x16_i7x16_s(x, p));
}

/**
 * The four tokens' block starts at tile-block xb: −8Σq in i32 lanes (f), else −4Σq in i16 lanes (block32-steps.ts
 * init). Offsets are written as immediates: V8 cannot fold an i32 add into the address (it could wrap).
 */
@inline function start0(xb: usize, f: bool): v128 {
  return f ? v128.load32_splat(xb, 144) : v128.load16_splat(xb, 160);
}
@inline function start1(xb: usize, f: bool): v128 {
  return f ? v128.load32_splat(xb, 148) : v128.load16_splat(xb, 162);
}
@inline function start2(xb: usize, f: bool): v128 {
  return f ? v128.load32_splat(xb, 152) : v128.load16_splat(xb, 164);
}
@inline function start3(xb: usize, f: bool): v128 {
  return f ? v128.load32_splat(xb, 156) : v128.load16_splat(xb, 166);
}

/** The four i32 row sums of an accumulator: i16 lane pairs summed by a dot with ones (f: already i32). */
@inline function finish(acc: v128, ones: v128, f: bool): v128 {
  return f ? acc : i32x4.dot_i16x8_s(acc, ones);
}

/** o + the row sums a scaled by the panel's scales dw times the token's d (broadcast dx): matmul-quant.ts's float step. */
@inline function scaled(o: v128, a: v128, dw: v128, dx: v128): v128 {
  return madd(f32x4.convert_i32x4_s(a), f32x4.mul(dw, dx), o);
}

/**
 * One 4-row panel (quants at wp, f32 scales at dp) by one 4-token tile (tile-blocks from xt) into out (token 0's row
 * r); rows r.. may be partial. The block's four weight vectors' low nibbles (elements 4j..), then their high ones
 * (16 + 4j..), each vector loaded and unpacked once per pass: V8 issues a loop body's loads first, so one pass over
 * both nibbles kept 8 broadcasts live and spilled the output sums and the mask (0.95 of the time in Node with two).
 */
@inline function tile4(out: usize, wp: usize, dp: usize, xt: usize, nb: i32, r: i32, rows: i32, f: bool): void {
  const zero = f32x4.splat(0);
  const ones = i16x8.splat(1);
  const m = i8x16.splat(0x0f);
  let o0 = zero, o1 = zero, o2 = zero, o3 = zero;
  let xb = xt;
  for (let b = 0; b < nb; b++) {
    let a0 = start0(xb, f), a1 = start1(xb, f), a2 = start2(xb, f), a3 = start3(xb, f);
    // Group-major quants (quantize-act.ts TILE_BLOCK): token u's group g at xb + 16g + 4u.
    const xe = xb + 64;
    for (let xp = xb; xp < xe; xp += 16) {
      const p = v128.and(v128.load(wp), m);
      a0 = dot(a0, v128.load32_splat(xp), p, f);
      a1 = dot(a1, v128.load32_splat(xp, 4), p, f);
      a2 = dot(a2, v128.load32_splat(xp, 8), p, f);
      a3 = dot(a3, v128.load32_splat(xp, 12), p, f);
      wp += 16;
    }
    wp -= 64;
    // The high nibbles' quants (groups 4-7) at the low pass's offsets: V8 keeps one register per distinct offset.
    for (let xp = xe; xp < xe + 64; xp += 16) {
      const p = v128.and(i16x8.shr_u(v128.load(wp), 4), m); // x86 has no byte shift: i16 shift, then mask
      a0 = dot(a0, v128.load32_splat(xp), p, f);
      a1 = dot(a1, v128.load32_splat(xp, 4), p, f);
      a2 = dot(a2, v128.load32_splat(xp, 8), p, f);
      a3 = dot(a3, v128.load32_splat(xp, 12), p, f);
      wp += 16;
    }
    const dw = v128.load(dp);
    o0 = scaled(o0, finish(a0, ones, f), dw, v128.load32_splat(xb, 128));
    o1 = scaled(o1, finish(a1, ones, f), dw, v128.load32_splat(xb, 132));
    o2 = scaled(o2, finish(a2, ones, f), dw, v128.load32_splat(xb, 136));
    o3 = scaled(o3, finish(a3, ones, f), dw, v128.load32_splat(xb, 140));
    dp += 16;
    xb += TILE_BLOCK;
  }
  const oRow = <usize>rows << 2;
  storeRows(out, o0, r, rows);
  storeRows(out + oRow, o1, r, rows);
  storeRows(out + 2 * oRow, o2, r, rows);
  storeRows(out + 3 * oRow, o3, r, rows);
}

/** O slot i += row sums a scaled by dw times a token's d (dx): the float step, its sum kept in O. */
@inline function addO(i: usize, a: v128, dw: v128, dx: v128): void {
  v128.store(O + (i << 4), scaled(v128.load(O + (i << 4)), a, dw, dx));
}

/**
 * Two panels' nibbles unpacked for Node's i16 tiles (tile8u): per block its four weight vectors' low nibbles, then
 * their high ones (128 bytes); panel B's blocks follow panel A's. Rows of up to UNPACKED_COLS columns.
 */
const UNPACKED_COLS: i32 = 2048;
const U: usize = memory.data(ASC_FEATURE_RELAXED_SIMD ? UNPACKED_COLS * 8 : 16, 16); // relaxed only: SIMD128 runs matmul_q4_0

/** The panel at wp (nb blocks) into u: tile4's and, shift and and of each weight vector, once per pass. */
@inline function unpackPanel(u: usize, wp: usize, nb: i32): void {
  const m = i8x16.splat(0x0f);
  const end = wp + (<usize>nb << 6);
  for (; wp < end; wp += 64) {
    for (let j: usize = 0; j < 64; j += 16) {
      const w = v128.load(wp + j);
      v128.store(u + j, v128.and(w, m));
      v128.store(u + j, v128.and(i16x8.shr_u(w, 4), m), 64);
    }
    u += 128;
  }
}

/**
 * Two 4-row panels unpacked in U (scales at da and db; rows r + 4.. may be partial) by one 4-token tile in the i16
 * form: tile4's integer and float steps per row and token, so the same bits. Each broadcast serves both panels and
 * the operands are plain loads, so no nibble mask is live and V8 keeps the eight accumulators in registers.
 */
@inline function tile8u(out: usize, da: usize, db: usize, xt: usize, nb: i32, r: i32, rows: i32): void {
  const zero = f32x4.splat(0);
  const ones = i16x8.splat(1);
  for (let i: usize = 0; i < 8; i++) v128.store(O + (i << 4), zero);
  let ua = U, xb = xt;
  const PU = <usize>nb << 7;
  for (let b = 0; b < nb; b++) {
    let a0 = start0(xb, false), a1 = start1(xb, false), a2 = start2(xb, false), a3 = start3(xb, false);
    let b0 = a0, b1 = a1, b2 = a2, b3 = a3;
    // Groups 0-3 (the low nibbles), then 4-7 (the high ones): U's eight vectors in order; token u's at xp + 4u.
    const xe = xb + 128;
    for (let xp = xb; xp < xe; xp += 16) {
      const wA = v128.load(ua), wB = v128.load(ua + PU);
      let x = v128.load32_splat(xp);
      a0 = dot(a0, x, wA, false);
      b0 = dot(b0, x, wB, false);
      x = v128.load32_splat(xp, 4);
      a1 = dot(a1, x, wA, false);
      b1 = dot(b1, x, wB, false);
      x = v128.load32_splat(xp, 8);
      a2 = dot(a2, x, wA, false);
      b2 = dot(b2, x, wB, false);
      x = v128.load32_splat(xp, 12);
      a3 = dot(a3, x, wA, false);
      b3 = dot(b3, x, wB, false);
      ua += 16;
    }
    const dwa = v128.load(da + (<usize>b << 4));
    const dwb = v128.load(db + (<usize>b << 4));
    addO(0, finish(a0, ones, false), dwa, v128.load32_splat(xb, 128));
    addO(1, finish(a1, ones, false), dwa, v128.load32_splat(xb, 132));
    addO(2, finish(a2, ones, false), dwa, v128.load32_splat(xb, 136));
    addO(3, finish(a3, ones, false), dwa, v128.load32_splat(xb, 140));
    addO(4, finish(b0, ones, false), dwb, v128.load32_splat(xb, 128));
    addO(5, finish(b1, ones, false), dwb, v128.load32_splat(xb, 132));
    addO(6, finish(b2, ones, false), dwb, v128.load32_splat(xb, 136));
    addO(7, finish(b3, ones, false), dwb, v128.load32_splat(xb, 140));
    xb += TILE_BLOCK;
  }
  storeO(out, r, rows);
}

/** The eight O sums into out (token 0's row; rows r.. and r + 4.., the second panel's maybe partial). */
@inline function storeO(out: usize, r: i32, rows: i32): void {
  const oRow = <usize>rows << 2;
  const o = out + <usize>r * 4;
  for (let t: usize = 0; t < 4; t++) {
    v128.store(o + t * oRow, v128.load(O + (t << 4)));
    storeRows(o + t * oRow + 16, v128.load(O + ((t + 4) << 4)), r + 4, rows);
  }
}

/** Every full 4-token tile of every panel: f as matmul_q4_0 picks it (two panels per pass: fused, or i16 unpacked). */
@inline function tiles(out: usize, wq: usize, wd: usize, xq: usize, rows: i32, nb: i32, nt4: i32, f: bool): void {
  const PB = <usize>nb * 64; // weight bytes per panel
  const SB = <usize>nb * 16; // scale bytes per panel
  const tRow = <usize>nb * TILE_BLOCK; // activation bytes per tile
  const oTile = <usize>rows << 4; // output bytes per tile (4 tokens)
  // Two panels per pass: fused dot-adds, or the i16 form on unpacked panels where they fit U and at least two tiles
  // share each unpack (with one, the unpack costs more than it saves: 1.08 of tile4's time at 4 tokens, 0.97 at 8).
  const two = f || (nb <= UNPACKED_COLS >> 5 && nt4 >= 8);
  for (let r = 0; r < rows; r += 4) {
    const wpan = wq + (<usize>r >> 2) * PB;
    const dpan = wd + (<usize>r >> 2) * SB;
    if (f && (r & 4) == 0 && r + 4 < rows) {
      for (let t = 0; t < nt4; t += 4) tile8(out + (<usize>t >> 2) * oTile, wpan, wpan + PB, dpan, dpan + SB, xq + (<usize>t >> 2) * tRow, nb, r, rows);
    } else if (two && (r & 4) == 0 && r + 4 < rows) {
      unpackPanel(U, wpan, nb);
      unpackPanel(U + (<usize>nb << 7), wpan + PB, nb);
      for (let t = 0; t < nt4; t += 4) tile8u(out + (<usize>t >> 2) * oTile, dpan, dpan + SB, xq + (<usize>t >> 2) * tRow, nb, r, rows);
    } else if (!two || (r & 4) == 0) {
      for (let t = 0; t < nt4; t += 4) tile4(out + (<usize>t >> 2) * oTile + (<usize>r << 2), wpan, dpan, xq + (<usize>t >> 2) * tRow, nb, r, rows, f);
    }
  }
}

/**
 * matmul_q4_0 (the same bits) on activations from quantize_q8_0_tiles (same pointers, cols and nTokens): the full
 * 4-token tiles from the interleaved layout, the tokens past them by matmul_q4_0 from their rows. SIMD128: matmul_q4_0.
 */
export function matmul_q4_0_tiles(out: usize, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  const nt4 = ASC_FEATURE_RELAXED_SIMD ? nTokens & ~3 : 0;
  const nb = cols >> 5;
  if (ASC_FEATURE_RELAXED_SIMD && nt4 > 0) {
    if (dot_add_fused()) tiles(out, wq, wd, xq, rows, nb, nt4, true);
    else tiles(out, wq, wd, xq, rows, nb, nt4, false);
  }
  if (nt4 < nTokens) {
    const skip = <usize>nt4 * <usize>nb;
    matmul_q4_0(out + <usize>nt4 * (<usize>rows << 2), wq, wd, xq + skip * XB, xd + (skip << 2), xs + (skip << 2), rows, cols, nTokens - nt4);
  }
}
