// The reference backend's weight reads: a matrix row as floats (dequantized into scratch) and matmul, with ggml's dot products or plain loops per the activation mode.
import { GgmlType } from "../../gguf/ggml-types";
import { dequantizeRow } from "../../quant/index";
import { roundActivations, type ActivationMode } from "./activation-rounding";
import { matmulGgml } from "./ggml-dot";
import type { RefMatrix } from "./ref-handles";

export class RefMatmul {
  /** Dequantized row scratch, grown on demand. */
  private row = new Float32Array(0);
  /** Rounded copy of a matmul's input rows, grown on demand. */
  private xRounded = new Float32Array(0);

  constructor(private readonly activations: ActivationMode) {}

  /** Row r of w as float32, dequantized into the shared scratch (or a view of the F32 data). */
  matrixRow(w: RefMatrix, r: number): Float32Array {
    if (w.f32) return w.f32.subarray(r * w.cols, (r + 1) * w.cols);
    if (this.row.length < w.cols) this.row = new Float32Array(w.cols);
    dequantizeRow(w.type, w.bytes, r * w.rowBytes, this.row, 0, w.cols);
    return this.row;
  }

  /** o = x · mᵀ for nTokens rows of x. */
  matmul(o: Float32Array, m: RefMatrix, x: Float32Array, nTokens: number): void {
    const { rows, cols } = m;
    // Legacy quants, Q4_K (repacked), Q5_K, Q6_K, F16 and BF16 weights: ggml's own dot products, lane for lane (its float summation order decides
    // near-ties in the next activation rounding).
    if (this.activations === "ggml" && matmulGgml(o, m, x, nTokens, (r) => this.matrixRow(m, r), () => this.input(x, m, nTokens))) return;
    const xs = this.input(x, m, nTokens);
    // Row-outer: each weight row is dequantized once and dotted with every token (weights read once per call).
    for (let r = 0; r < rows; r++) {
      const row = this.matrixRow(m, r);
      for (let t = 0; t < nTokens; t++) {
        const xBase = t * cols;
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += row[c]! * xs[xBase + c]!;
        o[t * rows + r] = sum;
      }
    }
  }

  /** The matmul's input rows, rounded per the activation mode (a copy; the caller's buffer is untouched). */
  private input(x: Float32Array, w: RefMatrix, nTokens: number): Float32Array {
    if (this.activations === "f32" || w.type === GgmlType.F32) return x;
    const n = nTokens * w.cols;
    if (this.xRounded.length < n) this.xRounded = new Float32Array(n);
    const xr = this.xRounded;
    xr.set(x.subarray(0, n));
    for (let t = 0; t < nTokens; t++) {
      roundActivations(w.type, xr.subarray(t * w.cols, (t + 1) * w.cols), w.cols);
    }
    return xr;
  }
}
