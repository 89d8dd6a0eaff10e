// Q5_K weights × Q8_K activations: the Q4_K kernel (matmul-q4k.ts) with each value's fifth bit from the qh plane.
import { Q5, matmulQ45F } from "./matmul-q4k";

/** out[t, r] = Σ_c w[r, c] x[t, c] for Q5_K weights w (repack-kquant.ts packQ5K); x quantized by quantize_q8_k. */
export function matmul_q5_k(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, nTokens: i32): void {
  matmulQ45F<Q5>(out, w, xq, xd, xs, rows, cols, nTokens);
}
