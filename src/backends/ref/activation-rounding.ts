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

/** Round half away from zero, as C's roundf. */
const roundAway = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x));

/** Q8_0 / Q8_1 activations: 32-element blocks, d = amax/127 stored as f16, q = round(x / d). */
function roundQ8_0(x: Float32Array, n: number): void {
  for (let b = 0; b < n; b += 32) {
    let amax = 0;
    for (let i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(x[i]!));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const dh = f16Round(d);
    for (let i = b; i < b + 32; i++) x[i] = dh * roundAway(Math.fround(x[i]! * id));
  }
}

/** Q8_K activations: 256-element blocks, f32 scale from the signed element of largest magnitude, q in [-128, 127]. */
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
      const q = Math.min(127, Math.round(Math.fround(iscale * x[i]!)));
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

/** Rounds the first n activations (one matmul input row) in place for a matmul against weights of `weightType`. */
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
