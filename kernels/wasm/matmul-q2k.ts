// Q2_K weights × Q8_K activations: the Q3_K kernel (matmul-q3k.ts) without the third bit, with 4-bit scales and mins.
import { Q2, matmulQ23 } from "./matmul-q3k";

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q2_K weights w (repack-kquant.ts packQ2K); x quantized by quantize_q8_k. */
export function matmul_q2_k(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ23<Q2>(out, w, xq, xd, xs, rows, cols, nTokens);
}
