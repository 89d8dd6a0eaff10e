// Embedding lookup for repacked K-quant tables: dequantizes one row per token from the 4-row panel layout.
import { f16ToF32, panelByteOffset } from "./common";

/** Byte offset of quant byte l (0..31 of a 32-byte group) of panel row rr inside the group's 8 vectors. */
@inline function at(rr: usize, l: usize): usize {
  return ((l >> 2) << 4) + panelByteOffset(rr, l & 3, ASC_FEATURE_RELAXED_SIMD);
}

/** Rows of a Q4_K (q5 false) or Q5_K table in matmul-q4k.ts's layout: x = d·sc·q − dmin·m, as ggml. */
@inline function embedQ45(out: usize, w: usize, cols: i32, tokens: usize, nTokens: i32, q5: bool): void {
  const nb = <usize>(cols >> 8);
  const PB: usize = q5 ? 736 : 592;
  const H: usize = q5 ? 16 : 0; // Q5_K's d, dmin are f32 (q45-values.ts hdr): the rest sits 16 bytes later
  const QOFF: usize = 80 + H;
  for (let t = 0; t < nTokens; t++) {
    const row = <usize>load<i32>(tokens + (<usize>t << 2));
    const rr = row & 3;
    let o = out + ((<usize>t * <usize>cols) << 2);
    for (let b: usize = 0; b < nb; b++) {
      const wp = w + ((row >> 2) * nb + b) * PB;
      const d = q5 ? load<f32>(wp + (rr << 2)) : f16ToF32(load<u16>(wp + (rr << 1)));
      const dmin = q5 ? load<f32>(wp + 16 + (rr << 2)) : f16ToF32(load<u16>(wp + 8 + (rr << 1)));
      for (let c: usize = 0; c < 4; c++) {
        const d1 = d * <f32>load<u8>(wp + H + 16 + (c << 3) + rr);
        const m1 = dmin * <f32>load<u8>(wp + H + 48 + (c << 3) + (rr << 1));
        const d2 = d * <f32>load<u8>(wp + H + 20 + (c << 3) + rr);
        const m2 = dmin * <f32>load<u8>(wp + H + 49 + (c << 3) + (rr << 1));
        const qp = wp + QOFF + c * (q5 ? 160 : 128);
        for (let l: usize = 0; l < 32; l++) {
          if (!q5) {
            const v = <i32>load<u8>(qp + at(rr, l));
            store<f32>(o + (l << 2), d1 * <f32>(v & 15) - m1);
            store<f32>(o + ((l + 32) << 2), d2 * <f32>(v >> 4) - m2);
            continue;
          }
          // Q5_K: step l / 4 is vector X_(step % 4) of run step / 4, whose E vector sits 64 bytes in.
          const s = l >> 2, rp = qp + 80 * (s >> 2) + panelByteOffset(rr, l & 3, ASC_FEATURE_RELAXED_SIMD);
          const x = <i32>load<u8>(rp + ((s & 3) << 4));
          const e = <i32>(load<u8>(rp + 64) >> <u8>((s & 3) << 1)) & 3;
          store<f32>(o + (l << 2), d1 * <f32>(x & 31) - m1);
          store<f32>(o + ((l + 32) << 2), d2 * <f32>((x >> 5) | (e << 3)) - m2);
        }
        o += 256;
      }
    }
  }
}

/** out[t, :] = row tokens[t] of a Q4_K table packed by packQ4K (matmul-q4k.ts). */
export function embed_q4_k(out: usize, w: usize, cols: i32, tokens: usize, nTokens: i32): void {
  embedQ45(out, w, cols, tokens, nTokens, false);
}

/** out[t, :] = row tokens[t] of a Q5_K table packed by packQ5K (matmul-q4k.ts). */
export function embed_q5_k(out: usize, w: usize, cols: i32, tokens: usize, nTokens: i32): void {
  embedQ45(out, w, cols, tokens, nTokens, true);
}

/** out[t, :] = row tokens[t] of a Q6_K table packed by packQ6K (matmul-q6k.ts): x = d·sc·(q − 32), as ggml. */
export function embed_q6_k(out: usize, w: usize, cols: i32, tokens: usize, nTokens: i32): void {
  const nb = <usize>(cols >> 8);
  for (let t = 0; t < nTokens; t++) {
    const row = <usize>load<i32>(tokens + (<usize>t << 2));
    const rr = row & 3;
    let o = out + ((<usize>t * <usize>cols) << 2);
    for (let b: usize = 0; b < nb; b++) {
      const wp = w + ((row >> 2) * nb + b) * 848;
      const d = load<f32>(wp + (rr << 2));
      // Sub-block j's 16 values: bytes k of its three vectors hold elements k, 4 + k, 8 + k and the pieces of 12 + k.
      for (let j: usize = 0; j < 16; j++) {
        const sc = <f32>load<i8>(wp + 16 + (j << 2) + rr);
        for (let k: usize = 0; k < 4; k++) {
          const g = wp + 80 + j * 48 + panelByteOffset(rr, k, ASC_FEATURE_RELAXED_SIMD);
          const a = <i32>load<u8>(g);
          const c = <i32>load<u8>(g, 16);
          const e = <i32>load<u8>(g, 32);
          store<f32>(o + (k << 2), d * sc * <f32>((a & 63) - 32));
          store<f32>(o + ((k + 4) << 2), d * sc * <f32>((c & 63) - 32));
          store<f32>(o + ((k + 8) << 2), d * sc * <f32>((e & 63) - 32));
          store<f32>(o + ((k + 12) << 2), d * sc * <f32>(((a >> 6) | ((c >> 6) << 2) | ((e >> 6) << 4)) - 32));
        }
        o += 64;
      }
    }
  }
}
