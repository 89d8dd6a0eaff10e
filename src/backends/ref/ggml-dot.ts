// ggml's x86 (AVX2/AVX-512 build) Q8_0 dot product emulated bit for bit: the same integer lanes, f32 FMAs and final horizontal sum.
import { f16ToF32, f32ToF16 } from "../../quant/index";
import { GgmlType } from "../../gguf/ggml-types";
import { reduceAdd16 } from "./ggml-ops";
import { dotQ5_K, dotQ6_K, quantizeQ8_K } from "./ggml-dot-kquant";
import { dotBF16 } from "./ggml-dot-bf16";
import { dotQ4_KRepacked } from "./ggml-dot-q4k-repack";

const f = Math.fround;

/** Quantized Q8_0 activations of one or more rows: q (int8 values), d (the f16 scale as f32) per 32-block. */
export interface Q8Row {
  q: Int8Array;
  d: Float32Array;
  /** Q8_1's s = f16(d · Σq) per block, d the unrounded f32 scale (used by Q4_1/Q5_1 dots). */
  s: Float32Array;
}

/**
 * ggml_vec_dot_q8_0_q8_0 (and llamafile's tinyBLAS_Q0_AVX, the same arithmetic): eight f32 accumulator lanes; per
 * block, lane j gets fma(d_w·d_x, Σ of the int products of elements 4j..4j+3, lane j); then hsum_float_8:
 * (l4+l0, l5+l1, l6+l2, l7+l3) → (a0+a2) + (a1+a3). Math.fround(a·b + c) is the FMA here: a·b is exact in a double
 * (24-bit d times a ≤ 17-bit integer), so only the final rounding remains (a double-rounding miss needs a 2^-29 tie).
 */
export function dotQ8_0(w: Uint8Array, wOff: number, nBlocks: number, x: Q8Row, xBlock: number): number {
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  const wq = new Int8Array(w.buffer, w.byteOffset, w.byteLength);
  for (let b = 0; b < nBlocks; b++) {
    const o = wOff + b * 34;
    const d = f(f16ToF32(w[o]! | (w[o + 1]! << 8)) * x.d[xBlock + b]!);
    const qo = o + 2;
    const xo = (xBlock + b) * 32;
    const lane = (j: number) => {
      const k = j * 4;
      return wq[qo + k]! * x.q[xo + k]! + wq[qo + k + 1]! * x.q[xo + k + 1]! + wq[qo + k + 2]! * x.q[xo + k + 2]! + wq[qo + k + 3]! * x.q[xo + k + 3]!;
    };
    a0 = f(d * lane(0) + a0);
    a1 = f(d * lane(1) + a1);
    a2 = f(d * lane(2) + a2);
    a3 = f(d * lane(3) + a3);
    a4 = f(d * lane(4) + a4);
    a5 = f(d * lane(5) + a5);
    a6 = f(d * lane(6) + a6);
    a7 = f(d * lane(7) + a7);
  }
  const r0 = f(a4 + a0), r1 = f(a5 + a1), r2 = f(a6 + a2), r3 = f(a7 + a3);
  return f(f(r0 + r2) + f(r1 + r3));
}

/** Round half to even (ggml's _mm256_round_ps(_MM_ROUND_NEAREST) and nearest_int). */
export function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** quantize_row_q8_0 as ggml's x86 SIMD build (see activation-rounding.ts) for nTokens rows of n floats (n % 32 = 0). */
export function quantizeQ8_0(x: Float32Array, n: number, nTokens: number): Q8Row {
  const total = n * nTokens;
  const q = new Int8Array(total);
  const d = new Float32Array(total >> 5);
  const s = new Float32Array(total >> 5);
  for (let b = 0; b < total; b += 32) {
    let amax = 0;
    for (let i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(x[i]!));
    const id = amax !== 0 ? f(127 / amax) : 0;
    const d32 = f(amax / 127);
    d[b >> 5] = f16ToF32(f32ToF16(d32));
    let sum = 0;
    for (let i = b; i < b + 32; i++) sum += q[i] = roundEven(f(x[i]! * id));
    s[b >> 5] = f16ToF32(f32ToF16(f(d32 * sum)));
  }
  return { q, d, s };
}

/**
 * An F16 weight row dotted with f16-rounded activations (xh, already exact f32 values of halves) as ggml's
 * ggml_vec_dot_f16 (AVX-512) does it for one token: four 16-lane FMA accumulators per 64, folded (0+2, 1+3, 0+1)
 * and reduce_add'ed, then the tail in f64, the result rounded to f32. w holds the row's f16 values as f32.
 * (Measured against llama.cpp's eval callback: its single-token F16 matmuls take this path, not llamafile's.)
 */
export function dotF16(w: Float32Array, xh: Float32Array, xo: number, n: number, lanes: Float32Array): number {
  const np = n & ~63;
  let sum = 0;
  if (np > 0) {
    lanes.fill(0, 0, 64);
    for (let l = 0; l < np; l += 64) for (let i = 0; i < 64; i++) lanes[i] = f(w[l + i]! * xh[xo + l + i]! + lanes[i]!);
    for (let i = 0; i < 16; i++) {
      lanes[i] = f(lanes[i]! + lanes[i + 32]!);
      lanes[i + 16] = f(lanes[i + 16]! + lanes[i + 48]!);
    }
    for (let i = 0; i < 16; i++) lanes[i] = f(lanes[i]! + lanes[i + 16]!);
    sum = reduceAdd16(lanes, 0);
  }
  for (let i = np; i < n; i++) sum += w[i]! * xh[xo + i]!; // products of halves are exact
  return f(sum);
}

/** The 32 signed values (q − 8) of the Q4_0 block at w[o] (after its f16 d), into out. */
function q4_0Values(w: Uint8Array, o: number, out: Int8Array): void {
  for (let j = 0; j < 16; j++) {
    const byte = w[o + 2 + j]!;
    out[j] = (byte & 15) - 8;
    out[j + 16] = (byte >> 4) - 8;
  }
}

const q4 = new Int8Array(32);

/**
 * A Q4_0 row dotted with Q8_0 activations as ggml's x86 build does it. Matrices with a multiple of 8 rows are
 * repacked (q4_0_8x8) and go through gemv_q4_b32_8x8_q8_0: one lane per row, per block the exact integer dot of all
 * 32 values, then acc = fma(isum, d_w·d_x, acc) in block order. Other matrices use ggml_vec_dot_q4_0_q8_0: the
 * eight lanes and horizontal sum of dotQ8_0.
 */
export function dotQ4_0(w: Uint8Array, wOff: number, nBlocks: number, x: Q8Row, xBlock: number, repacked: boolean): number {
  if (repacked) {
    let acc = 0;
    for (let b = 0; b < nBlocks; b++) {
      const o = wOff + b * 18;
      q4_0Values(w, o, q4);
      const xo = (xBlock + b) * 32;
      let isum = 0;
      for (let i = 0; i < 32; i++) isum += q4[i]! * x.q[xo + i]!;
      acc = f(isum * f(f16ToF32(w[o]! | (w[o + 1]! << 8)) * x.d[xBlock + b]!) + acc);
    }
    return acc;
  }
  const lanes = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let b = 0; b < nBlocks; b++) {
    const o = wOff + b * 18;
    q4_0Values(w, o, q4);
    const d = f(f16ToF32(w[o]! | (w[o + 1]! << 8)) * x.d[xBlock + b]!);
    const xo = (xBlock + b) * 32;
    for (let j = 0; j < 8; j++) {
      const k = j * 4;
      const s = q4[k]! * x.q[xo + k]! + q4[k + 1]! * x.q[xo + k + 1]! + q4[k + 2]! * x.q[xo + k + 2]! + q4[k + 3]! * x.q[xo + k + 3]!;
      lanes[j] = f(d * s + lanes[j]!);
    }
  }
  const r0 = f(lanes[4]! + lanes[0]!), r1 = f(lanes[5]! + lanes[1]!), r2 = f(lanes[6]! + lanes[2]!), r3 = f(lanes[7]! + lanes[3]!);
  return f(f(r0 + r2) + f(r1 + r3));
}

/** The matrix as matmulGgml needs it (the ref backend's RefMatrix). */
interface WeightsLike {
  readonly type: number;
  readonly rows: number;
  readonly cols: number;
  readonly bytes: Uint8Array;
  readonly rowBytes: number;
}

/**
 * out[t·rows + r] = row r · token t exactly as ggml's single-token x86 (AVX-512) path for the legacy quants, Q4_K
 * (repacked), Q5_K, Q6_K, F16 and BF16 weights; false (nothing written) for other types. `row(r)` gives a dequantized
 * row, `roundedInput()` the activations rounded to f16 or bf16 as the weight type needs.
 */
export function matmulGgml(out: Float32Array, w: WeightsLike, x: Float32Array, nTokens: number, row: (r: number) => Float32Array, roundedInput: () => Float32Array): boolean {
  const { type, rows, cols } = w;
  if ((type === GgmlType.Q8_0 || type === GgmlType.Q4_0 || LEGACY[type]) && cols % 32 === 0) {
    const xq = quantizeQ8_0(x, cols, nTokens);
    const nb = cols >> 5;
    const repacked = rows % 8 === 0; // ggml's CPU_REPACK takes Q4_0 matrices whose row count is a multiple of 8
    for (let r = 0; r < rows; r++) {
      for (let t = 0; t < nTokens; t++) {
        const wo = r * w.rowBytes;
        out[t * rows + r] =
          type === GgmlType.Q8_0 ? dotQ8_0(w.bytes, wo, nb, xq, t * nb) : type === GgmlType.Q4_0 ? dotQ4_0(w.bytes, wo, nb, xq, t * nb, repacked) : dotLegacy(type, w.bytes, wo, nb, xq, t * nb);
      }
    }
    return true;
  }
  // Q4_K: ggml's CPU_REPACK takes matrices whose row count is a multiple of 8 (block_q4_Kx8; the others would use
  // ggml_vec_dot_q4_K_q8_K, not emulated: they keep the dequantized path below). Every token is computed as a
  // single-token decode (gemv after quantize_row_q8_K_ref); llama.cpp's batches of ≥ 4 tokens go through
  // ggml_quantize_mat_q8_K_4x8 (which, where +amax and −amax both occur, picks the other sign) and the 8×8 gemm.
  const q4kRepacked = type === GgmlType.Q4_K && rows % 8 === 0;
  if ((type === GgmlType.Q6_K || type === GgmlType.Q5_K || q4kRepacked) && cols % 256 === 0) {
    const xq = quantizeQ8_K(x, cols, nTokens);
    const nb = cols >> 8;
    const dot = type === GgmlType.Q6_K ? dotQ6_K : type === GgmlType.Q5_K ? dotQ5_K : dotQ4_KRepacked;
    for (let r = 0; r < rows; r++) for (let t = 0; t < nTokens; t++) out[t * rows + r] = dot(w.bytes, r * w.rowBytes, nb, xq, t * nb);
    return true;
  }
  if (type === GgmlType.F16 || type === GgmlType.BF16) {
    const xs = roundedInput();
    const lanes = new Float32Array(64);
    const dot = type === GgmlType.F16 ? dotF16 : dotBF16;
    for (let r = 0; r < rows; r++) {
      const wr = row(r);
      for (let t = 0; t < nTokens; t++) out[t * rows + r] = dot(wr, xs, t * cols, cols, lanes);
    }
    return true;
  }
  return false;
}

/** Block geometry of the legacy types handled by dotLegacy: bytes per block and where qh / qs start. */
const LEGACY: Record<number, { bytes: number; qh: number; qs: number; min: boolean; bias: number }> = {
  [GgmlType.Q5_0]: { bytes: 22, qh: 2, qs: 6, min: false, bias: 16 },
  [GgmlType.Q4_1]: { bytes: 20, qh: -1, qs: 4, min: true, bias: 0 },
  [GgmlType.Q5_1]: { bytes: 24, qh: 4, qs: 8, min: true, bias: 0 },
};

/**
 * Q5_0 · Q8_0, Q4_1 · Q8_1 and Q5_1 · Q8_1 as ggml's x86 vec_dot: the eight lanes of dotQ8_0 over the block's
 * integer values; the _1 types add Σ m_w·s_x as a separate f32 sum after the horizontal sum.
 */
export function dotLegacy(type: number, w: Uint8Array, wOff: number, nBlocks: number, x: Q8Row, xBlock: number): number {
  const g = LEGACY[type]!;
  const lanes = [0, 0, 0, 0, 0, 0, 0, 0];
  let summs = 0;
  for (let b = 0; b < nBlocks; b++) {
    const o = wOff + b * g.bytes;
    const qh = g.qh < 0 ? 0 : (w[o + g.qh]! | (w[o + g.qh + 1]! << 8) | (w[o + g.qh + 2]! << 16) | (w[o + g.qh + 3]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const byte = w[o + g.qs + j]!;
      q4[j] = ((byte & 15) | (g.qh < 0 ? 0 : ((qh >>> j) & 1) << 4)) - g.bias;
      q4[j + 16] = ((byte >> 4) | (g.qh < 0 ? 0 : ((qh >>> (j + 16)) & 1) << 4)) - g.bias;
    }
    if (g.min) summs = f(summs + f(f16ToF32(w[o + 2]! | (w[o + 3]! << 8)) * x.s[xBlock + b]!));
    const d = f(f16ToF32(w[o]! | (w[o + 1]! << 8)) * x.d[xBlock + b]!);
    const xo = (xBlock + b) * 32;
    for (let j = 0; j < 8; j++) {
      const k = j * 4;
      const sum = q4[k]! * x.q[xo + k]! + q4[k + 1]! * x.q[xo + k + 1]! + q4[k + 2]! * x.q[xo + k + 2]! + q4[k + 3]! * x.q[xo + k + 3]!;
      lanes[j] = f(d * sum + lanes[j]!);
    }
  }
  const r0 = f(lanes[4]! + lanes[0]!), r1 = f(lanes[5]! + lanes[1]!), r2 = f(lanes[6]! + lanes[2]!), r3 = f(lanes[7]! + lanes[3]!);
  return f(f(f(r0 + r2) + f(r1 + r3)) + summs);
}

