// ggml's repacked Q4_K matmul (CPU_REPACK's block_q4_Kx8, ggml_gemv_q4_K_8x8_q8_K, x86 AVX2 code) emulated bit for bit for one token.
import { f16ToF32 } from "../../quant/index";
import type { Q8KRow } from "./ggml-dot-kquant";

const f = Math.fround;
const sc = new Uint8Array(8);
const mn = new Uint8Array(8);

/**
 * fma(a, b, c) rounded once to f32 (_mm256_fmadd_ps) for f32 a, b, c: a·b is exact in a double (two 24-bit
 * significands), so a·b + c = s + e exactly (TwoSum). Rounding s to f32 is right unless s lies exactly halfway
 * between two floats and e ≠ 0: then e decides the direction (a plain Math.fround(a·b + c) would round the tie).
 */
export function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const v = s - p;
  const e = p - (s - v) + (c - v);
  const r = f(s);
  if (e === 0 || r === s) return r;
  const other = 2 * s - r; // the float on the other side of s, when s is their midpoint
  if (f(other) !== other) return r;
  // s is a tie: the exact value lies on e's side of it.
  return (e > 0) === (other > r) ? other : r;
}

/**
 * One weight row (plain Q4_K blocks at w[wOff], 144 bytes each) of a repacked matrix dotted with Q8_K activations,
 * as ggml_gemv_q4_K_8x8_q8_K computes that row's output lane. The rows' interleaving (8 rows per block_q4_Kx8) only
 * moves bytes; what decides the bits is:
 * - per 256-super-block two exact int32 sums: isum = Σ_j scale_j · Σ q4·q8 over sub-block j (maddubs pairs into
 *   i16 stay below 16·15·127 = 30480, so nothing saturates) and imin = Σ_j min_j · (bsum_2j + bsum_2j+1);
 * - acc = fma(f32(isum), d_w·d_x, acc) and accMin = fma(f32(imin), dmin_w·d_x, accMin) (_mm256_cvtepi32_ps rounds
 *   isum to f32 — it can pass 2^24 — and d_w·d_x is one f32 product);
 * - the output is acc − accMin, one f32 subtraction after the last super-block (not a per-block mins term as in
 *   ggml_vec_dot_q4_K_q8_K).
 */
export function dotQ4_KRepacked(w: Uint8Array, wOff: number, nBlocks: number, x: Q8KRow, xBlock: number): number {
  let acc = 0;
  let accMin = 0;
  for (let b = 0; b < nBlocks; b++) {
    const o = wOff + b * 144; // d, dmin (f16), scales[12], qs[128]
    const xo = (xBlock + b) * 256;
    const bo = (xBlock + b) * 16;
    let isum = 0;
    let imin = 0;
    for (let g = 0; g < 8; g++) {
      // get_scale_min_k4 without the pair allocation: 6-bit scale and min of 32-group g from the 12 packed bytes
      const so = o + 4;
      sc[g] = g < 4 ? w[so + g]! & 63 : (w[so + g + 4]! & 15) | ((w[so + g - 4]! >> 6) << 4);
      mn[g] = g < 4 ? w[so + g + 4]! & 63 : (w[so + g + 4]! >> 4) | ((w[so + g]! >> 6) << 4);
    }
    for (let j = 0; j < 4; j++) {
      // qs[32j + l]: low nibble is element 64j + l (sub-block 2j), high nibble element 64j + 32 + l (sub-block 2j + 1)
      let lo = 0;
      let hi = 0;
      for (let l = 0; l < 32; l++) {
        const q = w[o + 16 + 32 * j + l]!;
        lo += (q & 15) * x.q[xo + 64 * j + l]!;
        hi += (q >> 4) * x.q[xo + 64 * j + 32 + l]!;
      }
      isum += sc[2 * j]! * lo + sc[2 * j + 1]! * hi;
      imin += mn[2 * j]! * (x.bsums[bo + 4 * j]! + x.bsums[bo + 4 * j + 1]!) + mn[2 * j + 1]! * (x.bsums[bo + 4 * j + 2]! + x.bsums[bo + 4 * j + 3]!);
    }
    const dx = x.d[xBlock + b]!;
    acc = fmaF32(f(isum), f(f16ToF32(w[o]! | (w[o + 1]! << 8)) * dx), acc);
    accMin = fmaF32(f(imin), f(f16ToF32(w[o + 2]! | (w[o + 3]! << 8)) * dx), accMin);
  }
  return f(acc - accMin);
}
