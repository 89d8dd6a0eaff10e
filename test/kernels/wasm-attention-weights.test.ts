// The f32 attention kernel's softmax weights must be softmaxRow's (the `softmax` export) bit for bit, extremes included:
// with a one-hot query the scores are one key dimension times 1/8 (exact), and one-hot value rows make each output the
// weights themselves, so the weights of every head, token and walk can be read back and compared.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";
import { attendF32 } from "./attention-f32-run";
import { seededRandom } from "./expected";

const builds = [
  ["wasm-simd128", () => kernelModules().simd128],
  ["wasm-relaxed", () => kernelModules().relaxed!],
] as const;

const D = 64; // head dim: a scale of exactly 1/8, and room for one-hot value rows up to 64 positions

/** Raw scores (before the 1/8) for nPos positions of one KV head: kind picks the distribution. */
function rawScores(kind: string, nPos: number, rand: () => number): Float32Array {
  const s = new Float32Array(nPos);
  for (let p = 0; p < nPos; p++) {
    const u = rand();
    if (kind === "normal") s[p] = 24 * u;
    else if (kind === "wide") s[p] = 8 * (-200 * Math.abs(u)); // many exps below 2^-126 (x < -87.34): 0
    else if (kind === "edge") s[p] = 8 * (p % 2 === 0 ? 0 : -87.33654 + (p - 16) * 1e-3); // around the flush threshold
    else if (kind === "flat") s[p] = 3;
    else if (kind === "negInf") s[p] = p % 3 === 1 ? -Infinity : 16 * u; // -Inf scores: weight 0
    else if (kind === "allNegInf") s[p] = -Infinity; // every x NaN: NaN weights
    else if (kind === "posInf") s[p] = p === nPos >> 1 ? Infinity : 16 * u; // Inf − Inf: NaN weights
    else if (kind === "nan") s[p] = p === nPos - 1 ? NaN : 16 * u;
    else if (kind === "zeros") s[p] = p % 2 ? -0 : 0;
    else throw new Error(kind);
  }
  return s;
}

/** softmaxRow's weights of the scaled scores, through the module's `softmax` export. */
function softmaxRow(k: KernelExports, scores: Float32Array): Float32Array {
  const p = (k.heap_base() + 15) & ~15;
  new Float32Array(k.memory.buffer).set(scores, p / 4);
  k.softmax(p, 1, scores.length);
  return new Float32Array(k.memory.buffer).slice(p / 4, p / 4 + scores.length);
}

const sameBits = (a: number, b: number): boolean => (Number.isNaN(a) && Number.isNaN(b)) || Object.is(a, b);

describe.each(builds)("%s: attention's softmax weights", (_label, module) => {
  const kinds = ["normal", "wide", "edge", "flat", "negInf", "allNegInf", "posInf", "nan", "zeros"];
  // [nHeads, nKvHeads, nPos, nTokens, touch]: decode (the per-head walk and the touched one), token pairs, GQA 1/2/3.
  const shapes = [
    [8, 4, 64, 1, 0],
    [9, 3, 37, 1, 0],
    [9, 3, 37, 1, 1],
    [2, 2, 5, 1, 0],
    [8, 4, 50, 3, 0],
    [6, 6, 19, 2, 1],
    [3, 1, 3, 1, 0],
  ] as const;
  it.each(kinds)("%s scores: every head's weights are softmaxRow's", (kind) => {
    const k = instantiateKernels(module());
    let compared = 0, flushed = 0;
    for (const [nHeads, nKvHeads, nPos, nTokens, touch] of shapes) {
      const rand = seededRandom(nHeads * 7919 + nPos * 31 + nTokens + kind.length);
      const group = nHeads / nKvHeads;
      // K: dimension 0 carries the raw score (its own per KV head), the other dimensions finite noise (times a
      // query zero: no effect). V: row p is one-hot at dimension p.
      const raw = Array.from({ length: nKvHeads }, () => rawScores(kind, nPos, rand));
      const kv = new Float32Array(nPos * nKvHeads * D), vv = new Float32Array(nPos * nKvHeads * D);
      for (let p = 0; p < nPos; p++) {
        for (let g = 0; g < nKvHeads; g++) {
          const row = (p * nKvHeads + g) * D;
          for (let d = 1; d < D; d++) kv[row + d] = 5 * rand();
          kv[row] = raw[g]![p]!;
          vv[row + p] = 1;
        }
      }
      const q = new Float32Array(nTokens * nHeads * D);
      for (let t = 0; t < nTokens; t++) for (let h = 0; h < nHeads; h++) q[(t * nHeads + h) * D] = 1;
      const out = attendF32(k, q, kv, vv, nPos, nTokens, nHeads, nKvHeads, D, 0, touch);
      for (let t = 0; t < nTokens; t++) {
        const len = nPos - nTokens + 1 + t; // token t sees positions 0..len-1
        for (let g = 0; g < nKvHeads; g++) {
          const want = softmaxRow(k, raw[g]!.slice(0, len).map((x) => x / 8));
          for (let j = 0; j < group; j++) {
            const o = (t * nHeads + g * group + j) * D;
            for (let p = 0; p < D; p++) {
              const got = out[o + p]!;
              if (p < len) {
                if (got === 0) flushed++;
                if (!sameBits(got, want[p]!)) throw new Error(`${kind} ${nHeads}/${nKvHeads} nPos ${nPos} token ${t} head ${g * group + j} weight ${p}: ${got} != ${want[p]}`);
              } else if (!Number.isNaN(want[0]!)) expect(got).toBe(0); // positions past the token's own: no weight
              compared++;
            }
          }
        }
      }
      if (kind === "normal") expect(out.some((w) => w > 0 && w < 1)).toBe(true);
      if (kind === "allNegInf" || kind === "posInf" || kind === "nan") expect(out.some(Number.isNaN)).toBe(true);
    }
    if (kind === "wide" || kind === "edge" || kind === "negInf") expect(flushed).toBeGreaterThan(0); // weights of exactly 0
    expect(compared).toBe(shapes.reduce((n, [h, , , t]) => n + h * t * D, 0));
  });
});
