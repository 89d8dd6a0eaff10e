// Q4_0 inside workerd, where the relaxed build may run its prefill tiles and decode with fused i32 dot-adds
// (kernels/wasm matmul-quant.ts dot_add_fused): each token of a batch gets the bits it gets alone, and both are the
// bits of the i16 steps (matmul_q4_0_i16), also on the backend's interleaved tiles (matmul_q4_0_tiles); likewise Q8_0, whose prefill tiles run fused dot-adds on offset weights where
// the probe answers 1 (matmul_q8_0 against matmul_q8_0_i16, full-range and extreme quants); the K-quant matmuls give the
// bits they give with the probe's answer set to 0.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-workers";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { packBlock32 } from "../../src/backends/wasm/repack";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { GgmlType } from "../../src/gguf/ggml-types";
import { runMatmul } from "../helpers/backend-ops";
import { randomArray, seededRandom } from "../kernels/expected";
import { randomBlocks } from "../kernels/random-blocks";
import { packQ4K, packQ5K, packQ6K } from "../../src/backends/wasm/repack-kquant";

type Matmul = (out: number, wq: number, wd: number, xq: number, xd: number, xs: number, rows: number, cols: number, n: number) => void;
type K = KernelExports & { matmul_q4_0_i16: Matmul; matmul_q8_0_i16: Matmul };

/** out bits of `mm` on rows×cols Q4_0 (q8: Q8_0) weights and the first n tokens of x, in the module's own linear memory. */
function run(k: K, mm: Matmul, q8: boolean, bytes: Uint8Array, rows: number, cols: number, x: Float32Array, n: number): Uint32Array {
  const mem = new LinearMemory(k.memory, k.heap_base());
  const w = packBlock32(mem, q8, rows, cols, bytes, true);
  const xp = mem.alloc(n * cols * 4);
  mem.f32.set(x.subarray(0, n * cols), xp / 4);
  const nb = (n * cols) / 32;
  const q = mem.alloc(n * cols * 3 + nb * 8);
  k.quantize_q8_0(xp, q, q + n * cols * 3, q + n * cols * 3 + nb * 4, n * cols);
  const out = mem.alloc(n * rows * 4);
  mm(out, w.data, w.scales, q, q + n * cols * 3, q + n * cols * 3 + nb * 4, rows, cols, n);
  return new Uint32Array(k.memory.buffer.slice(out, out + n * rows * 4));
}

describe("wasm-relaxed Q4_0 prefill and decode in workerd", () => {
  it("the fused-dot probe answers 0 or 1", () => {
    const k = instantiateKernels(kernelModules().relaxed!) as unknown as { dot_add_fused(): number };
    const fused = k.dot_add_fused();
    console.log(`workerd: dot_add_fused() = ${fused}`);
    expect([0, 1]).toContain(fused);
  });

  it.each([
    [38, 288],
    [71, 160],
  ])("%i×%i: batches of 4..11 tokens give each token its one-token bits", async (rows, cols) => {
    const rand = seededRandom(0x3f05ed + rows + cols);
    const bytes = randomBlocks(rand, GgmlType.Q4_0, rows, cols);
    const x = randomArray(rand, 11 * cols);
    const wasm = new WasmBackend(kernelModules().relaxed!);
    const alone: Float32Array[] = [];
    for (let t = 0; t < 11; t++) alone.push(await runMatmul(wasm, GgmlType.Q4_0, bytes, rows, cols, x.subarray(t * cols, (t + 1) * cols), 1));
    expect(new Set(alone[0]).size).toBeGreaterThan(rows / 2);
    for (let n = 4; n <= 11; n++) {
      const batch = await runMatmul(wasm, GgmlType.Q4_0, bytes, rows, cols, x.subarray(0, n * cols), n);
      for (let t = 0; t < n; t++) expect(Array.from(batch.subarray(t * rows, (t + 1) * rows)), `${n} tokens, token ${t}`).toEqual(Array.from(alone[t]!));
    }
  });

  // [rows, cols]: rows not a multiple of 8 (last panels of 2, 3 and 1 rows), 9, 5 and 3 blocks.
  it.each([
    [38, 288],
    [71, 160],
    [13, 96],
  ])("%i×%i: matmul_q4_0 gives matmul_q4_0_i16's bits for 1..11 and 17 tokens", (rows, cols) => {
    const rand = seededRandom(0x3f05ee + rows + cols);
    const bytes = randomBlocks(rand, GgmlType.Q4_0, rows, cols);
    const x = randomArray(rand, 17 * cols);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 17]) {
      const a = instantiateKernels(kernelModules().relaxed!) as K;
      const b = instantiateKernels(kernelModules().relaxed!) as K;
      const want = run(a, a.matmul_q4_0_i16, false, bytes, rows, cols, x, n);
      expect(new Set(want).size).toBeGreaterThan(rows / 2);
      expect(Array.from(run(b, b.matmul_q4_0, false, bytes, rows, cols, x, n)), `${n} tokens`).toEqual(Array.from(want));
    }
  });

  // The backend's Q4_0 path: quantize_q8_0_tiles's group-major tiles and matmul_q4_0_tiles (the fused two-panel
  // tile8 of prefill-q4t-fused.ts, tile4 for a last odd panel: 20 and 36 rows), the engine's own form. "0x00"/"0xff":
  // every nibble 0 (−8) or 15 (+7), f16 d = 0.5, against x = ±1 (q = ±127): the largest dots.
  it.each([
    ["random", 38, 288],
    ["random", 71, 160],
    ["random", 13, 96],
    ["random", 20, 96],
    ["random", 36, 64],
    ["0x00", 16, 256],
    ["0xff", 20, 256],
  ] as const)("Q4_0, %s, %i×%i: matmul_q4_0_tiles on quantize_q8_0_tiles gives matmul_q4_0_i16's bits for 1..11 and 17 tokens", (kind, rows, cols) => {
    const rand = seededRandom(0x3f05ef + rows + cols);
    let bytes = randomBlocks(rand, GgmlType.Q4_0, rows, cols);
    let x = randomArray(rand, 17 * cols);
    if (kind !== "random") {
      bytes = new Uint8Array(((rows * cols) / 32) * 18).fill(kind === "0xff" ? 0xff : 0x00);
      for (let b = 0; b < bytes.length; b += 18) bytes.set([0x00, 0x38], b);
      x = new Float32Array(17 * cols).map((_, i) => ((i / cols) & 1 ? -1 : 1) * (i % 3 === 0 ? 1 : 0.999));
    }
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 17]) {
      const a = instantiateKernels(kernelModules().relaxed!) as K;
      const want = run(a, a.matmul_q4_0_i16, false, bytes, rows, cols, x, n);
      if (kind === "random") expect(new Set(want).size).toBeGreaterThan(rows / 2);
      const k = instantiateKernels(kernelModules().relaxed!);
      const mem = new LinearMemory(k.memory, k.heap_base());
      const w = packBlock32(mem, false, rows, cols, bytes, true);
      const xp = mem.alloc(n * cols * 4);
      mem.f32.set(x.subarray(0, n * cols), xp / 4);
      const nb = (n * cols) / 32;
      const q = mem.alloc(n * cols * 3 + nb * 8), d = q + n * cols * 3, s = d + nb * 4;
      k.quantize_q8_0_tiles(xp, q, d, s, cols, n);
      const out = mem.alloc(n * rows * 4);
      k.matmul_q4_0_tiles(out, w.data, w.scales, q, d, s, rows, cols, n);
      expect(Array.from(new Uint32Array(k.memory.buffer.slice(out, out + n * rows * 4))), `${n} tokens`).toEqual(Array.from(want));
    }
  });

  it.each([
    ["random", 38, 288],
    ["random", 71, 160],
    ["random", 13, 96],
    ["127", 9, 256],
    ["−128", 9, 256],
  ] as const)("Q8_0, %s quants, %i×%i: matmul_q8_0 gives matmul_q8_0_i16's bits for 1..11 tokens", (kind, rows, cols) => {
    const rand = seededRandom(0x3f08ee + rows + cols);
    let bytes = randomBlocks(rand, GgmlType.Q8_0, rows, cols);
    let x = randomArray(rand, 11 * cols);
    if (kind !== "random") {
      // Every quant at 127 (or −128) and f16 d = 0.5, against x = ±1 (q = ±127): the largest dots, offset weights 255 (0).
      bytes = new Uint8Array(((rows * cols) / 32) * 34).fill(kind === "127" ? 0x7f : 0x80);
      for (let b = 0; b < bytes.length; b += 34) bytes.set([0x00, 0x38], b);
      x = new Float32Array(11 * cols).map((_, i) => ((i / cols) & 1 ? -1 : 1));
    }
    for (let n = 1; n <= 11; n++) {
      const a = instantiateKernels(kernelModules().relaxed!) as K;
      const b = instantiateKernels(kernelModules().relaxed!) as K;
      const want = run(a, a.matmul_q8_0_i16, true, bytes, rows, cols, x, n);
      expect(new Set(want).size).toBeGreaterThan(kind === "random" ? rows / 2 : Math.min(n, 2) - 1);
      if (kind !== "random") expect(Array.from(new Float32Array(want.buffer)).every((v) => Math.abs(Math.abs(v) - (kind === "127" ? 127 : 128) * 128) < 16)).toBe(true);
      expect(Array.from(run(b, b.matmul_q8_0, true, bytes, rows, cols, x, n)), `${n} tokens`).toEqual(Array.from(want));
    }
  });

  it.each([
    ["Q4_K", GgmlType.Q4_K, packQ4K, "matmul_q4_k"],
    ["Q5_K", GgmlType.Q5_K, packQ5K, "matmul_q5_k"],
    ["Q6_K", GgmlType.Q6_K, packQ6K, "matmul_q6_k"],
  ] as const)("%s: the probe's path gives the i16 steps' bits for 1..9 tokens (12×512)", (_name, type, pack, fn) => {
    type KMatmul = (out: number, w: number, xq: number, xd: number, xs: number, rows: number, cols: number, n: number) => void;
    type K = KernelExports & { set_dot_add_fused(v: number): void } & Record<string, unknown>;
    const rows = 12, cols = 512;
    const rand = seededRandom(0x3f05ef + type);
    const bytes = randomBlocks(rand, type, rows, cols);
    const x = randomArray(rand, 9 * cols);
    const runK = (fused: number | null, n: number): Uint32Array => {
      const k = instantiateKernels(kernelModules().relaxed!) as unknown as K;
      if (fused !== null) k.set_dot_add_fused(fused);
      const mem = new LinearMemory(k.memory, k.heap_base());
      const w = pack(mem, rows, cols, bytes, true);
      const xp = mem.alloc(n * cols * 4);
      mem.f32.set(x.subarray(0, n * cols), xp / 4);
      const nb = (n * cols) / 256;
      const q = mem.alloc(n * cols + nb * 116);
      k.quantize_q8_k(xp, q, q + n * cols, q + n * cols + nb * 4, n * cols);
      const out = mem.alloc(n * rows * 4);
      (k[fn] as KMatmul)(out, w.data, q, q + n * cols, q + n * cols + nb * 4, rows, cols, n);
      return new Uint32Array(k.memory.buffer.slice(out, out + n * rows * 4));
    };
    for (let n = 1; n <= 9; n++) {
      const want = runK(0, n);
      expect(new Set(want).size).toBeGreaterThan(Math.min(rows * n, 8) / 2);
      expect(Array.from(runK(null, n)), `${n} tokens`).toEqual(Array.from(want));
    }
  });
});
