// ggml's x86 K-quant dot products (Q5_K, Q6_K against Q8_K activations) emulated bit for bit, as in ggml-dot.ts.
import { f16ToF32 } from "../../quant/index";
import { roundEven } from "./ggml-dot";

const f = Math.fround;

/** Q8_K activations (quantize_row_q8_K_ref): q per element, d per 256-block, and the 16-element sums. */
export interface Q8KRow {
  q: Int8Array;
  d: Float32Array;
  bsums: Int32Array;
}

/** quantize_row_q8_K_ref for nTokens rows of n floats (n % 256 = 0); see activation-rounding.ts. */
export function quantizeQ8_K(x: Float32Array, n: number, nTokens: number): Q8KRow {
  const total = n * nTokens;
  const q = new Int8Array(total);
  const d = new Float32Array(total >> 8);
  const bsums = new Int32Array(total >> 4);
  for (let b = 0; b < total; b += 256) {
    let max = 0;
    let amax = 0;
    for (let i = b; i < b + 256; i++) {
      const a = Math.abs(x[i]!);
      if (a > amax) [amax, max] = [a, x[i]!];
    }
    if (amax === 0) continue;
    const iscale = f(-127 / max);
    for (let i = b; i < b + 256; i++) q[i] = Math.min(127, roundEven(f(iscale * x[i]!)));
    for (let i = b; i < b + 256; i++) bsums[i >> 4]! += q[i]!;
    d[b >> 8] = f(1 / iscale);
  }
  return { q, d, bsums };
}

const q6 = new Uint8Array(256);

/**
 * ggml_vec_dot_q6_K_q8_K (AVX2 code, also in the AVX-512 builds): per 256-block an exact int32 in each of 8 lanes —
 * lane L sums scale·q6·q8 over elements 4L..4L+3 of every 32-element group, minus 32·(bsum·scale) of sub-blocks 2L and
 * 2L+1 (the −32 offset is taken off per 32-group) — then acc_L = fma(d_x·d_w, lane_L, acc_L), and hsum_float_8.
 */
export function dotQ6_K(w: Uint8Array, wOff: number, nBlocks: number, x: Q8KRow, xBlock: number): number {
  const sc = new Int8Array(w.buffer, w.byteOffset, w.byteLength);
  const lanes = [0, 0, 0, 0, 0, 0, 0, 0];
  const li = new Int32Array(8);
  for (let b = 0; b < nBlocks; b++) {
    const o = wOff + b * 210; // ql[128], qh[64], scales[16] (int8), d (f16)
    for (let half = 0; half < 2; half++) {
      const ql = o + half * 64;
      const qh = o + 128 + half * 32;
      for (let l = 0; l < 32; l++) {
        const h = w[qh + l]!;
        q6[half * 128 + l] = (w[ql + l]! & 15) | ((h & 3) << 4);
        q6[half * 128 + l + 32] = (w[ql + l + 32]! & 15) | (((h >> 2) & 3) << 4);
        q6[half * 128 + l + 64] = (w[ql + l]! >> 4) | (((h >> 4) & 3) << 4);
        q6[half * 128 + l + 96] = (w[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4);
      }
    }
    const so = o + 192;
    const xo = (xBlock + b) * 256;
    const bo = (xBlock + b) * 16;
    li.fill(0);
    for (let g = 0; g < 8; g++) {
      for (let lane = 0; lane < 8; lane++) {
        const e = g * 32 + lane * 4;
        const s = sc[so + 2 * g + (lane >= 4 ? 1 : 0)]!;
        li[lane]! += s * (q6[e]! * x.q[xo + e]! + q6[e + 1]! * x.q[xo + e + 1]! + q6[e + 2]! * x.q[xo + e + 2]! + q6[e + 3]! * x.q[xo + e + 3]!);
      }
    }
    for (let lane = 0; lane < 8; lane++) li[lane]! -= 32 * (x.bsums[bo + 2 * lane]! * sc[so + 2 * lane]! + x.bsums[bo + 2 * lane + 1]! * sc[so + 2 * lane + 1]!);
    const d = f(x.d[xBlock + b]! * f16ToF32(w[o + 208]! | (w[o + 209]! << 8)));
    for (let lane = 0; lane < 8; lane++) lanes[lane] = f(d * li[lane]! + lanes[lane]!);
  }
  const r0 = f(lanes[4]! + lanes[0]!), r1 = f(lanes[5]! + lanes[1]!), r2 = f(lanes[6]! + lanes[2]!), r3 = f(lanes[7]! + lanes[3]!);
  return f(f(r0 + r2) + f(r1 + r3));
}

/** get_scale_min_k4: the 6-bit scale and min of 32-group j from a K-quant's 12 packed bytes at w[o]. */
export function scaleMinK4(w: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [w[o + j]! & 63, w[o + j + 4]! & 63];
  return [(w[o + j + 4]! & 15) | ((w[o + j - 4]! >> 6) << 4), (w[o + j + 4]! >> 4) | ((w[o + j]! >> 6) << 4)];
}

const q5 = new Uint8Array(256);

/**
 * ggml_vec_dot_q5_K_q8_K (AVX2 code): 8 int32 lanes per 256-block, lane L = Σ over the eight 32-groups of
 * scale·q5·q8 for elements 4L..4L+3; acc_L = fma(d_x·d_w, lane_L, acc_L); the mins go to a separate f32 sum
 * summs += (−d_x·dmin_w)·Σ min·(bsums of the group); result hsum_float_8(acc) + summs.
 */
export function dotQ5_K(w: Uint8Array, wOff: number, nBlocks: number, x: Q8KRow, xBlock: number): number {
  const lanes = [0, 0, 0, 0, 0, 0, 0, 0];
  const li = new Int32Array(8);
  let summs = 0;
  for (let b = 0; b < nBlocks; b++) {
    const o = wOff + b * 176; // d, dmin (f16), scales[12], qh[32], qs[128]
    for (let j = 0; j < 4; j++) {
      for (let l = 0; l < 32; l++) {
        const ql = w[o + 48 + 32 * j + l]!;
        const qh = w[o + 16 + l]!;
        q5[64 * j + l] = (ql & 15) | (((qh >> (2 * j)) & 1) << 4);
        q5[64 * j + 32 + l] = (ql >> 4) | (((qh >> (2 * j + 1)) & 1) << 4);
      }
    }
    const xo = (xBlock + b) * 256;
    const bo = (xBlock + b) * 16;
    li.fill(0);
    let mins = 0;
    for (let g = 0; g < 8; g++) {
      const [sc, m] = scaleMinK4(w, o + 4, g);
      mins += m * (x.bsums[bo + 2 * g]! + x.bsums[bo + 2 * g + 1]!);
      for (let lane = 0; lane < 8; lane++) {
        const e = g * 32 + lane * 4;
        li[lane]! += sc * (q5[e]! * x.q[xo + e]! + q5[e + 1]! * x.q[xo + e + 1]! + q5[e + 2]! * x.q[xo + e + 2]! + q5[e + 3]! * x.q[xo + e + 3]!);
      }
    }
    const dx = x.d[xBlock + b]!;
    const d = f(dx * f16ToF32(w[o]! | (w[o + 1]! << 8)));
    const dmin = f(-dx * f16ToF32(w[o + 2]! | (w[o + 3]! << 8)));
    summs = f(dmin * mins + summs); // contracted to an FMA by the compiler (measured)
    for (let lane = 0; lane < 8; lane++) lanes[lane] = f(d * li[lane]! + lanes[lane]!);
  }
  const r0 = f(lanes[4]! + lanes[0]!), r1 = f(lanes[5]! + lanes[1]!), r2 = f(lanes[6]! + lanes[2]!), r3 = f(lanes[7]! + lanes[3]!);
  return f(f(f(r0 + r2) + f(r1 + r3)) + summs);
}
