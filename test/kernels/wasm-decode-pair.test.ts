// The one-token Q8_0 / Q4_0 kernels (decode_q8_0, decode_q4_0: several panels per pass on expanded activations) give
// matmul_q8_0 / matmul_q4_0's bits for one token: every last-panel row count, 1 to 10 panels and many (pairs, triples
// and the panels left over), both builds, relaxed Q4_0 with either answer of the dot-add probe, and the largest dots
// (nibble 15 or ±127 against ±127). decode_q8_0_fused (relaxed Q8_0's vpdpbusd form, which decode_q8_0 takes only
// where the engine's own dot-adds are vpdpbusd) is held to the same bits here on quants ≤ 0 (offset weights ≤ 128,
// exact in Node's pmaddubsw lowering too); test/workers/wasm-decode-q8-fused.test.ts runs it on full-range quants.
// Relaxed Q8_0 runs its split form where dot_i7_unsigned() answers 1 (Node on x86) and the i16 pairs where it is
// set to 0: both are held to the same bits, and the scratch shows which form ran.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";
import { DECODE_SCRATCH_PER_COL } from "../../src/backends/wasm/formats";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { packBlock32 } from "../../src/backends/wasm/repack";
import { GgmlType } from "../../src/gguf/ggml-types";
import { randomArray, seededRandom } from "./expected";
import { randomBlocks } from "./random-blocks";

type Probe = KernelExports & { set_dot_add_fused(v: number): void; dot_i7_unsigned(): number; set_dot_i7_unsigned(v: number): void };
/** A kernel build, dot_add_fused's answer, and whether dot_i7_unsigned keeps the engine's answer (false: set to 0). */
type Build = readonly [name: string, relaxed: boolean, fused: number, split: boolean];
const BUILDS: readonly Build[] = [
  ["relaxed", true, 0, true],
  ["relaxed", true, 1, true],
  ["relaxed", true, 0, false],
  ["simd128", false, 0, true],
];
const FORMATS = [
  ["Q8_0", GgmlType.Q8_0, true, 34],
  ["Q4_0", GgmlType.Q4_0, false, 18],
] as const;

/** A fresh instance of the build, its probes set as the build says. */
function instance(build: Build): Probe {
  const [, relaxed, fused, split] = build;
  const k = instantiateKernels(relaxed ? kernelModules().relaxed! : kernelModules().simd128) as Probe;
  k.set_dot_add_fused(fused);
  if (!split) k.set_dot_i7_unsigned(0);
  return k;
}

/**
 * Output bits of one token through matmul_* (decode = false) or decode_* (true), on a fresh instance; `scratch`
 * receives the decode scratch's first 32 bytes.
 */
function run(build: Build, q8: boolean, decode: boolean | "fused", bytes: Uint8Array, rows: number, cols: number, x: Float32Array, scratch?: Uint8Array): Uint32Array {
  const relaxed = build[1];
  const k = instance(build);
  const mem = new LinearMemory(k.memory, k.heap_base());
  const w = packBlock32(mem, q8, rows, cols, bytes, relaxed);
  const xp = mem.alloc(cols * 4);
  mem.f32.set(x, xp / 4);
  const nb = cols / 32;
  const q = mem.alloc(cols * 3 + nb * 8);
  const [d, s] = [q + cols * 3, q + cols * 3 + nb * 4];
  k.quantize_q8_0(xp, q, d, s, cols);
  const out = mem.alloc(rows * 4 + 64);
  const guard = out + rows * 4; // the rows past the last must stay untouched
  mem.u8.fill(0xa5, guard, guard + 64);
  const xe = mem.alloc(cols * DECODE_SCRATCH_PER_COL);
  if (decode === "fused") k.decode_q8_0_fused(out, w.data, w.scales, q, d, s, rows, cols, xe);
  else if (decode) (q8 ? k.decode_q8_0 : k.decode_q4_0)(out, w.data, w.scales, q, d, s, rows, cols, xe);
  else (q8 ? k.matmul_q8_0 : k.matmul_q4_0)(out, w.data, w.scales, q, d, s, rows, cols, 1);
  expect(Array.from(mem.u8.subarray(guard, guard + 64)).every((b) => b === 0xa5)).toBe(true);
  scratch?.set(mem.u8.subarray(xe, xe + 32));
  return new Uint32Array(k.memory.buffer.slice(out, out + rows * 4));
}

describe.each(BUILDS)("wasm-%s (dot_add_fused %i, dot_i7_unsigned kept %s): one-token decode kernels", (...build: Build) => {
  // rows: 1..4 (one panel alone), 5..8 (one pair), 9..13 (a pair and a last panel; triples: three panels, the third
  // partial at 9 and 11, one left alone at 13), 14..40 (4 to 10 panels: a partial last panel of 1 to 3 rows in the
  // last stream or left alone), 22 (triples: the third stream's last panel partial), 172 and 200 (many pairs or
  // triples; 200: two panels left alone); cols: 1, 5, 9 and 48 blocks.
  const SHAPES = [[1, 32], [3, 160], [4, 288], [5, 32], [7, 288], [8, 160], [9, 288], [11, 288], [12, 32], [13, 1536],
    [15, 96], [17, 160], [19, 32], [22, 160], [23, 96], [25, 288], [27, 32], [31, 160], [33, 96], [35, 32], [37, 160],
    [38, 288], [40, 96], [172, 160], [200, 1536]] as const;
  it.each(FORMATS)("%s: the bits of the matmul kernel for one token", (_name, type, q8) => {
    for (const [rows, cols] of SHAPES) {
      const rand = seededRandom(0xdec + type * 31 + rows * 7 + cols);
      const bytes = randomBlocks(rand, type, rows, cols);
      const x = randomArray(rand, cols);
      const want = run(build, q8, false, bytes, rows, cols, x);
      expect(new Set(want).size, `${rows}×${cols}`).toBeGreaterThan(Math.min(rows, 8) / 2);
      expect(Array.from(new Float32Array(want.buffer)).every(Number.isFinite)).toBe(true);
      expect(Array.from(run(build, q8, true, bytes, rows, cols, x)), `${rows}×${cols}`).toEqual(Array.from(want));
    }
  });

  it.each(FORMATS)("%s: the largest dots (every quant at its extreme against |q| = 127)", (_name, _type, q8, blockBytes) => {
    const rows = 13, cols = 256;
    // Q4_0: every byte 0xff (nibbles 15: +7 after the offset); Q8_0: every quant -127 (0x81). f16 d = 0.5.
    const bytes = new Uint8Array((rows * cols) / 32 * blockBytes).fill(q8 ? 0x81 : 0xff);
    for (let b = 0; b < bytes.length; b += blockBytes) bytes.set([0x00, 0x38], b);
    for (const sign of [1, -1]) {
      const x = new Float32Array(cols).fill(sign);
      const want = run(build, q8, false, bytes, rows, cols, x);
      // 256 values of (7 or -127)·0.5 against ±1.
      const each = (q8 ? -127 : 7) * 0.5 * 256 * sign;
      expect(Array.from(new Float32Array(want.buffer)).every((v) => Math.abs(v - each) < 1e-3 * Math.abs(each)), `${sign}`).toBe(true);
      expect(Array.from(run(build, q8, true, bytes, rows, cols, x)), `${sign}`).toEqual(Array.from(want));
    }
  });

  it("Q8_0 fused form on quants ≤ 0: the bits of matmul_q8_0 for one token", () => {
    for (const [rows, cols] of SHAPES) {
      const rand = seededRandom(0xf8d + rows * 7 + cols);
      const bytes = nonPositive(randomBlocks(rand, GgmlType.Q8_0, rows, cols));
      const x = randomArray(rand, cols);
      const want = run(build, true, false, bytes, rows, cols, x);
      expect(new Set(want).size, `${rows}×${cols}`).toBeGreaterThan(Math.min(rows, 8) / 2);
      expect(Array.from(run(build, true, "fused", bytes, rows, cols, x)), `${rows}×${cols}`).toEqual(Array.from(want));
    }
  });

  it("Q8_0 fused form: the largest dots on quants ≤ 0 (0: offset weights 128; −128: 0; −127) against |q| = 127", () => {
    const rows = 41, cols = 256;
    for (const [quant, byte] of [[0, 0x00], [-128, 0x80], [-127, 0x81]] as const) {
      const bytes = new Uint8Array((rows * cols) / 32 * 34).fill(byte);
      for (let b = 0; b < bytes.length; b += 34) bytes.set([0x00, 0x38], b);
      for (const sign of [1, -1]) {
        const x = new Float32Array(cols).fill(sign);
        const want = run(build, true, false, bytes, rows, cols, x);
        const each = quant * 0.5 * 256 * sign;
        expect(Array.from(new Float32Array(want.buffer)).every((v) => Math.abs(v - each) <= 1e-3 * Math.abs(each)), `${quant} ${sign}`).toBe(true);
        expect(Array.from(run(build, true, "fused", bytes, rows, cols, x)), `${quant} ${sign}`).toEqual(Array.from(want));
      }
    }
  });

  it("Q8_0: the largest dots of every form (quants −128 and 127, alone and alternating, against x = ±127)", () => {
    const rows = 41, cols = 256;
    // x·d: all 1, all −1, and alternating signs (quantized to ±127: x >> 4 = 7 or −8, x & 15 = 15 or 1).
    const xs = [new Float32Array(cols).fill(1), new Float32Array(cols).fill(-1), Float32Array.from({ length: cols }, (_, i) => (i & 1 ? -1 : 1))];
    for (const quants of [[-128], [127], [-128, 127], [127, -128]]) {
      const bytes = new Uint8Array((rows * cols) / 32 * 34);
      for (let b = 0; b < bytes.length; b += 34) {
        bytes.set([0x00, 0x38], b); // f16 d = 0.5
        for (let i = 0; i < 32; i++) bytes[b + 2 + i] = quants[i % quants.length]! & 0xff;
      }
      for (const x of xs) {
        const want = run(build, true, false, bytes, rows, cols, x);
        const f = new Float32Array(want.buffer);
        // every row the same exact sum: Σ q·x·0.5 (|x| = 1 quantizes to ±127 exactly)
        const each = Array.from({ length: cols }, (_, i) => quants[i % 32 % quants.length]! * x[i]! * 0.5).reduce((a, v) => a + v, 0);
        expect(Array.from(f).every((v) => Math.abs(v - each) <= 1e-3 * Math.max(1, Math.abs(each))), `${quants} ${x[0]}`).toBe(true);
        expect(Array.from(run(build, true, true, bytes, rows, cols, x)), `${quants} ${x[0]}`).toEqual(Array.from(want));
      }
    }
  });

  it("Q8_0: the bits of matmul_q8_0 on f16 scales that are Inf, NaN, subnormal, ±0 and the largest", () => {
    const rows = 37, cols = 96;
    const rand = seededRandom(0x5ca1e);
    const bytes = randomBlocks(rand, GgmlType.Q8_0, rows, cols);
    const special = [0x7c00, 0xfc00, 0x7e00, 0xfd01, 0x0001, 0x83ff, 0x0000, 0x8000, 0x7bff, 0xfbff, 0x0400];
    for (let b = 0, n = 0; b < bytes.length; b += 34, n++) {
      if (n % 3 !== 0) continue; // a third of the blocks: every special value in several rows and panels
      const h = special[(n / 3) % special.length]!;
      bytes.set([h & 0xff, h >>> 8], b);
    }
    const x = randomArray(rand, cols);
    const want = run(build, true, false, bytes, rows, cols, x);
    expect(Array.from(run(build, true, true, bytes, rows, cols, x))).toEqual(Array.from(want));
  });
});

/** Q8_0 blocks (34 bytes: f16 d, 32 i8 quants) with every positive quant negated. */
function nonPositive(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const q = new Int8Array(out.buffer);
  for (let b = 0; b < out.length; b += 34) for (let i = b + 2; i < b + 34; i++) q[i] = -Math.abs(q[i]!);
  return out;
}

describe("wasm-relaxed: dot_i7_unsigned, the split Q8_0 decode's probe", () => {
  const relaxed = () => instantiateKernels(kernelModules().relaxed!) as Probe;

  it.runIf(process.arch === "x64")("answers 1 in Node on x86 (pmaddubsw: unsigned, unsaturated), 0 once set to 0, then the engine again", () => {
    const k = relaxed();
    expect(k.dot_i7_unsigned()).toBe(1);
    k.set_dot_i7_unsigned(0);
    expect(k.dot_i7_unsigned()).toBe(0);
    k.set_dot_i7_unsigned(1); // asks the engine again: no override can turn the form on
    expect(k.dot_i7_unsigned()).toBe(1);
  });

  it("answers 0 on SIMD128", () => {
    expect((instantiateKernels(kernelModules().simd128) as Probe).dot_i7_unsigned()).toBe(0);
  });

  it("decode_q8_0 runs the split form only where the probe answers 1 (the scratch it leaves), the i16 pairs otherwise", () => {
    const rows = 16, cols = 64;
    const rand = seededRandom(0x5b1);
    const bytes = randomBlocks(rand, GgmlType.Q8_0, rows, cols);
    const x = randomArray(rand, cols);
    const [x0, x1, x2, x3] = firstQuants(x);
    for (const split of [true, false]) {
      const build: Build = ["relaxed", true, 0, split];
      const seen = new Uint8Array(32);
      const got = run(build, true, true, bytes, rows, cols, x, seen);
      expect(Array.from(got)).toEqual(Array.from(run(build, true, false, bytes, rows, cols, x)));
      const expected = instance(build).dot_i7_unsigned()
        ? // split: x & 15 of x0 x1 (four times), x2 x3 (four times), then x >> 4 of the same
          [...[x0, x1, x0, x1, x0, x1, x0, x1, x2, x3, x2, x3, x2, x3, x2, x3].map((q) => q! & 15),
            ...[x0, x1, x0, x1, x0, x1, x0, x1, x2, x3, x2, x3, x2, x3, x2, x3].map((q) => (q! >> 4) & 0xff)]
        : // i16 pairs: (x0, x1) as i16 splatted, then (x2, x3)
          Array.from(new Uint8Array(Int16Array.from([x0, x1, x0, x1, x0, x1, x0, x1, x2, x3, x2, x3, x2, x3, x2, x3] as number[]).buffer));
      expect(Array.from(seen), `split ${split}`).toEqual(expected);
    }
  });
});

/** The first four i8 quants quantize_q8_0 (relaxed build) makes of x. */
function firstQuants(x: Float32Array): Int8Array {
  const k = instantiateKernels(kernelModules().relaxed!);
  const mem = new LinearMemory(k.memory, k.heap_base());
  const cols = x.length, nb = cols / 32;
  const xp = mem.alloc(cols * 4), q = mem.alloc(cols * 3 + nb * 8);
  mem.f32.set(x, xp / 4);
  k.quantize_q8_0(xp, q, q + cols * 3, q + cols * 3 + nb * 4, cols);
  return new Int8Array(k.memory.buffer.slice(q, q + 4));
}
