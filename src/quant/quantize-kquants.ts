// K-quant encoders equal to ggml's reference quantizers (quantize_row_qN_K_ref, what llama.cpp uses without an imatrix).
//
// Layouts as src/quant/kquants.ts decodes them. Every float operation is float32 (see kquant-fit.ts), f16 fields are
// rounded to nearest even (ggml's FP32→FP16), and uint8/int8 stores truncate as C's do.
import { F16_TO_F32, f32ToF16 } from "./f16";
import { GROUP_MAX_EPS, f, fitQ3, fitScaleMin, fitSymmetric, nearestInt } from "./kquant-fit";

const QK = 256;

function checkSuperBlocks(name: string, n: number): void {
  if (n % QK !== 0) throw new Error(`cannot quantize ${n} values to ${name}: not a multiple of the super-block size 256`);
}

function putF16(out: Uint8Array, p: number, v: number): number {
  const h = f32ToF16(v);
  out[p] = h & 0xff;
  out[p + 1] = h >>> 8;
  return F16_TO_F32[h]!;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** Q4_K and Q5_K share their scale search: 8 sub-blocks of 32 with a 6-bit scale and min each. */
function scaleMinBlock(x: Float32Array, xo: number, nmax: number, rmin: number, nstep: number, L: Uint8Array, out: Uint8Array, p: number): void {
  const w = new Float32Array(32);
  const aux = new Uint8Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(x[xo + 32 * j + l]! * x[xo + 32 * j + l]!));
    const avX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) w[l] = f(avX + Math.abs(x[xo + 32 * j + l]!));
    [scales[j], mins[j]] = fitScaleMin(32, nmax, x, xo + 32 * j, w, L, 32 * j, aux, rmin, f(0.1), nstep, false);
    if (scales[j]! > maxScale) maxScale = scales[j]!;
    if (mins[j]! > maxMin) maxMin = mins[j]!;
  }
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const sc = p + 4; // scales[12] after d and dmin
  out.fill(0, sc, sc + 12);
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(f(invScale * scales[j]!)) & 0xff);
    const lm = Math.min(63, nearestInt(f(invMin * mins[j]!)) & 0xff);
    if (j < 4) {
      out[sc + j] = ls;
      out[sc + j + 4] = lm;
    } else {
      out[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      out[sc + j - 4] |= (ls >> 4) << 6;
      out[sc + j] |= (lm >> 4) << 6;
    }
  }
  const d = putF16(out, p, f(maxScale / 63));
  const dmin = putF16(out, p + 2, f(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const s = j < 4 ? out[sc + j]! & 63 : (out[sc + j + 4]! & 0xf) | ((out[sc + j - 4]! >> 6) << 4);
    const m = j < 4 ? out[sc + j + 4]! & 63 : (out[sc + j + 4]! >> 4) | ((out[sc + j]! >> 6) << 4);
    const dj = f(d * s);
    if (!dj) continue; // the sub-block keeps the levels of its search
    const dm = f(dmin * m);
    for (let i = 0; i < 32; i++) L[32 * j + i] = clamp(nearestInt(f(f(x[xo + 32 * j + i]! + dm) / dj)), 0, nmax);
  }
}

/** Q4_K (144 bytes per 256): d, dmin, scales[12], qs[128]. */
export function quantizeQ4_K(src: Float32Array): Uint8Array {
  checkSuperBlocks("Q4_K", src.length);
  const out = new Uint8Array((src.length / QK) * 144);
  const L = new Uint8Array(QK);
  for (let xo = 0, p = 0; xo < src.length; xo += QK, p += 144) {
    scaleMinBlock(src, xo, 15, -1, 20, L, out, p);
    for (let j = 0, q = p + 16; j < QK; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) out[q + l] = L[j + l]! | (L[j + l + 32]! << 4);
    }
  }
  return out;
}

/** Q5_K (176 bytes per 256): d, dmin, scales[12], qh[32], qs[128]. */
export function quantizeQ5_K(src: Float32Array): Uint8Array {
  checkSuperBlocks("Q5_K", src.length);
  const out = new Uint8Array((src.length / QK) * 176);
  const L = new Uint8Array(QK);
  for (let xo = 0, p = 0; xo < src.length; xo += QK, p += 176) {
    scaleMinBlock(src, xo, 31, -0.5, 15, L, out, p);
    const qh = p + 16;
    let m1 = 1;
    let m2 = 2;
    for (let n = 0, ql = p + 48; n < QK; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
      for (let j = 0; j < 32; j++) {
        let l1 = L[n + j]!;
        if (l1 > 15) {
          l1 -= 16;
          out[qh + j] |= m1;
        }
        let l2 = L[n + j + 32]!;
        if (l2 > 15) {
          l2 -= 16;
          out[qh + j] |= m2;
        }
        out[ql + j] = l1 | (l2 << 4);
      }
    }
  }
  return out;
}

/** Q6_K (210 bytes per 256): ql[128], qh[64], scales[16] (int8), d. */
export function quantizeQ6_K(src: Float32Array): Uint8Array {
  checkSuperBlocks("Q6_K", src.length);
  const out = new Uint8Array((src.length / QK) * 210);
  const L = new Int8Array(QK);
  const scales = new Float32Array(16);
  for (let xo = 0, p = 0; xo < src.length; xo += QK, p += 210) {
    let maxScale = 0;
    let maxAbs = 0;
    for (let ib = 0; ib < 16; ib++) {
      scales[ib] = fitSymmetric(16, 32, src, xo + 16 * ib, L, 16 * ib);
      const a = Math.abs(scales[ib]!);
      if (a > maxAbs) {
        maxAbs = a;
        maxScale = scales[ib]!;
      }
    }
    if (maxAbs < GROUP_MAX_EPS) continue; // an all-zero block (d = +0)
    const iscale = f(-128 / maxScale);
    const d = putF16(out, p + 208, f(1 / iscale));
    const sc = p + 192;
    for (let ib = 0; ib < 16; ib++) out[sc + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]!))) & 0xff;
    for (let j = 0; j < 16; j++) {
      const dj = f(d * ((out[sc + j]! << 24) >> 24));
      if (!dj) continue;
      for (let i = 0; i < 16; i++) L[16 * j + i] = clamp(nearestInt(f(src[xo + 16 * j + i]! / dj)), -32, 31) + 32;
    }
    for (let j = 0, ql = p, qh = p + 128; j < QK; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const [a, b, c, e] = [L[j + l]!, L[j + l + 32]!, L[j + l + 64]!, L[j + l + 96]!];
        out[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
        out[ql + l + 32] = (b & 0xf) | ((e & 0xf) << 4);
        out[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
      }
    }
  }
  return out;
}

/** Four 2-bit levels per byte, as Q2_K and Q3_K store their low bits: qs[j/4 + l] over chunks of 128. */
function pack2Bit(L: ArrayLike<number>, out: Uint8Array, qs: number): void {
  for (let j = 0; j < QK; j += 128) {
    for (let l = 0; l < 32; l++) out[qs + j / 4 + l] = L[j + l]! | (L[j + l + 32]! << 2) | (L[j + l + 64]! << 4) | (L[j + l + 96]! << 6);
  }
}

/** Q2_K (84 bytes per 256): scales[16] (scale | min << 4), qs[64], d, dmin. */
export function quantizeQ2_K(src: Float32Array): Uint8Array {
  checkSuperBlocks("Q2_K", src.length);
  const out = new Uint8Array((src.length / QK) * 84);
  const L = new Uint8Array(QK);
  const aux = new Uint8Array(16);
  const w = new Float32Array(16);
  const scales = new Float32Array(16);
  const mins = new Float32Array(16);
  for (let xo = 0, p = 0; xo < src.length; xo += QK, p += 84) {
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) w[l] = Math.abs(src[xo + 16 * j + l]!);
      [scales[j], mins[j]] = fitScaleMin(16, 3, src, xo + 16 * j, w, L, 16 * j, aux, -0.5, f(0.1), 15, true);
      if (scales[j]! > maxScale) maxScale = scales[j]!;
      if (mins[j]! > maxMin) maxMin = mins[j]!;
    }
    let d = 0;
    if (maxScale > 0) {
      const iscale = f(15 / maxScale);
      for (let j = 0; j < 16; j++) out[p + j] = nearestInt(f(iscale * scales[j]!)) & 0xff;
      d = putF16(out, p + 80, f(maxScale / 15));
    }
    let dmin = 0;
    if (maxMin > 0) {
      const iscale = f(15 / maxMin);
      for (let j = 0; j < 16; j++) out[p + j] |= (nearestInt(f(iscale * mins[j]!)) << 4) & 0xff;
      dmin = putF16(out, p + 82, f(maxMin / 15));
    }
    for (let j = 0; j < 16; j++) {
      const dj = f(d * (out[p + j]! & 0xf));
      if (!dj) continue;
      const dm = f(dmin * (out[p + j]! >> 4));
      for (let i = 0; i < 16; i++) L[16 * j + i] = clamp(nearestInt(f(f(src[xo + 16 * j + i]! + dm) / dj)), 0, 3);
    }
    pack2Bit(L, out, p + 16);
  }
  return out;
}

/** Q3_K (110 bytes per 256): hmask[32], qs[64], scales[12] (6-bit, offset 32), d. */
export function quantizeQ3_K(src: Float32Array): Uint8Array {
  checkSuperBlocks("Q3_K", src.length);
  const out = new Uint8Array((src.length / QK) * 110);
  const L = new Int8Array(QK);
  const scales = new Float32Array(16);
  for (let xo = 0, p = 0; xo < src.length; xo += QK, p += 110) {
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      scales[j] = fitQ3(16, 4, src, xo + 16 * j, L, 16 * j);
      const a = Math.abs(scales[j]!);
      if (a > amax) {
        amax = a;
        maxScale = scales[j]!;
      }
    }
    const sc = p + 96;
    let d = 0;
    if (maxScale) {
      const iscale = f(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        const l = clamp((nearestInt(f(iscale * scales[j]!)) << 24) >> 24, -32, 31) + 32;
        if (j < 8) out[sc + j] = l & 0xf;
        else out[sc + j - 8] |= (l & 0xf) << 4;
        out[sc + (j % 4) + 8] |= (l >> 4) << (2 * (j >> 2));
      }
      d = putF16(out, p + 108, f(1 / iscale));
    }
    for (let j = 0; j < 16; j++) {
      const low = j < 8 ? out[sc + j]! & 0xf : out[sc + j - 8]! >> 4;
      const s = (low | (((out[sc + 8 + (j % 4)]! >> (2 * (j >> 2))) & 3) << 4)) - 32;
      const dj = f(d * s);
      if (!dj) continue;
      for (let i = 0; i < 16; i++) L[16 * j + i] = clamp(nearestInt(f(src[xo + 16 * j + i]! / dj)), -4, 3) + 4;
    }
    // High bits: bit b of hmask[m] holds L[32·b + m] > 3.
    for (let j = 0; j < QK; j++) {
      if (L[j]! > 3) {
        out[p + (j % 32)] |= 1 << (j >> 5);
        L[j] = L[j]! - 4;
      }
    }
    pack2Bit(L, out, p + 32);
  }
  return out;
}
