// Dequantizers for ggml's 32-element block formats: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (and Q8_1).
//
// Each takes `nb` whole blocks at byte `s` of `src` and writes 32·nb floats at `o` of `dst`. Values are the float32
// results of ggml's reference dequantizers: every product here is exact in float64, so one rounding on store matches
// C's float arithmetic bit for bit.
import { F16_TO_F32 } from "./f16";

const H = F16_TO_F32;

/** Q4_0 (18 bytes): d f16, qs[16]; element j = low nibble of qs[j], element j+16 = high nibble; x = d·(q − 8). */
export function dequantQ4_0(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 18, o += 32) {
    const d = H[src[s]! | (src[s + 1]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const q = src[s + 2 + j]!;
      dst[o + j] = d * ((q & 0xf) - 8);
      dst[o + j + 16] = d * ((q >>> 4) - 8);
    }
  }
}

/** Q4_1 (20 bytes): d f16, m f16, qs[16] (nibbles as Q4_0); x = d·q + m. */
export function dequantQ4_1(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 20, o += 32) {
    const d = H[src[s]! | (src[s + 1]! << 8)]!;
    const m = H[src[s + 2]! | (src[s + 3]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const q = src[s + 4 + j]!;
      // C: x0*d + m in float; the product is exact, so fround only the (single-rounded) sum on store.
      dst[o + j] = Math.fround(d * (q & 0xf)) + m;
      dst[o + j + 16] = Math.fround(d * (q >>> 4)) + m;
    }
  }
}

/** Q5_0 (22 bytes): d f16, qh u32, qs[16]; 5th bit of element j is bit j of qh; x = d·(q − 16). */
export function dequantQ5_0(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 22, o += 32) {
    const d = H[src[s]! | (src[s + 1]! << 8)]!;
    const qh = src[s + 2]! | (src[s + 3]! << 8) | (src[s + 4]! << 16) | (src[s + 5]! << 24);
    for (let j = 0; j < 16; j++) {
      const q = src[s + 6 + j]!;
      const h0 = ((qh >>> j) & 1) << 4;
      const h1 = ((qh >>> (j + 16)) & 1) << 4;
      dst[o + j] = d * (((q & 0xf) | h0) - 16);
      dst[o + j + 16] = d * (((q >>> 4) | h1) - 16);
    }
  }
}

/** Q5_1 (24 bytes): d f16, m f16, qh u32, qs[16]; x = d·q + m. */
export function dequantQ5_1(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 24, o += 32) {
    const d = H[src[s]! | (src[s + 1]! << 8)]!;
    const m = H[src[s + 2]! | (src[s + 3]! << 8)]!;
    const qh = src[s + 4]! | (src[s + 5]! << 8) | (src[s + 6]! << 16) | (src[s + 7]! << 24);
    for (let j = 0; j < 16; j++) {
      const q = src[s + 8 + j]!;
      const h0 = ((qh >>> j) & 1) << 4;
      const h1 = ((qh >>> (j + 16)) & 1) << 4;
      dst[o + j] = Math.fround(d * ((q & 0xf) | h0)) + m;
      dst[o + j + 16] = Math.fround(d * ((q >>> 4) | h1)) + m;
    }
  }
}

/** Q8_0 (34 bytes): d f16, qs[32] int8; x = d·q. */
export function dequantQ8_0(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 34, o += 32) {
    const d = H[src[s]! | (src[s + 1]! << 8)]!;
    for (let j = 0; j < 32; j++) dst[o + j] = d * ((src[s + 2 + j]! << 24) >> 24);
  }
}

/** Q8_1 (36 bytes): d f16, s f16 (d·Σq, unused here), qs[32] int8; x = d·q. */
export function dequantQ8_1(src: Uint8Array, s: number, dst: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, s += 36, o += 32) {
    const d = H[src[s]! | (src[s + 1]! << 8)]!;
    for (let j = 0; j < 32; j++) dst[o + j] = d * ((src[s + 4 + j]! << 24) >> 24);
  }
}
