// Embedding lookup: dequantizes table rows (F32, F16, repacked Q8_0 / Q4_0) into consecutive output rows.
import { f16x4ToF32, f16ToF32, panelByteOffset } from "./common";

/** out[t, :] = row tokens[t] of an F32 or F16 table (elemBytes 4 or 2), any row length. */
export function embed_float(out: usize, w: usize, elemBytes: i32, cols: i32, tokens: usize, nTokens: i32): void {
  for (let t = 0; t < nTokens; t++) {
    const row = <usize>load<i32>(tokens + (<usize>t << 2));
    const o = out + ((<usize>t * <usize>cols) << 2);
    if (elemBytes == 4) {
      memory.copy(o, w + ((row * <usize>cols) << 2), <usize>cols << 2);
      continue;
    }
    const wr = w + ((row * <usize>cols) << 1);
    let c = 0;
    for (; c + 4 <= cols; c += 4) v128.store(o + (<usize>c << 2), f16x4ToF32(i32x4.extend_low_i16x8_u(v128.load64_zero(wr + (<usize>c << 1)))));
    for (; c < cols; c++) store<f32>(o + (<usize>c << 2), f16ToF32(load<u16>(wr + (<usize>c << 1))));
  }
}

/** out[t, :] = row tokens[t] of a repacked Q8_0 (q4 = 0) or Q4_0 (q4 = 1) table: 4-row panels at wq, scales at wd. */
export function embed_quant(out: usize, wq: usize, wd: usize, q4: i32, cols: i32, tokens: usize, nTokens: i32): void {
  const nb = <usize>(cols >> 5);
  const pb: usize = q4 ? 64 : 128; // bytes per panel-block
  for (let t = 0; t < nTokens; t++) {
    const row = <usize>load<i32>(tokens + (<usize>t << 2));
    const rr = row & 3;
    const o = out + ((<usize>t * <usize>cols) << 2);
    for (let b: usize = 0; b < nb; b++) {
      const pblock = (row >> 2) * nb + b;
      // Q4_0 panels keep f32 scales, Q8_0 panels the file's f16 (matmul-quant.ts).
      const d = q4 ? load<f32>(wd + (((pblock << 2) + rr) << 2)) : f16ToF32(<u32>load<u16>(wd + (((pblock << 2) + rr) << 1)));
      const wp = wq + pblock * pb;
      const ob = o + (b << 7);
      if (q4) {
        for (let k: usize = 0; k < 16; k++) {
          const byte = <i32>load<u8>(wp + panelByteOffset(rr, k, ASC_FEATURE_RELAXED_SIMD));
          store<f32>(ob + (k << 2), <f32>((byte & 15) - 8) * d);
          store<f32>(ob + ((k + 16) << 2), <f32>((byte >> 4) - 8) * d);
        }
      } else {
        for (let k: usize = 0; k < 32; k++) store<f32>(ob + (k << 2), <f32>load<i8>(wp + panelByteOffset(rr, k, false)) * d);
      }
    }
  }
}
