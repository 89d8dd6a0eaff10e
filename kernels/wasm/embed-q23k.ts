// Embedding lookup for repacked Q2_K / Q3_K tables (matmul-q3k.ts's layouts), as ggml dequantizes them.
import { f16ToF32, panelByteOffset } from "./common";

/** Byte offset of byte l (0..31 of a 32-byte group) of panel row rr inside the group's 8 vectors. */
@inline function at(rr: usize, l: usize): usize {
  return ((l >> 2) << 4) + panelByteOffset(rr, l & 3, ASC_FEATURE_RELAXED_SIMD);
}

/** Rows of a Q3_K (q3) or Q2_K table: Q3_K x = d·sc·(q2 − (hbit ? 0 : 4)); Q2_K x = d·sc·q2 − dmin·m. */
@inline function embedQ23(out: usize, w: usize, cols: i32, tokens: usize, nTokens: i32, q3: bool): void {
  const nb = <usize>(cols >> 8);
  const PB: usize = q3 ? 456 : 336;
  const QOFF: usize = q3 ? 200 : 80;
  for (let t = 0; t < nTokens; t++) {
    const row = <usize>load<i32>(tokens + (<usize>t << 2));
    const rr = row & 3;
    const o = out + ((<usize>t * <usize>cols) << 2);
    for (let b: usize = 0; b < nb; b++) {
      const wp = w + ((row >> 2) * nb + b) * PB;
      const d = f16ToF32(load<u16>(wp + (rr << 1)));
      const dmin: f32 = q3 ? 0 : f16ToF32(load<u16>(wp + 8 + (rr << 1)));
      const ob = o + (b << 10);
      for (let n: usize = 0; n < 2; n++) {
        for (let l: usize = 0; l < 32; l++) {
          const qb = <i32>load<u8>(wp + QOFF + (n << 7) + at(rr, l));
          const hb = q3 ? <i32>load<u8>(wp + 72 + at(rr, l)) : 0;
          for (let j: usize = 0; j < 4; j++) {
            const is = (n << 3) + (j << 1) + (l >> 4);
            const q = (qb >> (<i32>j << 1)) & 3;
            let y: f32;
            if (q3) {
              const dl = d * <f32>load<i8>(wp + 8 + (is << 2) + rr);
              y = dl * <f32>(q - (((hb >> <i32>((n << 2) + j)) & 1) != 0 ? 0 : 4));
            } else {
              const s = <i32>load<u8>(wp + 16 + (is << 2) + rr);
              y = d * <f32>(s & 15) * <f32>q - dmin * <f32>(s >> 4);
            }
            store<f32>(ob + (((n << 7) + (j << 5) + l) << 2), y);
          }
        }
      }
    }
  }
}

/** out[t, :] = row tokens[t] of a Q2_K table packed by packQ2K. */
export function embed_q2_k(out: usize, w: usize, cols: i32, tokens: usize, nTokens: i32): void {
  embedQ23(out, w, cols, tokens, nTokens, false);
}

/** out[t, :] = row tokens[t] of a Q3_K table packed by packQ3K. */
export function embed_q3_k(out: usize, w: usize, cols: i32, tokens: usize, nTokens: i32): void {
  embedQ23(out, w, cols, tokens, nTokens, true);
}
