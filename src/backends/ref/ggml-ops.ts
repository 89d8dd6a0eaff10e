// ggml's x86 AVX-512 ("zen4"/"icelake" builds) f32 element ops emulated bit for bit: expf, silu·up, rope angles, softmax, dot sums.
//
// Why: llama.cpp quantizes matmul inputs (Q8_0/Q8_K/f16). A value one ulp away from ggml's lands on the other side
// of a rounding boundary now and then, and that moves the logits by a whole quantization step. Emulating each op's
// exact f32 operation order removes those flips. Math.fround(a·b + c) stands for an FMA: where a·b is exact in a
// double (two floats), only a 2^-29-rare double rounding can differ.

import { ggmlRopeTable } from "../rope-table";

const f = Math.fround;

/** ggml_v_expf for __m512 (ARM's optimized-routines expf, max error 1.45 + 0.5 ulp), one lane. */
export function expfSimd(x: number): number {
  const r = 12582912; // 0x1.8p23
  const z = f(x * 1.4426950216293335 + r); // fma(x, 0x1.715476p+0, r)
  const n = f(z - r);
  const b = f(f(x - n * 0.693145751953125) - n * 1.428606765330187e-6); // fnmadd(n, 0x1.7f7d1cp-20, fnmadd(n, 0x1.62e4p-1, x))
  const u = f(b * b);
  const p = f(f(0.008247390389442444 * b + 0.04189976677298546) * u + f(0.16668395698070526 * b + 0.4999912679195404));
  const j = f(p * u + f(0.9999994039535522 * b + 1));
  if (Math.abs(n) > 192) return n <= 0 ? 0 : Infinity;
  return f(j * 2 ** n); // _mm512_scalef_ps
}

/** _mm512_reduce_add_ps of 16 lanes at v[o..o+15]: halves 256+256, 128+128, then (0+2, 1+3), then the two. */
export function reduceAdd16(v: ArrayLike<number>, o: number): number {
  const t3 = new Array<number>(8);
  for (let i = 0; i < 8; i++) t3[i] = f(v[o + i + 8]! + v[o + i]!);
  const t6 = [f(t3[4]! + t3[0]!), f(t3[5]! + t3[1]!), f(t3[6]! + t3[2]!), f(t3[7]! + t3[3]!)];
  return f(f(t6[0]! + t6[2]!) + f(t6[1]! + t6[3]!));
}

/** ggml_vec_swiglu_f32 per row of rowLen: out = silu(gate)·up, 16 lanes of ggml_v_silu, then the tail with libm expf. */
export function swigluGgml(out: Float32Array, gate: Float32Array, up: Float32Array, n: number, rowLen: number): void {
  const simd = rowLen & ~15;
  for (let base = 0; base < n; base += rowLen) {
    for (let i = 0; i < rowLen; i++) {
      const x = gate[base + i]!;
      const e = i < simd ? expfSimd(f(0 - x)) : f(Math.exp(-x));
      out[base + i] = f(f(x / f(1 + e)) * up[base + i]!);
    }
  }
}

/**
 * ggml_vec_dot_f32 (AVX-512): four 16-lane FMA accumulators per 64 elements, folded (0+2, 1+3, then 0+1) and
 * _mm512_reduce_add_ps'd; the rest (n mod 64) added in order as rounded f32 products (no FMA: measured against
 * llama.cpp, as are kq = k·q over head_dim and kqv over the positions).
 */
export function dotF32(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number, lanes: Float32Array): number {
  const np = n & ~63;
  let sum = 0;
  if (np > 0) {
    lanes.fill(0, 0, 64);
    for (let l = 0; l < np; l += 64) for (let i = 0; i < 64; i++) lanes[i] = f(a[ao + l + i]! * b[bo + l + i]! + lanes[i]!);
    for (let i = 0; i < 16; i++) {
      lanes[i] = f(lanes[i]! + lanes[i + 32]!);
      lanes[i + 16] = f(lanes[i + 16]! + lanes[i + 48]!);
    }
    for (let i = 0; i < 16; i++) lanes[i] = f(lanes[i]! + lanes[i + 16]!);
    sum = reduceAdd16(lanes, 0);
  }
  for (let i = np; i < n; i++) sum = f(sum + f(a[ao + i]! * b[bo + i]!));
  return sum;
}

/** RoPE parameters as the ref backend receives them (see backend.ts RopeParams). */
interface RopeLike {
  nHeads: number;
  headDim: number;
  ropeDims: number;
  freqBase: number;
  freqScale: number;
  style?: string;
}

// rotate_pairs' x0·cos − x1·sin compiles to an FMA (GCC contracts by default): x0·cos stays exact, x1·sin is rounded.
function mulSub(x0: number, c: number, x1: number, s: number): number {
  return f(x0 * c - f(x1 * s));
}
function mulAdd(x0: number, s: number, x1: number, c: number): number {
  return f(x0 * s + f(x1 * c));
}

// The last table built: q and k of every layer of a forward pass rotate the same positions (glibc's angles cost ~1 µs each).
let lastTable: { key: string; factors?: Float32Array; table: Float32Array } = { key: "", table: new Float32Array(0) };
function ropeTable(nTokens: number, pos0: number, p: RopeLike, factors?: Float32Array): Float32Array {
  const key = `${nTokens}:${pos0}:${p.ropeDims}:${p.freqBase}:${p.freqScale}`;
  if (key !== lastTable.key || factors !== lastTable.factors) lastTable = { key, factors, table: ggmlRopeTable(nTokens, pos0, p, factors) };
  return lastTable.table;
}

/**
 * ggml's rope (ggml_rope_cache_init + rotate_pairs): theta starts at the position as a float and is multiplied by
 * theta_scale = powf(base, -2/n_dims) pair after pair (f32 products, not base^(-2i/n) per pair), cos/sin in f32.
 */
export function ropeGgml(x: Float32Array, nTokens: number, pos0: number, p: RopeLike, factors?: Float32Array): void {
  const rowLen = p.nHeads * p.headDim;
  const half = p.ropeDims / 2;
  const neox = p.style === "neox";
  const table = ropeTable(nTokens, pos0, p, factors);
  for (let t = 0; t < nTokens; t++) {
    for (let h = 0; h < p.nHeads; h++) {
      const base = t * rowLen + h * p.headDim;
      for (let i = 0; i < half; i++) {
        const c = table[2 * (t * half + i)]!;
        const s = table[2 * (t * half + i) + 1]!;
        const ia = neox ? base + i : base + 2 * i;
        const ib = neox ? ia + half : ia + 1;
        const x0 = x[ia]!;
        const x1 = x[ib]!;
        x[ia] = mulSub(x0, c, x1, s);
        x[ib] = mulAdd(x0, s, x1, c);
      }
    }
  }
}

/** Attention shape as the ref backend receives it. */
interface AttentionLike {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
}

/**
 * llama.cpp's non-flash attention on the CPU, op by op: kq = mul_mat(k, q) (dotF32), soft_max_ext (kq·scale with
 * scale = 1/sqrtf(head_dim), 16-lane ggml_v_expf, the sum in f64 of each 16-lane chunk's reduce_add, then ×(1/sum)
 * as f32), kqv = mul_mat(v, kq) over the positions, which the KV cache pads to a multiple of 16 with zero weights.
 */
export function attentionGgml(out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, pos0: number, nTokens: number, shape: AttentionLike): void {
  const { nHeads, nKvHeads, headDim } = shape;
  const group = nHeads / nKvHeads;
  const kvDim = nKvHeads * headDim;
  const qDim = nHeads * headDim;
  const scale = f(1 / f(Math.sqrt(headDim)));
  const nMax = ((pos0 + nTokens + 63) >> 6) << 6;
  const p = new Float32Array(nMax);
  const vcol = new Float32Array(nMax);
  const lanes = new Float32Array(64);
  for (let t = 0; t < nTokens; t++) {
    const nPos = pos0 + t + 1;
    const nPad = ((nPos + 15) >> 4) << 4; // softmax chunks of 16 (the cache's padding adds exact zeros)
    const nPad64 = ((nPos + 63) >> 6) << 6; // kqv: vec_dot over the padded positions, zero weights beyond nPos
    for (let h = 0; h < nHeads; h++) {
      const kvOff = Math.floor(h / group) * headDim;
      const qBase = t * qDim + h * headDim;
      let max = -Infinity;
      for (let j = 0; j < nPos; j++) {
        p[j] = f(dotF32(k, j * kvDim + kvOff, q, qBase, headDim, lanes) * scale);
        if (p[j]! > max) max = p[j]!;
      }
      let sum = 0;
      for (let j = 0; j < nPad; j++) p[j] = j < nPos ? expfSimd(f(p[j]! - max)) : 0;
      for (let j = 0; j < nPad; j += 16) sum += reduceAdd16(p, j);
      const inv = f(1 / sum);
      for (let j = 0; j < nPos; j++) p[j] = f(p[j]! * inv);
      p.fill(0, nPos, nPad64);
      for (let d = 0; d < headDim; d++) {
        for (let j = 0; j < nPad64; j++) vcol[j] = j < nPos ? v[j * kvDim + kvOff + d]! : 0;
        out[t * qDim + h * headDim + d] = dotF32(vcol, 0, p, 0, nPad64, lanes);
      }
    }
  }
}
