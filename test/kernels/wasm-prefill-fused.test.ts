// The relaxed build's Q4_0 prefill tiles and decode with i32 dot-adds (matmul_q4_0_fused, what matmul_q4_0 runs where
// the engine fuses them) give the i16 steps' bits (matmul_q4_0_i16) for every batch size, last-panel row count and odd
// block count, also at the largest nibbles against |q| = 127; likewise the K-quant matmuls with the probe's answer set
// to 1 (set_dot_add_fused) against their bits with it set to 0. Q8_0's fused prefill tiles (matmul_q8_0_fused: offset
// weights, exact here only for quants ≤ 0 since Node's V8 lowers the dot-adds to saturating pmaddubsw) against the
// i16 steps (matmul_q8_0_i16); matmul_q8_0 stays exact on this engine even with the probe's answer set to 1.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels } from "../../src/backends/wasm/kernel-exports";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { GgmlType } from "../../src/gguf/ggml-types";
import { randomArray, seededRandom } from "./expected";
import { F16_FIELDS, randomBlocks } from "./random-blocks";
import { packQ4K, packQ5K, packQ6K } from "../../src/backends/wasm/repack-kquant";
import { type Fused, run } from "./block32-matmul";

type KMatmul = (out: number, w: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number) => void;

describe("wasm Q4_0 prefill and decode with fused i32 dot-adds", () => {
  it("the probe answers 0 or 1 on the relaxed build, the same each time, and 0 on SIMD128", () => {
    const relaxed = instantiateKernels(kernelModules().relaxed!) as Fused;
    const first = relaxed.dot_add_fused();
    expect([0, 1]).toContain(first);
    expect(relaxed.dot_add_fused()).toBe(first);
    expect((instantiateKernels(kernelModules().simd128) as Fused).dot_add_fused()).toBe(0);
  });

  // [rows, cols]: last panels of 1, 2, 3 and 4 rows; 1, 9, 5 and 48 blocks.
  it.each([
    [5, 32],
    [38, 288],
    [71, 160],
    [64, 1536],
  ])("%i×%i: batches of 1..11 tokens give the i16 steps' bits (relaxed and SIMD128 builds)", (rows, cols) => {
    for (const [relaxed, module] of [[true, kernelModules().relaxed!], [false, kernelModules().simd128]] as const) {
      const rand = seededRandom(0xf05ed + rows * 3 + cols);
      const bytes = randomBlocks(rand, GgmlType.Q4_0, rows, cols);
      const x = randomArray(rand, 11 * cols);
      for (let n = 1; n <= 11; n++) {
        const xs = x.subarray(0, n * cols);
        const plain = instantiateKernels(module) as Fused;
        const fused = instantiateKernels(module) as Fused;
        const want = run(plain, plain.matmul_q4_0_i16, relaxed, bytes, rows, cols, xs, n);
        const got = run(fused, fused.matmul_q4_0_fused, relaxed, bytes, rows, cols, xs, n);
        expect(new Set(new Float32Array(want.buffer)).size).toBeGreaterThan(Math.min(rows * n, 8) / 2);
        expect(Array.from(got), `${relaxed ? "relaxed" : "simd128"}, ${n} tokens`).toEqual(Array.from(want));
      }
    }
  });

  it("every nibble 15 against |q| = 127 (the largest dots): the i16 steps' bits, 1..6 tokens", () => {
    const rows = 9, cols = 256;
    // Q4_0 blocks: f16 d = 0.5, then 16 bytes of 0xff (every value 15, i.e. +7 after the −8 offset).
    const bytes = new Uint8Array((rows * cols) / 32 * 18).fill(0xff);
    for (let b = 0; b < bytes.length; b += 18) bytes.set([0x00, 0x38], b);
    for (const sign of [1, -1]) {
      const x = new Float32Array(6 * cols).fill(sign);
      for (let n = 1; n <= 6; n++) {
        const plain = instantiateKernels(kernelModules().relaxed!) as Fused;
        const fused = instantiateKernels(kernelModules().relaxed!) as Fused;
        const want = run(plain, plain.matmul_q4_0_i16, true, bytes, rows, cols, x.subarray(0, n * cols), n);
        const got = run(fused, fused.matmul_q4_0_fused, true, bytes, rows, cols, x.subarray(0, n * cols), n);
        // 256 values of 7·0.5 against ±1: ±896 per row.
        expect(Array.from(new Float32Array(want.buffer)).every((v) => Math.abs(Math.abs(v) - 896) < 1), `${sign}, ${n} tokens`).toBe(true);
        expect(Array.from(got), `${sign}, ${n} tokens`).toEqual(Array.from(want));
      }
    }
  });
});

/** Q8_0 blocks with every quant made ≤ 0 (−|q|; −128 stays): the range pmaddubsw's dot-adds give exactly. */
function nonPositiveQ8(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  for (let b = 0; b < out.length; b += 34) for (let i = b + 2; i < b + 34; i++) out[i] = -Math.abs((out[i]! << 24) >> 24) & 0xff;
  return out;
}

describe("wasm Q8_0 prefill tiles with fused i32 dot-adds on offset weights", () => {
  // [rows, cols]: last panels of 1, 2, 3 and 4 rows; 1, 9, 5, 3 and 48 blocks; 5 panels (two pairs of the two-panel
  // tile and one alone).
  it.each([
    [5, 32],
    [38, 288],
    [71, 160],
    [13, 96],
    [64, 1536],
    [20, 96],
  ])("%i×%i, quants ≤ 0: batches of 1..11 tokens give the i16 steps' bits", (rows, cols) => {
    const rand = seededRandom(0x08f05ed + rows * 3 + cols);
    const bytes = nonPositiveQ8(randomBlocks(rand, GgmlType.Q8_0, rows, cols));
    const x = randomArray(rand, 11 * cols);
    for (let n = 1; n <= 11; n++) {
      const xs = x.subarray(0, n * cols);
      const plain = instantiateKernels(kernelModules().relaxed!) as Fused;
      const fused = instantiateKernels(kernelModules().relaxed!) as Fused;
      const want = run(plain, plain.matmul_q8_0_i16, true, bytes, rows, cols, xs, n, true);
      const got = run(fused, fused.matmul_q8_0_fused, true, bytes, rows, cols, xs, n, true);
      expect(new Set(new Float32Array(want.buffer)).size).toBeGreaterThan(Math.min(rows * n, 8) / 2);
      expect(Array.from(got), `${n} tokens`).toEqual(Array.from(want));
    }
  });

  it("quants −128 and −127 against |q| = 127 (the largest dots): the i16 steps' bits, 1..9 tokens", () => {
    const rows = 9, cols = 256;
    for (const [quant, sum] of [[0x80, 128], [0x81, 127]] as const) {
      // Q8_0 blocks: f16 d = 0.5, then 32 quants of `quant`; 256 of them against ±1 (q = ±127, d = f16(1/127)): ∓sum·128.
      const bytes = new Uint8Array(((rows * cols) / 32) * 34).fill(quant);
      for (let b = 0; b < bytes.length; b += 34) bytes.set([0x00, 0x38], b);
      for (const sign of [1, -1]) {
        const x = new Float32Array(9 * cols).fill(sign);
        for (let n = 1; n <= 9; n++) {
          const plain = instantiateKernels(kernelModules().relaxed!) as Fused;
          const fused = instantiateKernels(kernelModules().relaxed!) as Fused;
          const want = run(plain, plain.matmul_q8_0_i16, true, bytes, rows, cols, x.subarray(0, n * cols), n, true);
          const got = run(fused, fused.matmul_q8_0_fused, true, bytes, rows, cols, x.subarray(0, n * cols), n, true);
          expect(Array.from(new Float32Array(want.buffer)).every((v) => Math.abs(v / (-sign * sum * 128) - 1) < 1e-3), `${quant}, ${sign}, ${n} tokens`).toBe(true);
          expect(Array.from(got), `${quant}, ${sign}, ${n} tokens`).toEqual(Array.from(want));
        }
      }
    }
  });

  it("matmul_q8_0 with the probe's answer set to 1 still gives the i16 steps' bits for full-range quants (1..9 tokens)", () => {
    const rows = 38, cols = 288;
    const rand = seededRandom(0x08f05ee);
    const bytes = randomBlocks(rand, GgmlType.Q8_0, rows, cols);
    const x = randomArray(rand, 9 * cols);
    for (let n = 1; n <= 9; n++) {
      const plain = instantiateKernels(kernelModules().relaxed!) as Fused;
      const forced = instantiateKernels(kernelModules().relaxed!) as Fused;
      forced.set_dot_add_fused(1);
      const want = run(plain, plain.matmul_q8_0_i16, true, bytes, rows, cols, x.subarray(0, n * cols), n, true);
      expect(new Set(want).size).toBeGreaterThan(rows / 2);
      expect(Array.from(run(forced, forced.matmul_q8_0, true, bytes, rows, cols, x.subarray(0, n * cols), n, true)), `${n} tokens`).toEqual(Array.from(want));
    }
  });
});

const KQUANTS = [
  ["Q4_K", GgmlType.Q4_K, packQ4K, "matmul_q4_k"],
  ["Q5_K", GgmlType.Q5_K, packQ5K, "matmul_q5_k"],
  ["Q6_K", GgmlType.Q6_K, packQ6K, "matmul_q6_k"],
] as const;

/** out bits of the relaxed build's K-quant matmul `fn` with dot_add_fused set to `fused`, on a fresh instance. */
function runK(fused: number, pack: typeof packQ4K, fn: string, bytes: Uint8Array, rows: number, cols: number, x: Float32Array, n: number): Uint32Array {
  const k = instantiateKernels(kernelModules().relaxed!) as Fused;
  k.set_dot_add_fused(fused);
  const mem = new LinearMemory(k.memory, k.heap_base());
  const w = pack(mem, rows, cols, bytes, true);
  const xp = mem.alloc(n * cols * 4);
  mem.f32.set(x.subarray(0, n * cols), xp / 4);
  const nb = (n * cols) / 256;
  const q = mem.alloc(n * cols + nb * 116);
  k.quantize_q8_k(xp, q, q + n * cols, q + n * cols + nb * 4, n * cols);
  const out = mem.alloc(n * rows * 4);
  (k as unknown as Record<string, KMatmul>)[fn]!(out, w.data, q, q + n * cols, q + n * cols + nb * 4, rows, cols, n);
  return new Uint32Array(k.memory.buffer.slice(out, out + n * rows * 4));
}

describe.each(KQUANTS)("wasm-relaxed %s with fused i32 dot-adds", (_name, type, pack, fn) => {
  // 5 rows: one panel and a one-row panel; 12: the two-panel prefill tile beside a one-panel one.
  it.each([
    [5, 256],
    [12, 512],
  ])("%i×%i: 1..9 tokens give the i16 steps' bits", (rows, cols) => {
    const rand = seededRandom(0xf05ed + type * 7 + rows);
    const bytes = randomBlocks(rand, type, rows, cols);
    const x = randomArray(rand, 9 * cols);
    for (let n = 1; n <= 9; n++) {
      const want = runK(0, pack, fn, bytes, rows, cols, x, n);
      expect(new Set(want).size).toBeGreaterThan(Math.min(rows * n, 8) / 2);
      expect(Array.from(runK(1, pack, fn, bytes, rows, cols, x, n)), `${n} tokens`).toEqual(Array.from(want));
    }
  });

  it("every value and scale at its largest against |q| = 127: the i16 steps' bits, 1..9 tokens", () => {
    const rows = 12, cols = 512;
    const info = { Q4_K: 144, Q5_K: 176, Q6_K: 210 }[_name];
    const bytes = new Uint8Array((rows * cols) / 256 * info).fill(0xff);
    for (let b = 0; b < bytes.length; b += info) for (const f of F16_FIELDS.get(type)!) bytes.set([0x00, 0x38], b + f); // f16 0.5
    for (const sign of [1, -1]) {
      const x = new Float32Array(9 * cols).fill(sign);
      for (let n = 1; n <= 9; n++) {
        const want = runK(0, pack, fn, bytes, rows, cols, x, n);
        expect(Array.from(new Float32Array(want.buffer)).every((v) => Number.isFinite(v) && v !== 0)).toBe(true);
        expect(Array.from(runK(1, pack, fn, bytes, rows, cols, x, n)), `${sign}, ${n} tokens`).toEqual(Array.from(want));
      }
    }
  });
});
