// ggml_vec_dot_bf16 as ggml's AVX512_BF16 builds (zen4, sapphirerapids) run it, emulated bit for bit: two 16-lane _mm512_dpbf16_ps accumulators.
import { reduceAdd16 } from "./ggml-ops";

const f = Math.fround;

/** The lane order of one VDPBF16PS step (exported so a test can plant the wrong one). */
export type Bf16PairOrder = "odd-first" | "even-first";

/**
 * A BF16 weight row (w, its bf16 values widened to f32, exact) dotted with bf16-rounded activations (xb at xo; the
 * CPU backend converts src1 with GGML_FP32_TO_BF16, scalar round-to-nearest-even) as ggml_vec_dot_bf16 on a build
 * with __AVX512BF16__ (single-token matmuls: llamafile's tinyBLAS needs n ≥ 2 tokens):
 * - per 64 elements, c1 takes elements 0..31 and c2 32..63 through _mm512_dpbf16_ps: lane j of a 32-element half
 *   holds the bf16 pair (2j, 2j+1) and does acc += w[2j+1]·x[2j+1], then acc += w[2j]·x[2j] (the SDM's operation
 *   order, odd element first), each an f32 FMA with round-to-nearest-even. A bf16·bf16 product has at most 16
 *   significant bits, so it is exact and each step is one f32 rounding of a sum.
 * - sumf (a double) += reduce_add(c1), += reduce_add(c2); the n mod 64 tail in double; the result rounded to f32.
 * (VDPBF16PS also flushes denormal inputs and outputs to zero; activations and weights here are far from 2^-126.)
 */
export function dotBF16(w: Float32Array, xb: Float32Array, xo: number, n: number, lanes: Float32Array, order: Bf16PairOrder = "odd-first"): number {
  const np = n - (n % 64);
  const first = order === "odd-first" ? 1 : 0;
  const second = 1 - first;
  let sum = 0;
  if (np > 0) {
    lanes.fill(0, 0, 32); // lanes 0..15: c1, 16..31: c2
    for (let l = 0; l < np; l += 64) {
      for (let j = 0; j < 32; j++) {
        const e = l + 2 * j; // lane j of c1 (j < 16) or lane j − 16 of c2 (elements 32 + 2(j − 16) = 2j)
        lanes[j] = f(f(lanes[j]! + w[e + first]! * xb[xo + e + first]!) + w[e + second]! * xb[xo + e + second]!);
      }
    }
    sum = reduceAdd16(lanes, 0);
    sum += reduceAdd16(lanes, 16);
  }
  for (let i = np; i < n; i++) sum += f(w[i]! * xb[xo + i]!); // GGML_BF16_TO_FP32 products (exact), summed in double
  return f(sum);
}
