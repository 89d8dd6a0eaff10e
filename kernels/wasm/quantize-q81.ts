// Q8_1 activations for Q4_1 / Q5_1 weights: Q8_0's quants and d, plus ggml's s = f16(d·Σq) per 32-block.
import { quantRows } from "./quantize-act";

/**
 * As quantize_q8_0 (same q, d and s = -Σq), and st[b] = ggml's Q8_1 s term as f32: f16(d·Σq) with the unrounded
 * d = amax/127 (x86 quantize_row_q8_1). The Q4_1/Q5_1 kernels add their block minimum times it. One pass: each block's
 * amax and sum come from its quantization.
 */
export function quantize_q8_1(x: usize, q: usize, d: usize, s: usize, st: usize, n: i32): void {
  quantRows(x, q, d, s, st, n, true);
}
