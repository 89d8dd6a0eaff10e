// The Q4_0 prefill tiles on token-interleaved activations (quantize_q8_0_tiles + matmul_q4_0_tiles, the backend's Q4_0
// path): in both forms (Node's i16 tiles: one panel, or two unpacked panels from 8 tokens on; the fused two-panel
// ones) every batch gets the bits of matmul_q4_0_i16 on quantize_q8_0's rows, for rows not a multiple of 8, 1..9 and
// 17 tokens and 32·odd columns, at the unpacked panels' column bound (2048) and past it, and at the i16 lanes' widest
// sums and largest starts; SIMD128 gives matmul_q4_0's bits.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels } from "../../src/backends/wasm/kernel-exports";
import { GgmlType } from "../../src/gguf/ggml-types";
import { randomArray, seededRandom } from "./expected";
import { randomBlocks } from "./random-blocks";
import { type Fused, run, runTiles } from "./block32-matmul";

const TOKENS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 17];

/** Random Q4_0 weights and activations: the relaxed tiles, i16 and fused, give matmul_q4_0_i16's bits for each count. */
function expectBothFormsOnRandom(seed: number, rows: number, cols: number, tokenCounts: readonly number[]): void {
  const rand = seededRandom(seed);
  const bytes = randomBlocks(rand, GgmlType.Q4_0, rows, cols);
  const x = randomArray(rand, Math.max(...tokenCounts) * cols);
  for (const n of tokenCounts) {
    const plain = instantiateKernels(kernelModules().relaxed!) as Fused;
    const want = run(plain, plain.matmul_q4_0_i16, true, bytes, rows, cols, x.subarray(0, n * cols), n);
    expect(new Set(want).size, `${n} tokens`).toBeGreaterThan((n * rows) / 2);
    for (const fused of [0, 1]) {
      const k = instantiateKernels(kernelModules().relaxed!) as Fused;
      expect(Array.from(runTiles(k, fused, true, bytes, rows, cols, x.subarray(0, n * cols), n)), `fused ${fused}, ${n} tokens`).toEqual(Array.from(want));
    }
  }
}

describe("wasm-relaxed matmul_q4_0_tiles", () => {
  // [rows, cols]: 4 panels, the last of 1 row, 3 blocks; 10 panels, the last of 2, 9 blocks; 3 panels (a pair and one
  // alone), 7 blocks; 2 panels of 8 rows, one block; 6 panels, the pair's second of 2 rows, 5 blocks.
  it.each([
    [13, 96],
    [38, 288],
    [12, 224],
    [8, 32],
    [22, 160],
  ])("%i×%i: both forms give matmul_q4_0_i16's bits on quantize_q8_0's rows, 1..9 and 17 tokens", (rows, cols) => {
    expectBothFormsOnRandom(0x7f11e5 + rows * 5 + cols, rows, cols, TOKENS);
  });

  // The i16 form unpacks two panels at a time into a static buffer of 2048 columns: full at 2048, past it one packed
  // panel at a time (2080, 65 blocks); a prefill pass's 32 tokens (eight tiles on one unpack) and a tail past them.
  it.each([
    [22, 2048],
    [13, 2080],
  ])("%i×%i: both forms give matmul_q4_0_i16's bits, 8, 32 and 35 tokens", (rows, cols) => {
    expectBothFormsOnRandom(0x3b0a7d + rows * 5 + cols, rows, cols, [8, 32, 35]);
  });

  it("13×224: the widest i16 lanes and largest starts give the i16 steps' bits, Σ(n − 8)q·d·dx per block", () => {
    // As wasm-prefill-q4-tiles.test.ts: nibbles 15 on elements k ≡ 0, 1 (mod 4) of each 4-group, 8 elsewhere; against
    // ±127 alternating (lanes of 16·15·127 = 30480) and constant (starts of −4·32·127) activations.
    const rows = 13, cols = 224;
    const bytes = new Uint8Array((rows * cols) / 32 * 18);
    for (let b = 0; b < bytes.length; b += 18) {
      bytes.set([0x00, 0x38], b); // f16 d = 0.5
      for (let k = 0; k < 16; k++) bytes[b + 2 + k] = k % 4 < 2 ? 0xff : 0x88;
    }
    for (const [kind, sign] of [["alternating", 1], ["alternating", -1], ["constant", 1], ["constant", -1]] as const) {
      const x = new Float32Array(17 * cols).map((_, i) => (kind === "constant" || i % 4 < 2 ? sign : -sign));
      const per = (sign * 56 * cols) / 32;
      for (const n of TOKENS) {
        const plain = instantiateKernels(kernelModules().relaxed!) as Fused;
        const want = run(plain, plain.matmul_q4_0_i16, true, bytes, rows, cols, x.subarray(0, n * cols), n);
        for (const fused of [0, 1]) {
          const k = instantiateKernels(kernelModules().relaxed!) as Fused;
          const got = runTiles(k, fused, true, bytes, rows, cols, x.subarray(0, n * cols), n);
          expect(Array.from(new Float32Array(got.buffer)).every((v) => Math.abs(v - per) < 1e-3 * Math.abs(per)), `${kind} ${sign}, fused ${fused}, ${n} tokens`).toBe(true);
          expect(Array.from(got), `${kind} ${sign}, fused ${fused}, ${n} tokens`).toEqual(Array.from(want));
        }
      }
    }
  });
});

describe("wasm-simd128 matmul_q4_0_tiles", () => {
  it.each([
    [13, 96],
    [22, 160],
  ])("%i×%i: matmul_q4_0's bits on quantize_q8_0's rows (the tiles' layout is the rows' here), 1..9 and 17 tokens", (rows, cols) => {
    const rand = seededRandom(0x5f11e5 + rows * 5 + cols);
    const bytes = randomBlocks(rand, GgmlType.Q4_0, rows, cols);
    const x = randomArray(rand, 17 * cols);
    for (const n of TOKENS) {
      const a = instantiateKernels(kernelModules().simd128) as Fused;
      const want = run(a, a.matmul_q4_0, false, bytes, rows, cols, x.subarray(0, n * cols), n);
      const b = instantiateKernels(kernelModules().simd128) as Fused;
      expect(Array.from(runTiles(b, 0, false, bytes, rows, cols, x.subarray(0, n * cols), n)), `${n} tokens`).toEqual(Array.from(want));
    }
  });
});
