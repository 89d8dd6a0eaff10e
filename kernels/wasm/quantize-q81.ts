// Q8_1 activations for Q4_1 / Q5_1 weights: Q8_0's quants and d, plus ggml's s = f16(d·Σq) per 32-block.
import { absMax32, f16Round } from "./common";
import { quantize_q8_0 } from "./quantize-act";

/**
 * As quantize_q8_0 (same q, d and s = -Σq), and st[b] = ggml's Q8_1 s term as f32: f16(d·Σq) with the unrounded
 * d = amax/127 (x86 quantize_row_q8_1). The Q4_1/Q5_1 kernels add their block minimum times it.
 */
export function quantize_q8_1(x: usize, q: usize, d: usize, s: usize, st: usize, n: i32): void {
  quantize_q8_0(x, q, d, s, n);
  const nb = n >> 5;
  for (let b = 0; b < nb; b++) {
    const xp = x + (<usize>b << 7);
    const m = absMax32(xp);
    const dd: f32 = m / 127.0;
    store<f32>(st + (<usize>b << 2), f16Round(dd * <f32>(-load<i32>(s + (<usize>b << 2)))));
  }
}
