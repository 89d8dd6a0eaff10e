// Rounds activations the way ggml's CPU matmuls see them, so the reference backend reproduces llama.cpp's numbers.
import { GgmlType } from "../../gguf/ggml-types";
import { f16ToF32, f32ToF16 } from "../../quant/index";

/**
 * How the reference backend feeds activations to a matmul:
 * - "ggml": as llama.cpp's CPU backend does. Quantized weights are dotted with activations quantized to Q8_0
 *   (Q4_0, Q5_0, Q8_0 weights), Q8_1 (Q4_1, Q5_1) or Q8_K (K-quants); F16/BF16 weights with F16/BF16 activations.
 *   Σ w·x̃ over dequantized w and de-quantized x̃ equals ggml's integer dot products up to float summation order.
 * - "f32": exact float math on the stored weights (activations untouched): llama.cpp's `dequantF32` oracle.
 */
export type ActivationMode = "ggml" | "f32";

const f16Round = (x: number) => f16ToF32(f32ToF16(x));

/** Round half to even: ggml's nearest_int (it adds 1.5·2^23 in float) and _mm256_round_ps(_MM_ROUND_NEAREST). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Q8_0 / Q8_1 activations as ggml's x86 quantize_row_q8_0/_q8_1 (AVX2 and AVX-512 builds): 32-element blocks,
 * d = amax/127 stored as f16, q = round-half-even(x · (127/amax)). Not x · (1/d) and not roundf: the SIMD code
 * multiplies by 127/amax and rounds with _mm256_round_ps(_MM_ROUND_NEAREST). Activations built from quantized
 * weights (the embedding rows, their norms) hit exact .5 ties often, and an ulp in the multiplier moves near-ties.
 */
function roundQ8_0(x: Float32Array, n: number): void {
  for (let b = 0; b < n; b += 32) {
    let amax = 0;
    for (let i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(x[i]!));
    const id = amax !== 0 ? Math.fround(127 / amax) : 0;
    const d = Math.fround(amax / 127);
    const dh = f16Round(d);
    for (let i = b; i < b + 32; i++) x[i] = dh * roundEven(Math.fround(x[i]! * id));
  }
}

/**
 * Q8_K activations as ggml's quantize_row_q8_K_ref: 256-element blocks, iscale = -127 / (the signed element of largest
 * magnitude), q = min(127, nearest_int(iscale·x)) (ties to even), d = 1/iscale as f32.
 */
function roundQ8_K(x: Float32Array, n: number): void {
  for (let b = 0; b < n; b += 256) {
    let max = 0;
    let amax = 0;
    for (let i = b; i < b + 256; i++) {
      const a = Math.abs(x[i]!);
      if (a > amax) {
        amax = a;
        max = x[i]!;
      }
    }
    if (amax === 0) {
      x.fill(0, b, b + 256);
      continue;
    }
    const iscale = Math.fround(-127 / max);
    const d = Math.fround(1 / iscale);
    for (let i = b; i < b + 256; i++) {
      const q = Math.min(127, roundEven(Math.fround(iscale * x[i]!)));
      x[i] = Math.fround(d * q);
    }
  }
}

/** bf16 rounding (round to nearest even on the top 16 bits). */
const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);
function bf16Round(x: number): number {
  f32Bits[0] = x;
  const u = u32Bits[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return x; // NaN stays NaN
  u32Bits[0] = ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) << 16;
  return f32Bits[0]!;
}

/**
 * Rounds the first n activations (one matmul input row) in place for a matmul against weights of `weightType`.
 * (Q8_0/Q4_0/Q5_0/Q4_1/Q5_1/F16 matmuls in "ggml" mode go through ggml-dot.ts, which also keeps Q8_1's s-term.)
 */
export function roundActivations(weightType: number, x: Float32Array, n: number): void {
  switch (weightType) {
    case GgmlType.Q4_0:
    case GgmlType.Q5_0:
    case GgmlType.Q8_0:
    case GgmlType.Q4_1:
    case GgmlType.Q5_1:
      if (n % 32 === 0) roundQ8_0(x, n);
      return;
    case GgmlType.Q2_K:
    case GgmlType.Q3_K:
    case GgmlType.Q4_K:
    case GgmlType.Q5_K:
    case GgmlType.Q6_K:
      if (n % 256 === 0) roundQ8_K(x, n);
      return;
    case GgmlType.F16:
      for (let i = 0; i < n; i++) x[i] = f16Round(x[i]!);
      return;
    case GgmlType.BF16:
      for (let i = 0; i < n; i++) x[i] = bf16Round(x[i]!);
      return;
    default:
      return;
  }
}
