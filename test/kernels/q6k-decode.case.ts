// Q6_K decode where the engine fuses i32 dot-adds runs two 4-row panels per pass (kernels/wasm/decode-q6k.ts), an odd
// last panel alone; elsewhere (the i16 form) one panel with the −32 term apart (decode-q6k-i16.ts): every panel count
// and last-panel row count gives the same bits both ways and as the prefill tile, also at the extremes (values −32
// and 31 under scales −128 and 127 against |q| = 127), and the dequantized weights' dot.
// Run in Node (test/kernels/wasm-q6k-decode.test.ts) and in workerd (test/workers/wasm-q6k-decode.test.ts), whose
// engine lowers the dot-adds to its own instructions; the caller imports its runtime's wasm loader first.
import { describe, expect, it } from "vitest";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { packQ6K } from "../../src/backends/wasm/repack-kquant";
import { GgmlType } from "../../src/gguf/ggml-types";
import { dequantizeRow } from "../../src/quant/dequantize";
import { f32ToF16 } from "../../src/quant/index";
import { randomArray, seededRandom } from "./expected";
import { randomBlocks } from "./random-blocks";

type Fused = KernelExports & { set_dot_add_fused(v: number): void };
type KMatmul = (out: number, w: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number) => void;

/** matmul_q6_k's output bits on the relaxed build with the fused-dot probe's answer set to `fused`, fresh instance. */
function run(fused: number, bytes: Uint8Array, rows: number, cols: number, x: Float32Array, n: number): Uint32Array {
  const k = instantiateKernels(kernelModules().relaxed!) as Fused;
  k.set_dot_add_fused(fused);
  const mem = new LinearMemory(k.memory, k.heap_base());
  const w = packQ6K(mem, rows, cols, bytes, true);
  const xp = mem.alloc(n * cols * 4);
  mem.f32.set(x.subarray(0, n * cols), xp / 4);
  const nb = (n * cols) / 256;
  const q = mem.alloc(n * cols + nb * 116);
  k.quantize_q8_k(xp, q, q + n * cols, q + n * cols + nb * 4, n * cols);
  const out = mem.alloc(n * rows * 4);
  (k as unknown as Record<string, KMatmul>).matmul_q6_k!(out, w.data, q, q + n * cols, q + n * cols + nb * 4, rows, cols, n);
  return new Uint32Array(k.memory.buffer.slice(out, out + n * rows * 4));
}

/** One Q6_K block (ggml layout: ql[128], qh[64], i8 scales[16], f16 d) of 256 unsigned values v (0..63, q = v − 32). */
function q6kBlock(v: readonly number[], scales: readonly number[], d: number): Uint8Array {
  const b = new Uint8Array(210);
  for (let h = 0; h < 2; h++) {
    for (let l = 0; l < 32; l++) {
      const [v0, v1, v2, v3] = [0, 32, 64, 96].map((o) => v[128 * h + l + o]!);
      b[64 * h + l] = (v0! & 15) | ((v2! & 15) << 4);
      b[64 * h + l + 32] = (v1! & 15) | ((v3! & 15) << 4);
      b[128 + 32 * h + l] = (v0! >> 4) | ((v1! >> 4) << 2) | ((v2! >> 4) << 4) | ((v3! >> 4) << 6);
    }
  }
  for (let j = 0; j < 16; j++) b[192 + j] = scales[j]! & 0xff;
  const h16 = f32ToF16(d);
  b[208] = h16 & 0xff;
  b[209] = h16 >>> 8;
  return b;
}

/** [Σ_c w[r, c]·x[t, c], Σ_c |w[r, c]·x[t, c]|] in f64 from the dequantized weights, [token][row]. */
function dequantDot(bytes: Uint8Array, rows: number, cols: number, x: Float32Array, n: number): [number, number][] {
  const w = new Float32Array(rows * cols);
  dequantizeRow(GgmlType.Q6_K, bytes, 0, w, 0, rows * cols);
  const out: [number, number][] = [];
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0, a = 0;
      for (let c = 0; c < cols; c++) {
        s += w[r * cols + c]! * x[t * cols + c]!;
        a += Math.abs(w[r * cols + c]! * x[t * cols + c]!);
      }
      out.push([s, a]);
    }
  }
  return out;
}

/** The cases under `label` (the runtime's name). */
export function runQ6kDecodeCases(label: string): void {
  describe(`${label}: wasm-relaxed Q6_K decode in panel pairs (fused i32 dot-adds)`, () => {
    // Panels: 1, 2, 3 (a pair and an odd one), 4 with a one-row last panel, 7 with a three-row one, 9.
    it.each([
      [4, 256],
      [8, 512],
      [12, 256],
      [13, 768],
      [27, 512],
      [36, 256],
    ])("%i×%i: 1..6 tokens give the i16 form's bits", (rows, cols) => {
      const rand = seededRandom(0x6b0 + rows * 31 + cols);
      const bytes = randomBlocks(rand, GgmlType.Q6_K, rows, cols);
      const x = randomArray(rand, 6 * cols);
      for (let n = 1; n <= 6; n++) {
        const want = run(0, bytes, rows, cols, x, n);
        expect(new Set(want).size).toBeGreaterThan((rows * n) / 2);
        expect(Array.from(run(1, bytes, rows, cols, x, n)), `${n} tokens`).toEqual(Array.from(want));
      }
    });

    // One token over 1 to 10 panels, each full and with a partial last panel (1 to 3 rows), and rows 11, 22 and 44:
    // every way a fused pass can split the panels (pairs p, p + P/2 and an odd one left; three per pass, as measured in
    // docs/kernels.md: a partial third panel, one or two left) gives the i16 form's bits.
    it("one token, 1..10 panels and rows 11, 22, 44: the i16 form's bits", () => {
      const counts = [...Array.from({ length: 10 }, (_, i) => [4 * i + 4, 4 * i + 3 - (i % 3)]).flat(), 11, 22, 44];
      for (const rows of counts) {
        for (const cols of [256, 512]) {
          const rand = seededRandom(0x6b3 + rows * 31 + cols);
          const bytes = randomBlocks(rand, GgmlType.Q6_K, rows, cols);
          const x = randomArray(rand, cols);
          const want = run(0, bytes, rows, cols, x, 1);
          expect(new Set(want).size, `${rows}×${cols}`).toBeGreaterThan(rows / 2);
          expect(Array.from(run(1, bytes, rows, cols, x, 1)), `${rows}×${cols}`).toEqual(Array.from(want));
        }
      }
    });

    // The i16 form's one-token decode (decode-q6k-i16.ts: the −32 term apart, each step pair settled and scaled by one
    // dot) and the fused pairs against the four-token prefill tile, whose sums keep the −32 start per sub-block: the
    // same bits.
    it.each([
      [4, 256],
      [13, 768],
      [27, 512],
      [36, 256],
      [5, 129 * 256], // past the 128 blocks of decode-q6k-i16.ts's X16: the −32 term's sums read per group instead
    ])("%i×%i: one token at a time gives the four-token tile's bits", (rows, cols) => {
      const rand = seededRandom(0x6b2 + rows * 31 + cols);
      const bytes = randomBlocks(rand, GgmlType.Q6_K, rows, cols);
      const x = randomArray(rand, 4 * cols);
      for (const fused of [0, 1]) {
        const tile = run(fused, bytes, rows, cols, x, 4);
        for (let t = 0; t < 4; t++) {
          const one = run(fused, bytes, rows, cols, x.subarray(t * cols), 1);
          expect(Array.from(one), `fused ${fused}, token ${t}`).toEqual(Array.from(tile.subarray(t * rows, (t + 1) * rows)));
        }
      }
    });

    it("values −32 and 31 under scales −128 and 127 against |q| = 127: the i16 form's bits and the dequantized dot", () => {
      const rows = 20, cols = 512; // five panels: two pairs and an odd one
      const rand = seededRandom(0x6b1);
      const blocks: Uint8Array[] = [];
      for (let r = 0; r < rows; r++) {
        for (let b = 0; b < cols / 256; b++) {
          // Each row its own pattern of extremes (a panel or row mixed up shows), some rows all −32 or all 31.
          const v = Array.from({ length: 256 }, (_, i) => (r % 5 === 0 ? 0 : r % 5 === 1 ? 63 : (i * (r + 3) + b) % 7 < 3 ? 0 : 63));
          const scales = Array.from({ length: 16 }, (_, j) => ((j + r + b) % 3 === 0 ? -128 : (j + r) % 3 === 1 ? 127 : Math.floor(rand() * 256) - 128));
          blocks.push(q6kBlock(v, scales, 0.25 + r / 64));
        }
      }
      const bytes = new Uint8Array(blocks.length * 210);
      blocks.forEach((b, i) => bytes.set(b, i * 210));
      for (const pattern of [() => 1, () => -1, (c: number) => (c % 3 === 0 ? -1 : 1)]) {
        const x = Float32Array.from({ length: 5 * cols }, (_, i) => pattern(i % cols) * (i < 2 * cols ? 1 : -1));
        const want = dequantDot(bytes, rows, cols, x, 5);
        for (let n = 1; n <= 5; n++) {
          const i16 = run(0, bytes, rows, cols, x, n);
          const fused = run(1, bytes, rows, cols, x, n);
          expect(Array.from(fused), `${n} tokens`).toEqual(Array.from(i16));
          const got = new Float32Array(fused.buffer);
          // The integer sums are exact: only the f32 scale products and block adds round.
          got.forEach((g, i) => expect(Math.abs(g - want[i]![0]), `${n} tokens, output ${i}`).toBeLessThanOrEqual(1e-5 * want[i]![1]));
        }
      }
    });
  });
}
