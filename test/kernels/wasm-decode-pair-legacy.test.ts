// The one-token Q5_0 / Q5_1 kernels (decode_q5_0, decode_q5_1: two panels per pass on expanded activations) give
// matmul_q5_0 / matmul_q5_1's bits for one token: every last-panel row count, odd and even panel counts, both builds,
// relaxed with either answer of the dot-add probe (pairs where it answers 1, one panel per pass where 0), the largest dots (every 5-bit quant 31 or 0 against ±127), and Inf/NaN/subnormal scales in either panel of a pair.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";
import { DECODE_SCRATCH_PER_COL } from "../../src/backends/wasm/formats";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { packLegacy } from "../../src/backends/wasm/repack-legacy";
import { GGML_TYPES, GgmlType } from "../../src/gguf/ggml-types";
import { randomArray, seededRandom } from "./expected";
import { randomBlocks } from "./random-blocks";

// [name, relaxed build, dot_add_fused answer (−1: the engine's own)]
const BUILDS = [
  ["relaxed, fused dot-adds", true, 1],
  ["relaxed, i16 dot-adds", true, 0],
  ["simd128", false, -1],
] as const;
type Probe = KernelExports & { set_dot_add_fused(v: number): void };
const FORMATS = [
  ["Q5_0", GgmlType.Q5_0, "q5_0"],
  ["Q5_1", GgmlType.Q5_1, "q5_1"],
] as const;
type Format = readonly [name: string, type: GgmlType, legacy: "q5_0" | "q5_1"];

/** Output bits of one token through matmul_q5_* (decode = false) or decode_q5_* (true), on a fresh instance. */
function run(relaxed: boolean, fused: number, f: Format, decode: boolean, bytes: Uint8Array, rows: number, cols: number, x: Float32Array): Uint32Array {
  const k = instantiateKernels(relaxed ? kernelModules().relaxed! : kernelModules().simd128) as Probe;
  if (relaxed) k.set_dot_add_fused(fused);
  const mem = new LinearMemory(k.memory, k.heap_base());
  const w = packLegacy(f[2], mem, rows, cols, bytes, relaxed);
  const xp = mem.alloc(cols * 4);
  mem.f32.set(x, xp / 4);
  const nb = cols / 32;
  const q = mem.alloc(cols * 3 + nb * 12);
  const [d, s, st] = [q + cols * 3, q + cols * 3 + nb * 4, q + cols * 3 + nb * 8];
  if (f[1] === GgmlType.Q5_1) k.quantize_q8_1(xp, q, d, s, st, cols);
  else k.quantize_q8_0(xp, q, d, s, cols);
  const out = mem.alloc(rows * 4 + 64);
  const guard = out + rows * 4; // the rows past the last must stay untouched
  mem.u8.fill(0xa5, guard, guard + 64);
  const xe = mem.alloc(cols * DECODE_SCRATCH_PER_COL);
  if (decode) (f[1] === GgmlType.Q5_1 ? k.decode_q5_1 : k.decode_q5_0)(out, w.data, q, d, s, st, rows, cols, xe);
  else (f[1] === GgmlType.Q5_1 ? k.matmul_q5_1 : k.matmul_q5_0)(out, w.data, q, d, s, st, rows, cols, 1);
  expect(Array.from(mem.u8.subarray(guard, guard + 64)).every((b) => b === 0xa5)).toBe(true);
  return new Uint32Array(k.memory.buffer.slice(out, out + rows * 4));
}

/** Sets the f16 at byte `field` of block b of row `row` (d at 0, Q5_1's m at 2). */
function setF16(bytes: Uint8Array, type: number, cols: number, row: number, b: number, field: number, h: number): void {
  const at = (row * (cols / 32) + b) * GGML_TYPES.get(type)!.typeSize + field;
  bytes[at] = h & 0xff;
  bytes[at + 1] = h >> 8;
}

describe.each(BUILDS)("wasm-%s: one-token Q5_0 / Q5_1 decode kernels", (_build, relaxed, fused) => {
  // rows: 1..4 (one panel alone), 5..8 (one pair), 9..13 (a pair and a last panel), 38, 70, 172 (many pairs);
  // cols: 1, 5, 9, 18 (SmolLM2's 576) and 48 blocks.
  it.each(FORMATS)("%s: the bits of the matmul kernel for one token", (...f) => {
    for (const [rows, cols] of [[1, 32], [3, 160], [4, 288], [5, 32], [7, 288], [8, 160], [9, 288], [12, 32], [13, 1536], [38, 288], [70, 576], [172, 160]] as const) {
      const rand = seededRandom(0xd5 + f[1] * 31 + rows * 7 + cols);
      const bytes = randomBlocks(rand, f[1], rows, cols);
      const x = randomArray(rand, cols);
      const want = run(relaxed, fused, f, false, bytes, rows, cols, x);
      expect(new Set(want).size, `${rows}×${cols}`).toBeGreaterThan(Math.min(rows, 8) / 2);
      expect(Array.from(new Float32Array(want.buffer)).every(Number.isFinite)).toBe(true);
      expect(Array.from(run(relaxed, fused, f, true, bytes, rows, cols, x)), `${rows}×${cols}`).toEqual(Array.from(want));
    }
  });

  it.each(FORMATS)("%s: the largest dots (every quant 31 or 0 against |q| = 127)", (...f) => {
    const [type] = [f[1]];
    const rows = 13, cols = 256;
    const block = GGML_TYPES.get(type)!.typeSize;
    const q5_1 = type === GgmlType.Q5_1;
    for (const fill of [0xff, 0x00]) {
      // Every quant byte and every fifth bit `fill` (quant 31: +15 after Q5_0's offset, or 0: −16); d = 0.5, m = 0.
      const bytes = new Uint8Array((rows * cols) / 32 * block).fill(fill);
      for (let b = 0; b < bytes.length; b += block) bytes.set(q5_1 ? [0x00, 0x38, 0x00, 0x00] : [0x00, 0x38], b);
      for (const sign of [1, -1]) {
        const x = new Float32Array(cols).fill(sign);
        const want = run(relaxed, fused, f, false, bytes, rows, cols, x);
        const q = fill === 0xff ? 31 : 0;
        const each = (q5_1 ? q : q - 16) * 0.5 * cols * sign;
        expect(Array.from(new Float32Array(want.buffer)).every((v) => Math.abs(v - each) <= 1e-3 * Math.abs(each) + 1e-3), `${fill} ${sign}`).toBe(true);
        expect(Array.from(run(relaxed, fused, f, true, bytes, rows, cols, x)), `${fill} ${sign}`).toEqual(Array.from(want));
      }
    }
  });

  it.each(FORMATS)("%s: Inf, NaN and subnormal scales in the first, the second or the lone panel", (...f) => {
    const type = f[1];
    const rows = 19, cols = 96; // 5 panels: pairs (0, 2) and (1, 3), panel 4 alone
    for (const [row, field, h] of [[1, 0, 0x7c00], [9, 0, 0xfe00], [13, 0, 0x0003], [17, 0, 0x7c00], [6, 2, 0xfc00]] as const) {
      if (field === 2 && type !== GgmlType.Q5_1) continue;
      const rand = seededRandom(0x5ca1e + type + row);
      const bytes = randomBlocks(rand, type, rows, cols);
      setF16(bytes, type, cols, row, 1, field, h);
      const x = randomArray(rand, cols);
      const want = run(relaxed, fused, f, false, bytes, rows, cols, x);
      const got = run(relaxed, fused, f, true, bytes, rows, cols, x);
      expect(Array.from(got), `row ${row}`).toEqual(Array.from(want));
      const v = new Float32Array(got.buffer);
      expect(Number.isFinite(v[row]!), `row ${row}`).toBe(h === 0x0003);
      expect(v.filter((_, r) => r !== row).every(Number.isFinite)).toBe(true);
    }
  });
});
