// Embedding lookup for repacked Q4_1 / Q5_0 / Q5_1 tables (matmul-legacy.ts's layout), as ggml dequantizes them.
import { f16ToF32, panelByteOffset } from "./common";

/**
 * out[t, :] = row tokens[t] of a table in format 0 (Q4_1: x = d·q + m), 1 (Q5_0: x = d·(q − 16)) or 2 (Q5_1:
 * x = d·q + m), q with its fifth bit from qh for Q5_0/Q5_1.
 */
export function embed_legacy(out: usize, w: usize, format: i32, cols: i32, tokens: usize, nTokens: i32): void {
  const hasMin = format != 1;
  const hasHigh = format != 0;
  const qhOff: usize = hasMin ? 16 : 8;
  const qOff: usize = qhOff + (hasHigh ? 16 : 0);
  const pb: usize = qOff + 64;
  const nb = <usize>(cols >> 5);
  for (let t = 0; t < nTokens; t++) {
    const row = <usize>load<i32>(tokens + (<usize>t << 2));
    const rr = row & 3;
    const o = out + ((<usize>t * <usize>cols) << 2);
    for (let b: usize = 0; b < nb; b++) {
      const wp = w + ((row >> 2) * nb + b) * pb;
      const d = f16ToF32(load<u16>(wp + (rr << 1)));
      const m = hasMin ? f16ToF32(load<u16>(wp + 8 + (rr << 1))) : 0;
      const qh = hasHigh ? load<u32>(wp + qhOff + (rr << 2)) : 0;
      const ob = o + (b << 7);
      for (let k: usize = 0; k < 16; k++) {
        const byte = <u32>load<u8>(wp + qOff + panelByteOffset(rr, k, ASC_FEATURE_RELAXED_SIMD));
        const q0 = (byte & 15) | (((qh >> <u32>k) & 1) << 4);
        const q1 = (byte >> 4) | (((qh >> <u32>(k + 16)) & 1) << 4);
        // ggml: Q4_1/Q5_1 x·d + m (product exact, one rounding on the sum); Q5_0 (q − 16)·d.
        store<f32>(ob + (k << 2), hasMin ? d * <f32>q0 + m : <f32>(<i32>q0 - 16) * d);
        store<f32>(ob + ((k + 16) << 2), hasMin ? d * <f32>q1 + m : <f32>(<i32>q1 - 16) * d);
      }
    }
  }
}
