// Embedding lookup for repacked Q4_1 / Q5_0 / Q5_1 tables (legacy-ops.ts's layout), as ggml dequantizes them.
import { f16ToF32, panelByteOffset } from "./common";

/**
 * out[t, :] = row tokens[t] of a table in format 0 (Q4_1: x = d·q + m), 1 (Q5_0: x = d·(q − 16)) or 2 (Q5_1:
 * x = d·q + m), q with its fifth bit for Q5_0/Q5_1 (bits 0..4 of vector j's byte for elements 4j+e; bits 5..7 plus
 * bits 2j..2j+1 of the fifth vector's byte for element 16+4j+e).
 */
export function embed_legacy(out: usize, w: usize, format: i32, cols: i32, tokens: usize, nTokens: i32): void {
  const hasMin = format != 1;
  const hasHigh = format != 0;
  const qOff: usize = hasMin ? 16 : 8;
  const pb: usize = qOff + (hasHigh ? 80 : 64);
  const nb = <usize>(cols >> 5);
  for (let t = 0; t < nTokens; t++) {
    const row = <usize>load<i32>(tokens + (<usize>t << 2));
    const rr = row & 3;
    const o = out + ((<usize>t * <usize>cols) << 2);
    for (let b: usize = 0; b < nb; b++) {
      const wp = w + ((row >> 2) * nb + b) * pb;
      const d = f16ToF32(load<u16>(wp + (rr << 1)));
      const m = hasMin ? f16ToF32(load<u16>(wp + 8 + (rr << 1))) : 0;
      const ob = o + (b << 7);
      for (let k: usize = 0; k < 16; k++) {
        const j = k >> 2;
        const p = wp + qOff + panelByteOffset(rr, k, ASC_FEATURE_RELAXED_SIMD);
        const byte = <u32>load<u8>(p);
        let q0 = byte & 15, q1 = byte >> 4;
        if (hasHigh) {
          q0 = byte & 31;
          q1 = (byte >> 5) | (((<u32>load<u8>(p + 64 - (j << 4)) >> (<u32>j << 1)) & 3) << 3);
        }
        // ggml: Q4_1/Q5_1 x·d + m (product exact, one rounding on the sum); Q5_0 (q − 16)·d.
        store<f32>(ob + (k << 2), hasMin ? d * <f32>q0 + m : <f32>(<i32>q0 - 16) * d);
        store<f32>(ob + ((k + 16) << 2), hasMin ? d * <f32>q1 + m : <f32>(<i32>q1 - 16) * d);
      }
    }
  }
}
