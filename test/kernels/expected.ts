// Independent float64 implementations of each backend op: the yardstick of the conformance suite.
import { dequantize } from "../../src/quant/index";
export { seededRandom } from "../helpers/random";

/** n values uniform in [-scale, scale). */
export function randomArray(rand: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

/** Normalised mean squared error, as ggml's test-backend-ops measures it: Σ(a-b)² / Σb². */
export function nmse(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length mismatch: ${got.length} vs ${want.length}`);
  let err = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    const d = got[i]! - want[i]!;
    err += d * d;
    ref += want[i]! * want[i]!;
  }
  return ref === 0 ? err : err / ref;
}

export function matmul64(type: number, bytes: Uint8Array, rows: number, cols: number, x: Float32Array, nTokens: number): Float64Array {
  const w = dequantize(type, bytes, rows * cols);
  const out = new Float64Array(nTokens * rows);
  for (let t = 0; t < nTokens; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += w[r * cols + c]! * x[t * cols + c]!;
      out[t * rows + r] = s;
    }
  }
  return out;
}

export function rmsnorm64(x: Float32Array, w: Float32Array, nTokens: number, eps: number): Float64Array {
  const dim = w.length;
  const out = new Float64Array(nTokens * dim);
  for (let t = 0; t < nTokens; t++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[t * dim + i]! ** 2;
    const s = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[t * dim + i] = x[t * dim + i]! * s * w[i]!;
  }
  return out;
}

/** RoPE in f64: pair i is (2i, 2i+1) ("norm") or (i, i + ropeDims/2) ("neox"), its angle divided by factors[i] when given. */
export function rope64(
  x: Float32Array,
  nTokens: number,
  pos0: number,
  nHeads: number,
  headDim: number,
  ropeDims: number,
  base: number,
  style: "norm" | "neox" = "norm",
  factors?: Float32Array,
): Float64Array {
  const out = Float64Array.from(x);
  const half = ropeDims / 2;
  for (let t = 0; t < nTokens; t++) {
    for (let h = 0; h < nHeads; h++) {
      const o = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const theta = ((pos0 + t) * base ** ((-2 * i) / ropeDims)) / (factors ? factors[i]! : 1);
        const [ia, ib] = style === "neox" ? [o + i, o + i + half] : [o + 2 * i, o + 2 * i + 1];
        const [a, b] = [x[ia]!, x[ib]!];
        out[ia] = a * Math.cos(theta) - b * Math.sin(theta);
        out[ib] = a * Math.sin(theta) + b * Math.cos(theta);
      }
    }
  }
  return out;
}

export function softmax64(x: ArrayLike<number>, rows: number, len: number): Float64Array {
  const out = new Float64Array(rows * len);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let i = 0; i < len; i++) max = Math.max(max, x[r * len + i]!);
    let sum = 0;
    for (let i = 0; i < len; i++) sum += out[r * len + i] = Math.exp(x[r * len + i]! - max);
    for (let i = 0; i < len; i++) out[r * len + i] = out[r * len + i]! / sum;
  }
  return out;
}

/**
 * Causal GQA attention over caches k, v laid out [pos][kvHead][headDim]; query t at position pos0 + t. `weight`
 * maps each softmax weight before it multiplies V (an f16 KV cache rounds them to f16).
 */
export function attention64(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  pos0: number,
  nTokens: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  weight: (w: number) => number = (w) => w,
): Float64Array {
  const out = new Float64Array(nTokens * nHeads * headDim);
  const kvDim = nKvHeads * headDim;
  for (let t = 0; t < nTokens; t++) {
    const n = pos0 + t + 1;
    for (let h = 0; h < nHeads; h++) {
      const kvh = Math.floor(h / (nHeads / nKvHeads));
      const scores = new Float64Array(n);
      for (let p = 0; p < n; p++) {
        let s = 0;
        for (let d = 0; d < headDim; d++) s += q[(t * nHeads + h) * headDim + d]! * k[p * kvDim + kvh * headDim + d]!;
        scores[p] = s / Math.sqrt(headDim);
      }
      const att = Array.from(softmax64(scores, 1, n), weight);
      for (let d = 0; d < headDim; d++) {
        let s = 0;
        for (let p = 0; p < n; p++) s += att[p]! * v[p * kvDim + kvh * headDim + d]!;
        out[(t * nHeads + h) * headDim + d] = s;
      }
    }
  }
  return out;
}
