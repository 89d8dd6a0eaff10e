// Embedding lookup: dequantizes table rows (F32, F16, repacked Q8_0 / Q4_0) into consecutive output rows.
import { f16x4ToF32, f16ToF32 } from "./common";

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

/** out[t, :] = row tokens[t] of a repacked Q8_0 (q4 = 0) or Q4_0 (q4 = 1) table: quants at wq, f32 block scales at wd. */
export function embed_quant(out: usize, wq: usize, wd: usize, q4: i32, cols: i32, tokens: usize, nTokens: i32): void {
  const nb = cols >> 5;
  for (let t = 0; t < nTokens; t++) {
    const row = <usize>load<i32>(tokens + (<usize>t << 2));
    const o = out + ((<usize>t * <usize>cols) << 2);
    for (let b = 0; b < nb; b++) {
      const d = load<f32>(wd + ((row * <usize>nb + <usize>b) << 2));
      const ob = o + (<usize>b << 7);
      for (let i = 0; i < 32; i++) {
        let qv: i32;
        if (q4) {
          const byte = <i32>load<u8>(wq + (row * <usize>nb + <usize>b) * 16 + <usize>(i & 15));
          qv = (i < 16 ? byte & 15 : byte >> 4) - 8;
        } else {
          qv = <i32>load<i8>(wq + (row * <usize>nb + <usize>b) * 32 + <usize>i);
        }
        store<f32>(ob + (<usize>i << 2), <f32>qv * d);
      }
    }
  }
}
