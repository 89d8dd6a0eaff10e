// Q8_0's one-token decode inside workerd, where decode_q8_0 takes its fused form (kernels/wasm/decode-q8-passes.ts:
// offset weights in vpdpbusd) if the engine's own dot-adds are vpdpbusd: decode_q8_0 and decode_q8_0_fused give
// matmul_q8_0_i16's one-token bits on full-range, 127 and −128 quants, 1 to 10 panels and many.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-workers";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";
import { DECODE_SCRATCH_PER_COL } from "../../src/backends/wasm/formats";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { packBlock32 } from "../../src/backends/wasm/repack";
import { GgmlType } from "../../src/gguf/ggml-types";
import { randomArray, seededRandom } from "../kernels/expected";
import { randomBlocks } from "../kernels/random-blocks";

type Entry = "matmul_q8_0_i16" | "decode_q8_0" | "decode_q8_0_fused";
type Fn = (out: number, wq: number, wd: number, xq: number, xd: number, xs: number, rows: number, cols: number, n: number) => void;

/** Output bits of one token through `entry` on a fresh relaxed instance. */
function run(entry: Entry, bytes: Uint8Array, rows: number, cols: number, x: Float32Array): Uint32Array {
  const k = instantiateKernels(kernelModules().relaxed!) as KernelExports & Record<Entry, Fn>;
  const mem = new LinearMemory(k.memory, k.heap_base());
  const w = packBlock32(mem, true, rows, cols, bytes, true);
  const xp = mem.alloc(cols * 4);
  mem.f32.set(x, xp / 4);
  const nb = cols / 32;
  const q = mem.alloc(cols * 3 + nb * 8), d = q + cols * 3, s = d + nb * 4;
  k.quantize_q8_0(xp, q, d, s, cols);
  const out = mem.alloc(rows * 4 + 64), guard = out + rows * 4;
  mem.u8.fill(0xa5, guard, guard + 64);
  const xe = mem.alloc(cols * DECODE_SCRATCH_PER_COL);
  k[entry](out, w.data, w.scales, q, d, s, rows, cols, entry === "matmul_q8_0_i16" ? 1 : xe);
  expect(Array.from(mem.u8.subarray(guard, guard + 64)).every((b) => b === 0xa5)).toBe(true);
  return new Uint32Array(k.memory.buffer.slice(out, out + rows * 4));
}

function engineVnni(): boolean {
  return (instantiateKernels(kernelModules().relaxed!) as unknown as { dot_add_fused(): number }).dot_add_fused() === 1;
}

describe("wasm-relaxed Q8_0 decode in workerd", () => {
  it("the engine's vpdpbusd answer (vnni) as dot_add_fused gives it", () => {
    const k = instantiateKernels(kernelModules().relaxed!) as unknown as { dot_add_fused(): number };
    const fused = k.dot_add_fused();
    console.log(`workerd: dot_add_fused() = ${fused} (decode_q8_0 fused where 1)`);
    expect([0, 1]).toContain(fused);
  });

  // rows: 1 to 10 panels (partial last panels of 1 to 3 rows), 172 and 200 (many passes, panels left over).
  it.each([[3, 96], [8, 160], [9, 288], [13, 32], [19, 96], [22, 160], [27, 288], [33, 32], [38, 96], [40, 160], [172, 160], [200, 576]] as const)(
    "%i×%i, random quants: decode_q8_0 and decode_q8_0_fused give matmul_q8_0_i16's bits", (rows, cols) => {
      const rand = seededRandom(0x8f05ed + rows * 7 + cols);
      const bytes = randomBlocks(rand, GgmlType.Q8_0, rows, cols);
      const x = randomArray(rand, cols);
      const want = run("matmul_q8_0_i16", bytes, rows, cols, x);
      expect(new Set(want).size).toBeGreaterThan(Math.min(rows, 8) / 2);
      expect(Array.from(run("decode_q8_0", bytes, rows, cols, x))).toEqual(Array.from(want));
      // The fused entry on full-range quants is exact only where the engine's dot-adds are vpdpbusd (a CPU without
      // AVX-VNNI lowers them to pmaddubsw, which saturates on offset weights): decode_q8_0 never takes it there.
      if (engineVnni()) expect(Array.from(run("decode_q8_0_fused", bytes, rows, cols, x))).toEqual(Array.from(want));
    });

  it.each([["127", 0x7f, 127], ["−128", 0x80, -128]] as const)("every quant %s against ±127: the largest dots, the same bits", (_name, byte, quant) => {
    const rows = 41, cols = 256;
    // f16 d = 0.5; offset weights 255 (127) or 0 (−128), each lane's four products 4·255·127 before the start.
    const bytes = new Uint8Array(((rows * cols) / 32) * 34).fill(byte);
    for (let b = 0; b < bytes.length; b += 34) bytes.set([0x00, 0x38], b);
    for (const sign of [1, -1]) {
      const x = new Float32Array(cols).fill(sign);
      const want = run("matmul_q8_0_i16", bytes, rows, cols, x);
      const each = quant * 0.5 * 256 * sign;
      expect(Array.from(new Float32Array(want.buffer)).every((v) => Math.abs(v - each) <= 1e-2 * Math.abs(each) + 1), `${sign}`).toBe(true);
      expect(Array.from(run("decode_q8_0", bytes, rows, cols, x)), `${sign}`).toEqual(Array.from(want));
      if (engineVnni()) expect(Array.from(run("decode_q8_0_fused", bytes, rows, cols, x)), `${sign}`).toEqual(Array.from(want));
    }
  });
});
