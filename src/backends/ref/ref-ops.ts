// Plain-TS math for the reference backend: the executable spec each op of every other backend must match.
import { f16ToF32, f32ToF16 } from "../../quant/f16";
import type { AttentionShape, RopeParams } from "../backend";

/**
 * Root-mean-square normalisation of `nTokens` rows, bit for bit as ggml's rms_norm followed by its mul: the squares
 * are float32 products summed in float64 (ggml_float) in order, mean and 1/sqrtf(mean + eps) are float32, and
 * y = (x · scale) · w, each product rounded to float32. The output feeds the matmuls' activation quantization, where
 * one ulp can move a value across a rounding boundary.
 */
export function rmsnormRows(out: Float32Array, x: Float32Array, w: Float32Array, nTokens: number, eps: number): void {
  const f = Math.fround;
  const dim = w.length;
  for (let t = 0; t < nTokens; t++) {
    const base = t * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += f(x[base + i]! * x[base + i]!);
    const scale = f(1 / f(Math.sqrt(f(f(ss / dim) + f(eps)))));
    for (let i = 0; i < dim; i++) out[base + i] = f(f(x[base + i]! * scale) * w[i]!);
  }
}

/**
 * Rotates pair i of every head by pos * freqScale * base^(-2i/ropeDims) / factors[i]: pairs (2i, 2i+1) in llama's
 * "norm" style, (i, i + ropeDims/2) in the "neox" style.
 */
export function ropeRows(x: Float32Array, nTokens: number, pos0: number, p: RopeParams, factors?: Float32Array): void {
  const rowLen = p.nHeads * p.headDim;
  const half = p.ropeDims / 2;
  const neox = p.style === "neox";
  for (let t = 0; t < nTokens; t++) {
    const pos = (pos0 + t) * p.freqScale;
    for (let h = 0; h < p.nHeads; h++) {
      const base = t * rowLen + h * p.headDim;
      for (let i = 0; i < half; i++) {
        const theta = (pos * Math.pow(p.freqBase, (-2 * i) / p.ropeDims)) / (factors ? factors[i]! : 1);
        const c = Math.cos(theta);
        const s = Math.sin(theta);
        const ia = neox ? base + i : base + 2 * i;
        const ib = neox ? ia + half : ia + 1;
        const a = x[ia]!;
        const b = x[ib]!;
        x[ia] = a * c - b * s;
        x[ib] = a * s + b * c;
      }
    }
  }
}

/** In-place softmax of `rows` rows of length `len` (max-subtracted for stability). */
export function softmaxRows(x: Float32Array, rows: number, len: number, offset = 0): void {
  for (let r = 0; r < rows; r++) {
    const base = offset + r * len;
    let max = -Infinity;
    for (let i = 0; i < len; i++) if (x[base + i]! > max) max = x[base + i]!;
    let sum = 0;
    for (let i = 0; i < len; i++) {
      const e = Math.exp(x[base + i]! - max);
      x[base + i] = e;
      sum += e;
    }
    for (let i = 0; i < len; i++) x[base + i] = x[base + i]! / sum;
  }
}

/**
 * Causal GQA attention. k and v are one layer's caches laid out [pos][kvHead][headDim];
 * query t sits at position pos0 + t and sees positions 0..pos0+t. `weightsF16`: the softmax weights are rounded to
 * f16 before they weight V, as llama.cpp's non-flash attention does on an F16 cache (V·kq is an F16 matmul there).
 */
export function attentionRows(
  out: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  pos0: number,
  nTokens: number,
  shape: AttentionShape,
  scores: Float32Array,
  weightsF16 = false,
): void {
  const { nHeads, nKvHeads, headDim } = shape;
  const group = nHeads / nKvHeads;
  const kvDim = nKvHeads * headDim;
  const qDim = nHeads * headDim;
  const scale = 1 / Math.sqrt(headDim);
  for (let t = 0; t < nTokens; t++) {
    const nPos = pos0 + t + 1;
    for (let h = 0; h < nHeads; h++) {
      const kvHead = Math.floor(h / group);
      const qBase = t * qDim + h * headDim;
      for (let p = 0; p < nPos; p++) {
        const kBase = p * kvDim + kvHead * headDim;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += q[qBase + d]! * k[kBase + d]!;
        scores[p] = dot * scale;
      }
      softmaxRows(scores, 1, nPos);
      if (weightsF16) for (let p = 0; p < nPos; p++) scores[p] = f16ToF32(f32ToF16(scores[p]!));
      const oBase = t * qDim + h * headDim;
      for (let d = 0; d < headDim; d++) out[oBase + d] = 0;
      for (let p = 0; p < nPos; p++) {
        const a = scores[p]!;
        const vBase = p * kvDim + kvHead * headDim;
        for (let d = 0; d < headDim; d++) out[oBase + d] = out[oBase + d]! + a * v[vBase + d]!;
      }
    }
  }
}

/** SiLU(gate) * up, elementwise. */
export function swigluRows(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
}
