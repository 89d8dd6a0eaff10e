// Dequantizers for ggml's K-quant super-blocks (256 elements): Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
//
// Each takes `nb` whole super-blocks at byte `s` of `src` and writes 256·nb floats at `o` of `dst`. The scale
// products (f16 · small int · small int) are exact in float32, so the results equal ggml's reference bit for bit.
import { F16_TO_F32 } from "./f16";

const H = F16_TO_F32;
const f16At = (src: Uint8Array, p: number): number => H[src[p]! | (src[p + 1]! << 8)]!;

// Per-call scratch for unpacked 6-bit scales and mins (Q4_K/Q5_K) and Q3_K scales; reused, never reallocated.
const sc8 = new Int32Array(16);
const mn8 = new Int32Array(8);

/** Unpacks the 12-byte Q4_K/Q5_K scale field into 8 six-bit scales (sc8[0..7]) and 8 six-bit mins (mn8). */
function unpackScaleMin(src: Uint8Array, p: number): void {
  for (let j = 0; j < 4; j++) {
    sc8[j] = src[p + j]! & 63;
    mn8[j] = src[p + j + 4]! & 63;
  }
  for (let j = 4; j < 8; j++) {
    sc8[j] = (src[p + j + 4]! & 0xf) | ((src[p + j - 4]! >>> 6) << 4);
    mn8[j] = (src[p + j + 4]! >>> 4) | ((src[p + j]! >>> 6) << 4);
  }
}

/** Q4_K (144 bytes): d, dmin, scales[12], qs[128]; 4 chunks of 64 = 32 low nibbles then 32 high; x = d·sc·q − dmin·m. */
export function dequantQ4_K(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 144) {
    const d = f16At(src, s);
    const dmin = f16At(src, s + 2);
    unpackScaleMin(src, s + 4);
    let q = s + 16;
    for (let c = 0; c < 4; c++, q += 32) {
      const d1 = d * sc8[2 * c]!;
      const m1 = dmin * mn8[2 * c]!;
      const d2 = d * sc8[2 * c + 1]!;
      const m2 = dmin * mn8[2 * c + 1]!;
      for (let l = 0; l < 32; l++) {
        const v = src[q + l]!;
        dst[o + l] = d1 * (v & 0xf) - m1;
        dst[o + l + 32] = d2 * (v >>> 4) - m2;
      }
      o += 64;
    }
  }
}

/** Q5_K (176 bytes): d, dmin, scales[12], qh[32], qs[128]; as Q4_K plus a 5th bit from qh (bits 2c and 2c+1). */
export function dequantQ5_K(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 176) {
    const d = f16At(src, s);
    const dmin = f16At(src, s + 2);
    unpackScaleMin(src, s + 4);
    const qh = s + 16;
    let q = s + 48;
    for (let c = 0; c < 4; c++, q += 32) {
      const d1 = d * sc8[2 * c]!;
      const m1 = dmin * mn8[2 * c]!;
      const d2 = d * sc8[2 * c + 1]!;
      const m2 = dmin * mn8[2 * c + 1]!;
      const lo = 2 * c;
      const hi = 2 * c + 1;
      for (let l = 0; l < 32; l++) {
        const v = src[q + l]!;
        const h = src[qh + l]!;
        dst[o + l] = d1 * ((v & 0xf) | (((h >>> lo) & 1) << 4)) - m1;
        dst[o + l + 32] = d2 * ((v >>> 4) | (((h >>> hi) & 1) << 4)) - m2;
      }
      o += 64;
    }
  }
}

/** Q6_K (210 bytes): ql[128], qh[64], scales[16] int8, d at the end; x = d·sc·(q6 − 32), 16 elements per scale. */
export function dequantQ6_K(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 210) {
    const d = f16At(src, s + 208);
    let ql = s;
    let qh = s + 128;
    let sc = s + 192;
    for (let n = 0; n < 2; n++, ql += 64, qh += 32, sc += 8, o += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >>> 4;
        const a = src[ql + l]!;
        const c = src[ql + l + 32]!;
        const h = src[qh + l]!;
        const q1 = ((a & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((c & 0xf) | (((h >>> 2) & 3) << 4)) - 32;
        const q3 = ((a >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
        const q4 = ((c >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
        dst[o + l] = d * ((src[sc + is]! << 24) >> 24) * q1;
        dst[o + l + 32] = d * ((src[sc + is + 2]! << 24) >> 24) * q2;
        dst[o + l + 64] = d * ((src[sc + is + 4]! << 24) >> 24) * q3;
        dst[o + l + 96] = d * ((src[sc + is + 6]! << 24) >> 24) * q4;
      }
    }
  }
}

/** Q2_K (84 bytes): scales[16] (low nibble scale, high nibble min), qs[64] 2-bit, d, dmin; x = d·sc·q − dmin·m. */
export function dequantQ2_K(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 84) {
    const d = f16At(src, s + 80);
    const dmin = f16At(src, s + 82);
    let is = s;
    let q = s + 16;
    for (let n = 0; n < 2; n++, q += 32) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 32; half += 16) {
          const sc = src[is++]!;
          const dl = d * (sc & 0xf);
          const ml = dmin * (sc >>> 4);
          for (let l = 0; l < 16; l++) dst[o++] = dl * ((src[q + half + l]! >>> shift) & 3) - ml;
        }
      }
    }
  }
}

/** Unpacks Q3_K's 12-byte field into 16 six-bit scales, already offset by −32 (into sc8). */
function unpackQ3Scales(src: Uint8Array, p: number): void {
  for (let j = 0; j < 16; j++) {
    const low = j < 8 ? src[p + j]! & 0xf : src[p + j - 8]! >>> 4;
    const high = (src[p + 8 + (j & 3)]! >>> (2 * (j >>> 2))) & 3;
    sc8[j] = (low | (high << 4)) - 32;
  }
}

/** Q3_K (110 bytes): hmask[32], qs[64] 2-bit, scales[12], d; x = d·sc·(q2 − (hbit ? 0 : 4)). */
export function dequantQ3_K(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 110) {
    const d = f16At(src, s + 108);
    unpackQ3Scales(src, s + 96);
    const hm = s;
    let q = s + 32;
    let is = 0;
    let m = 1;
    for (let n = 0; n < 2; n++, q += 32) {
      for (let shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (let half = 0; half < 32; half += 16) {
          const dl = d * sc8[is++]!;
          for (let l = 0; l < 16; l++) {
            const hbit = src[hm + half + l]! & m;
            dst[o++] = dl * (((src[q + half + l]! >>> shift) & 3) - (hbit ? 0 : 4));
          }
        }
      }
    }
  }
}
