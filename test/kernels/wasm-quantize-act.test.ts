// The activation quantizers on both builds: quantize_q8_0 (Q8_0/Q4_0 matmuls), quantize_q8_1 (Q4_1/Q5_1) and quantize_q8_k (K-quants) against the
// ref backend's models of ggml's x86 code on random rows, exact rounding ties and blocks with zeros, NaN and infinities,
// and quantize_q8_0's blocks that take the nearest/trunc_sat path (zero, tiny, ±Inf and NaN amax) with the quants,
// d and -Σq they have always had.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels } from "../../src/backends/wasm/kernel-exports";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { quantizeQ8_0 } from "../../src/backends/ref/ggml-dot";
import { quantizeQ8_K } from "../../src/backends/ref/ggml-dot-kquant";
import { seededRandom } from "./expected";

interface Quantized {
  q8: Int8Array | null; // the relaxed build's i8 copy
  q16: Int16Array;
  d: Float32Array;
  s: Int32Array;
}

function quantize(relaxed: boolean, x: Float32Array): Quantized {
  const k = instantiateKernels(relaxed ? kernelModules().relaxed! : kernelModules().simd128);
  const mem = new LinearMemory(k.memory, k.heap_base());
  const n = x.length;
  const nb = n / 32;
  const xp = mem.alloc(n * 4);
  mem.f32.set(x, xp / 4);
  const q = mem.alloc(n * 3 + nb * 8);
  k.quantize_q8_0(xp, q, q + n * 3, q + n * 3 + nb * 4, n);
  const buf = k.memory.buffer;
  const q16 = new Int16Array(n);
  const q8 = relaxed ? new Int8Array(n) : null;
  for (let b = 0; b < nb; b++) {
    // Relaxed: 96 bytes per block, i8 quants then i16 ones; SIMD128: 64 bytes of i16 quants.
    const base = q + b * (relaxed ? 96 : 64);
    q16.set(new Int16Array(buf, base + (relaxed ? 32 : 0), 32), b * 32);
    q8?.set(new Int8Array(buf, base, 32), b * 32);
  }
  return { q8, q16, d: new Float32Array(buf.slice(q + n * 3, q + n * 3 + nb * 4)), s: new Int32Array(buf.slice(q + n * 3 + nb * 4, q + n * 3 + nb * 8)) };
}

const BUILDS = [
  ["relaxed", true],
  ["simd128", false],
] as const;

/** Rows whose blocks span many magnitudes; every fourth block has values on exact half-steps of its scale (ties). */
function randomRow(seed: number, blocks: number): Float32Array {
  const rnd = seededRandom(seed);
  const x = new Float32Array(blocks * 32);
  for (let b = 0; b < blocks; b++) {
    const scale = Math.exp(12 * (rnd() - 0.5));
    for (let i = 0; i < 32; i++) x[b * 32 + i] = (rnd() - 0.5) * 2 * scale;
    if (b % 4 === 3) {
      // amax 127 makes 127/amax = 1, so x·id = x: k + 0.5 must round to the even neighbour.
      for (let i = 0; i < 32; i++) x[b * 32 + i] = i === 0 ? 127 : Math.floor((rnd() - 0.5) * 250) + 0.5;
    }
  }
  return x;
}

describe.each(BUILDS)("wasm quantize_q8_0 (%s)", (_name, relaxed) => {
  it("matches ggml's x86 quantizer (round half to even of x·(127/amax), d = f16(amax/127)) on random rows and ties", () => {
    for (let seed = 1; seed <= 12; seed++) {
      const x = randomRow(seed, 48);
      const got = quantize(relaxed, x);
      const want = quantizeQ8_0(x, x.length, 1);
      expect(Array.from(got.q16)).toEqual(Array.from(want.q));
      if (got.q8) expect(Array.from(got.q8)).toEqual(Array.from(want.q));
      expect(Array.from(got.d)).toEqual(Array.from(want.d));
      for (let b = 0; b < 48; b++) {
        let sum = 0;
        for (let i = 0; i < 32; i++) sum += want.q[b * 32 + i]!;
        expect(got.s[b]).toBe(0 - sum);
      }
      // A tie block really ties: 0.5 steps round to even, so some land down and some up.
      const ties = Array.from(x.subarray(3 * 32 + 1, 4 * 32), (v, i) => got.q16[3 * 32 + 1 + i]! - v);
      expect(ties.some((r) => r === 0.5) && ties.some((r) => r === -0.5)).toBe(true);
    }
  });

  it("gives zero, tiny, infinite and NaN blocks the nearest/trunc_sat quants", () => {
    const blocks: ((i: number) => number)[] = [
      () => 0,
      (i) => (i === 0 ? -0 : 0),
      (i) => (i === 7 ? 1e-30 : i * 1e-33), // amax just above 2^-100 (the smallest the fast path takes): id large but finite
      (i) => (i === 1 ? 1e-38 : 3e-39), // subnormal-range amax: 127/amax overflows, x·id is +Inf
      (i) => (i === 5 ? Infinity : i), // amax +Inf: id 0, Inf·0 is NaN
      (i) => (i === 4 ? NaN : i),
      (i) => (i === 2 ? 3.4e38 : -i * 1e37), // largest finite amax
    ];
    const x = new Float32Array(blocks.length * 32);
    blocks.forEach((f, b) => {
      for (let i = 0; i < 32; i++) x[b * 32 + i] = f(i);
    });
    const got = quantize(relaxed, x);
    const block = (b: number) => Array.from(got.q16.subarray(b * 32, b * 32 + 32));
    const zeros = new Array<number>(32).fill(0);
    expect([block(0), got.d[0], got.s[0]]).toEqual([zeros, 0, 0]);
    expect([block(1), got.d[1], got.s[1]]).toEqual([zeros, 0, 0]);
    // amax 1e-30: q = round(x·f32(127/amax)) (0.127·i, never a tie), 127 for the largest; d rounds to f16 zero.
    const id = Math.fround(127 / Math.fround(1e-30));
    expect(block(2)).toEqual(Array.from(x.subarray(64, 96), (v) => Math.round(Math.fround(v * id))));
    expect(got.q16[64 + 7]).toBe(127);
    expect(got.d[2]).toBe(0);
    // x·Inf saturates to the i16 (and i8) maximum; the i32 sum of 32 lanes of 2^31 - 1 wraps.
    expect(block(3)).toEqual(zeros.map(() => 32767));
    if (got.q8) expect(Array.from(got.q8.subarray(96, 128))).toEqual(zeros.map(() => 127));
    expect(got.s[3]).toBe(-((0x7fffffff * 32) | 0) | 0);
    expect([block(4), got.d[4], got.s[4]]).toEqual([zeros, Infinity, 0]);
    expect([block(5), got.s[5]]).toEqual([zeros, 0]);
    expect(got.d[5]).toBeNaN();
    const want = quantizeQ8_0(x.subarray(6 * 32), 32, 1);
    expect(block(6)).toEqual(Array.from(want.q));
    expect(got.d[6]).toBe(want.d[0]);
  });
});

/** quantize_q8_k's quants (as i8 or i16 by build), d and the 16 negated sums per 16 elements of each 256-block. */
function quantizeK(relaxed: boolean, x: Float32Array): { q: number[]; d: Float32Array; sums: number[] } {
  const k = instantiateKernels(relaxed ? kernelModules().relaxed! : kernelModules().simd128);
  const mem = new LinearMemory(k.memory, k.heap_base());
  const n = x.length;
  const nb = n / 256;
  const qBytes = relaxed ? 256 : 512;
  const xp = mem.alloc(n * 4);
  mem.f32.set(x, xp / 4);
  const q = mem.alloc(nb * (qBytes + 4 + 112));
  k.quantize_q8_k(xp, q, q + nb * qBytes, q + nb * (qBytes + 4), n);
  const buf = k.memory.buffer;
  const quants = Array.from(relaxed ? new Int8Array(buf, q, n) : new Int16Array(buf, q, n));
  const sums: number[] = [];
  for (let b = 0; b < nb; b++) sums.push(...new Int32Array(buf, q + nb * (qBytes + 4) + b * 112, 16));
  return { q: quants, d: new Float32Array(buf.slice(q + nb * qBytes, q + nb * (qBytes + 4))), sums };
}

describe.each(BUILDS)("wasm quantize_q8_k (%s)", (_name, relaxed) => {
  it("matches ggml's quantize_row_q8_K on random rows, ties, and blocks with zeros, NaN and +Inf", () => {
    const rnd = seededRandom(99);
    const blocks: ((i: number) => number)[] = [
      () => 0,
      (i) => (i === 9 ? NaN : (rnd() - 0.5) * 40), // NaN is never the maximum and quantizes to 0
      (i) => (i === 77 ? Infinity : rnd()), // iscale -0: every quant 0, d = -Inf
      (i) => (i === 10 ? -127 : i === 20 ? 127 : Math.floor((rnd() - 0.5) * 250) + 0.5), // first of a magnitude tie, iscale 1: ties
      ...Array.from({ length: 8 }, (_, b) => {
        const scale = Math.exp(10 * (rnd() - 0.5));
        return (i: number) => (i === 3 * b ? 0 : (rnd() - 0.5) * scale);
      }),
      (i) => (i === 30 ? 99 : i === 40 ? -99 : (rnd() - 0.5) * 150), // a magnitude tie, the positive first: iscale < 0
      (i) => (i === 200 || i === 7 ? -3 : (rnd() - 0.5) * 5), // the maximum negative only (twice)
      (i) => (i === 255 ? 6 : (rnd() - 0.5) * 11), // the maximum positive, last
      (i) => (i === 0 ? NaN : i === 50 ? 7 : i === 60 ? -7 : (rnd() - 0.5) * 13), // a NaN and a tie: the NaN-aware scan
      (i) => (i === 100 ? NaN : i === 3 ? -0 : 0), // a NaN among zeros: an all-zero block
    ];
    const x = new Float32Array(blocks.length * 256);
    blocks.forEach((f, b) => {
      for (let i = 0; i < 256; i++) x[b * 256 + i] = f(i);
    });
    const got = quantizeK(relaxed, x);
    const want = quantizeQ8_K(x, x.length, 1);
    expect(got.q).toEqual(Array.from(want.q));
    expect(Array.from(got.d)).toEqual(Array.from(want.d));
    expect(got.d[2]).toBe(-Infinity);
    expect(got.sums).toEqual(Array.from(want.bsums, (s) => 0 - s));
    expect(got.q[256 + 9]).toBe(0);
    const tieBlock = got.q.slice(3 * 256, 4 * 256);
    expect([tieBlock[10], tieBlock[20]]).toEqual([-127, 127]); // iscale = -127/-127: the first of the tie is the max
    expect([got.q[12 * 256 + 30], got.q[12 * 256 + 40], got.d[12]]).toEqual([-127, 127, Math.fround(-99 / 127)]);
    expect([got.q[13 * 256 + 7], got.q[13 * 256 + 200], got.q[14 * 256 + 255]]).toEqual([-127, -127, -127]); // iscale = -127/max
    expect([got.q[15 * 256], got.q[15 * 256 + 50], got.q[15 * 256 + 60], got.d[15]]).toEqual([0, -127, 127, Math.fround(-7 / 127)]);
    expect([got.q.slice(16 * 256, 17 * 256).every((v) => v === 0), got.d[16], got.sums.slice(16 * 16, 17 * 16).every((v) => v === 0)]).toEqual([true, 0, true]);
    const rounded = Array.from(x.subarray(3 * 256, 4 * 256), (v, i) => tieBlock[i]! - v).filter((r) => Math.abs(r) === 0.5);
    expect(rounded.includes(0.5) && rounded.includes(-0.5)).toBe(true);
  });
});

describe.each(BUILDS)("wasm quantize_q8_0_tiles (%s)", (_name, relaxed) => {
  // Relaxed: full 4-token tiles interleaved per block (176 bytes: 4 × 32 i8 quants group-major, token u's 4-byte group
  // g at 16g + 4u; 4 f32 d, 4 i32 −8Σq, 4 i16 −4Σq),
  // the tokens past them as quantize_q8_0's rows; SIMD128: quantize_q8_0's rows throughout.
  it.each([32, 96, 224])("%i columns, 1..9 and 17 tokens: quantize_q8_0's quants, d and sums, nothing written past them", (cols) => {
    const nb = cols / 32;
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 17]) {
      const x = randomRow(cols * 31 + n, n * nb);
      // Special blocks among the random ones: zero, NaN and +Inf (the nearest/trunc_sat path).
      x.fill(0, 32, 64);
      if (n * nb > 3) x[3 * 32 + 5] = NaN;
      if (n * nb > 5) x[5 * 32 + 9] = Infinity;
      const want = quantize(relaxed, x);
      const k = instantiateKernels(relaxed ? kernelModules().relaxed! : kernelModules().simd128);
      const mem = new LinearMemory(k.memory, k.heap_base());
      const xp = mem.alloc(x.length * 4);
      mem.f32.set(x, xp / 4);
      const total = n * cols * 3 + n * nb * 8;
      const q = mem.alloc(total + 64);
      mem.u8.fill(0xa5, q, q + total + 64);
      k.quantize_q8_0_tiles(xp, q, q + n * cols * 3, q + n * cols * 3 + n * nb * 4, cols, n);
      const buf = k.memory.buffer;
      const nt4 = relaxed ? n & ~3 : 0;
      for (let t = 0; t < n; t++) {
        for (let b = 0; b < nb; b++) {
          const i = t * nb + b; // the block's index in quantize_q8_0's rows
          const at = `${n} tokens, token ${t}, block ${b}`;
          let q8: Int8Array, d: number, s8: number | null, s4: number | null, s: number | null;
          if (t < nt4) {
            const base = q + ((t >> 2) * nb + b) * 176, u = t & 3;
            const all = new Int8Array(buf, base, 128);
            q8 = Int8Array.from({ length: 32 }, (_, e) => all[16 * (e >> 2) + 4 * u + (e & 3)]!);
            d = new Float32Array(buf, base + 128, 4)[u]!;
            s8 = new Int32Array(buf, base + 144, 4)[u]!;
            s4 = new Int16Array(buf, base + 160, 4)[u]!;
            s = null;
          } else {
            const base = q + i * (relaxed ? 96 : 64);
            q8 = relaxed ? new Int8Array(buf, base, 32) : new Int8Array(Int16Array.from(new Int16Array(buf, base, 32)));
            if (relaxed) expect(Array.from(new Int16Array(buf, base + 32, 32)), at).toEqual(Array.from(want.q16.subarray(i * 32, i * 32 + 32)));
            d = new Float32Array(buf, q + n * cols * 3, n * nb)[i]!;
            s = new Int32Array(buf, q + n * cols * 3 + n * nb * 4, n * nb)[i]!;
            s8 = s4 = null;
          }
          expect(Array.from(q8), at).toEqual(Array.from((want.q8 ?? want.q16).subarray(i * 32, i * 32 + 32), (v) => (v << 24) >> 24));
          expect(d, at).toBe(want.d[i]);
          if (s !== null) expect(s, at).toBe(want.s[i]);
          if (s8 !== null) expect(s8, at).toBe(Math.imul(want.s[i]!, 8));
          if (s4 !== null) expect(s4, at).toBe((Math.imul(want.s[i]!, 4) << 16) >> 16);
        }
      }
      expect(Array.from(new Uint8Array(buf, q + total, 64)).every((v) => v === 0xa5), `${n} tokens: past the area`).toBe(true);
    }
  });
});

describe.each(BUILDS)("wasm quantize_q8_1 (%s)", (_name, relaxed) => {
  // Four blocks per pass with vector d, sums and st; 45..47 blocks leave 1..3 for the one-block tail.
  it.each([45, 46, 47])("%i blocks: quantize_q8_0's quants, d and -Σq, and ggml's st = f16(amax/127 · Σq)", (blocks) => {
    const x = randomRow(blocks, blocks);
    x.fill(0, 32, 64); // zero block: st 0
    for (let i = 0; i < 32; i++) x[64 + i] = (i - 3.5) * 3e4; // large d·Σq: st rounds past f16's range to Inf
    for (let i = 0; i < 32; i++) x[blocks * 32 - 32 + i] = (i - 9) * 1e-8; // a tail block with st in f16's subnormals
    const k = instantiateKernels(relaxed ? kernelModules().relaxed! : kernelModules().simd128);
    const mem = new LinearMemory(k.memory, k.heap_base());
    const n = x.length;
    const xp = mem.alloc(n * 4);
    mem.f32.set(x, xp / 4);
    const q = mem.alloc(n * 3 + blocks * 12 + 64);
    mem.u8.fill(0xa5, q, q + n * 3 + blocks * 12 + 64);
    k.quantize_q8_1(xp, q, q + n * 3, q + n * 3 + blocks * 4, q + n * 3 + blocks * 8, n);
    const buf = k.memory.buffer;
    const want = quantize(relaxed, x);
    const ref = quantizeQ8_0(x, n, 1);
    for (let b = 0; b < blocks; b++) {
      const base = q + b * (relaxed ? 96 : 64);
      expect(Array.from(new Int16Array(buf, base + (relaxed ? 32 : 0), 32)), `block ${b}`).toEqual(Array.from(want.q16.subarray(b * 32, b * 32 + 32)));
      if (want.q8) expect(Array.from(new Int8Array(buf, base, 32)), `block ${b}`).toEqual(Array.from(want.q8.subarray(b * 32, b * 32 + 32)));
    }
    expect(Array.from(new Float32Array(buf, q + n * 3, blocks))).toEqual(Array.from(want.d));
    expect(Array.from(new Int32Array(buf, q + n * 3 + blocks * 4, blocks))).toEqual(Array.from(want.s));
    const st = new Float32Array(buf, q + n * 3 + blocks * 8, blocks);
    expect(Array.from(st)).toEqual(Array.from(ref.s));
    expect([st[1], st[2]]).toEqual([0, Infinity]);
    expect(Math.abs(st[blocks - 1]!)).toBeLessThan(2 ** -14); // an f16 subnormal, nonzero
    expect(st[blocks - 1]).not.toBe(0);
    expect(Array.from(new Uint8Array(buf, q + n * 3 + blocks * 12, 64)).every((v) => v === 0xa5)).toBe(true);
  });
});
