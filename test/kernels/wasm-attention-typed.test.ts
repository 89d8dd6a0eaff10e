// attention_typed (straight off an f16 / q8_0 cache) against the decoded layer under the f32 kernel at its run, key block
// and token tile edges; the fast f16 and q8_0 decodes and the vector f16 weight rounding on their own.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";
import { randomArray, seededRandom } from "./expected";

const CODE = { f16: 1, q8_0: 2 } as const;
type Typed = keyof typeof CODE;
const rowBytesOf = (type: Typed, n: number) => (type === "f16" ? n * 2 : (n / 32) * 34);
const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** A bump allocator over a fresh instance's memory (16-byte aligned, grown as needed). */
function arena(k: KernelExports) {
  let at = (k.heap_base() + 15) & ~15;
  return (bytes: number) => {
    const p = at;
    at += (bytes + 15) & ~15;
    if (at > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((at - k.memory.buffer.byteLength) / 65536));
    return p;
  };
}

/** The value of finite f16 bits h. */
const f16Value = (h: number) => new Float32Array(new Uint32Array([f16Bits32(h)]).buffer)[0]!;

/** f32 bits of f16 bits h, from the format's definition (Inf/NaN as the kernels widen them: payload moved up 13 bits). */
function f16Bits32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 0x3ff;
  if (e === 31) return (((h & 0x8000) << 16) | 0x7f800000 | (m << 13)) >>> 0;
  return new Uint32Array(new Float32Array([sign * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15))]).buffer)[0]!;
}

interface Case {
  readonly type: Typed;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly pos0: number;
  readonly nTokens: number;
  /** Position and value of one K and one V element set to it (Inf, NaN): exercises the exact decode of such rows. */
  readonly special?: readonly [number, number];
  /** Tokens per pass over the cache (8 unless set). */
  readonly tile?: number;
}

/**
 * attention_typed on a layer of random rows stored as `type`, and the reference in the same instance: the layer
 * decoded to f32 (kv_decode), then the f32 kernel (attention) with f16 weights on an f16 cache.
 */
function both(k: KernelExports, c: Case, seed: number): { got: Float32Array; want: Float32Array } {
  const { type, nHeads, nKvHeads, headDim, pos0, nTokens } = c;
  const rand = seededRandom(seed);
  const nPos = pos0 + nTokens, kvDim = nKvHeads * headDim, qn = nTokens * nHeads * headDim;
  const rowBytes = rowBytesOf(type, kvDim), code = CODE[type];
  const take = arena(k);
  // The typed kernel's tile of tokens' group scores; the f32 reference takes every head's row and 16 bytes.
  const tileScores = Math.max(Math.min(nTokens, c.tile ?? 8) * (nHeads / nKvHeads) * nPos * 4, nHeads * nPos * 4 + 16);
  const [src, kb, vb, kf, vf, q, out, ref, scores] = [Math.max(nPos * kvDim, qn) * 4, nPos * rowBytes, nPos * rowBytes, nPos * kvDim * 4, nPos * kvDim * 4, qn * 4, qn * 4, qn * 4, tileScores].map(take);
  const f32 = () => new Float32Array(k.memory.buffer);
  // K rows of differing magnitude (q8_0 scales differ per block) so the softmax is far from flat.
  const kv = randomArray(rand, nPos * kvDim, 3);
  if (c.special) kv[c.special[0] * kvDim + 1] = c.special[1];
  f32().set(kv, src / 4);
  k.kv_encode(kb!, src!, nPos * kvDim, code);
  const vv = randomArray(rand, nPos * kvDim, 2);
  if (c.special) vv[c.special[0] * kvDim + headDim - 1] = c.special[1];
  f32().set(vv, src / 4);
  k.kv_encode(vb!, src!, nPos * kvDim, code);
  // The query as the K type's dot takes it: f16 values (q8_0: on a grid kv_encode keeps, any finite values serve).
  f32().set(randomArray(rand, qn, 2), src / 4);
  k.round_f16(q!, src!, qn);
  k.attention_typed(out!, q!, kb!, vb!, scores!, pos0, nTokens, nHeads, nKvHeads, headDim, rowBytes, code, c.tile ?? 8);
  const got = f32().slice(out! / 4, out! / 4 + qn);
  k.kv_decode(kf!, kb!, nPos * kvDim, code);
  k.kv_decode(vf!, vb!, nPos * kvDim, code);
  k.attention(ref!, q!, kf!, vf!, scores!, pos0, nTokens, nHeads, nKvHeads, headDim, type === "f16" ? 1 : 0, 0);
  return { got, want: f32().slice(ref! / 4, ref! / 4 + qn) };
}

// Positions per run: 16 KiB / (4 · headDim) = 64 at 64 dims, 32 at 128, 16 at 256. Counts around those and the
// four-key blocks (1, 3, 5 keys; a run and one; runs plus a ragged tail), GQA groups 1, 3, 8, head dims 64 and 128
// (f16 also 20 and 36: the decode's and the dots' scalar tails), a batch of tokens, and an Inf/NaN row.
const CASES: Case[] = [];
for (const type of ["f16", "q8_0"] as const) {
  for (const [nHeads, nKvHeads] of [[3, 3], [9, 3], [8, 1]] as const) {
    for (const headDim of [64, 128]) {
      for (const nPos of [1, 3, 5, 32, 33, 63, 64, 65, 130, 259]) CASES.push({ type, nHeads, nKvHeads, headDim, pos0: nPos - 1, nTokens: 1 });
      CASES.push({ type, nHeads, nKvHeads, headDim, pos0: 62, nTokens: 5 });
    }
  }
  CASES.push({ type, nHeads: 4, nKvHeads: 2, headDim: 256, pos0: 37, nTokens: 1 });
}
for (const headDim of [20, 36]) for (const nPos of [1, 6, 70]) CASES.push({ type: "f16", nHeads: 6, nKvHeads: 2, headDim, pos0: nPos - 1, nTokens: 1 });
// Batches: tiles of 8 (one partial; 8 + 8 + 4), 32 (32 + 1), 3 (7 tokens: 3 + 3 + 1) and 1, across run boundaries.
for (const [nTokens, tile, pos0] of [[5, 8, 0], [20, 8, 50], [33, 32, 40], [7, 3, 60], [4, 1, 61]] as const) {
  for (const type of ["f16", "q8_0"] as const) CASES.push({ type, nHeads: 9, nKvHeads: 3, headDim: 64, pos0, nTokens, tile });
}
for (const special of [[3, Infinity], [70, -Infinity], [40, NaN]] as const) CASES.push({ type: "f16", nHeads: 9, nKvHeads: 3, headDim: 64, pos0: 99, nTokens: 1, special });

describe.each([
  ["wasm-simd128", () => kernelModules().simd128],
  ["wasm-relaxed", () => kernelModules().relaxed!],
] as const)("%s attention_typed", (_label, module) => {
  it.each(CASES.map((c, i) => [`${c.type} ${c.nHeads}/${c.nKvHeads} × ${c.headDim}, pos0 ${c.pos0}, ${c.nTokens} token(s)${c.tile ? ` in tiles of ${c.tile}` : ""}${c.special ? `, ${c.special[1]} at ${c.special[0]}` : ""}`, c, i] as const))(
    "%s: the decoded layer's bits",
    (_name, c, i) => {
      const { got, want } = both(instantiateKernels(module()), c, 0xa77 + i);
      if (!c.special) expect(got.every(Number.isFinite)).toBe(true);
      else expect(got.some((x) => !Number.isFinite(x))).toBe(true);
      expect(bits(got)).toEqual(bits(want));
    },
  );

  it("decodes every f16 value exactly, in rows with and without Inf/NaN", () => {
    const k = instantiateKernels(module());
    const take = arena(k);
    const src = take(65536 * 2 + 16), dst = take(65536 * 4 + 64);
    const h = new Uint16Array(k.memory.buffer, src, 65536 + 8);
    for (let i = 0; i < 65536; i++) h[i] = i;
    const want = Uint32Array.from({ length: 65536 }, (_, i) => f16Bits32(i));
    // Rows of 8 (the fast form's step: rows of exponent 31 take the exact path alone), then rows of 24 starting 4 in
    // (rows that mix specials with ordinary values, and an 8-wide step plus a scalar tail of 0 or 4).
    for (const [start, n] of [[0, 8], [4, 24], [0, 12]] as const) {
      const rows = Math.floor((65536 - start) / n);
      k.kv_decode_rows(dst, src + start * 2, rows, n * 2, n, CODE.f16);
      const got = new Uint32Array(k.memory.buffer, dst, rows * n);
      for (let i = 0; i < rows * n; i++) if (got[i] !== want[start + i]) expect([start, n, (start + i).toString(16), got[i]!.toString(16)]).toEqual([start, n, (start + i).toString(16), want[start + i]!.toString(16)]);
    }
  });

  it("decodes q8_0 blocks to d·q exactly, rows apart", () => {
    const k = instantiateKernels(module());
    const take = arena(k);
    const rand = seededRandom(0x8a);
    const nRows = 7, n = 96, stride = 5 * 34; // three of a row's five blocks, every value −128..127, d's of every size
    const src = take(nRows * stride), dst = take(nRows * n * 4);
    const u8 = new Uint8Array(k.memory.buffer), dv = new DataView(k.memory.buffer);
    for (let i = 0; i < nRows * stride; i++) u8[src + i] = Math.floor(rand() * 256);
    const want: number[] = [];
    for (let r = 0; r < nRows; r++) {
      for (let b = 0; b < n / 32; b++) {
        const o = src + r * stride + b * 34;
        dv.setUint16(o, (r * 3 + b) * 1499 % 0x7c00, true); // finite f16 scales, subnormal to large
        const d = f16Value(dv.getUint16(o, true));
        for (let i = 0; i < 32; i++) want.push(Math.fround(d * dv.getInt8(o + 2 + i)));
      }
    }
    k.kv_decode_rows(dst, src, nRows, stride, n, CODE.q8_0);
    expect(Array.from(new Float32Array(k.memory.buffer, dst, nRows * n))).toEqual(want);
  });

  it("rounds the softmax weights to f16 as round_f16 does, subnormals included", () => {
    // One head, one-float keys: k_p = [a_p, 0, …] and q = [8, 0, …] make the scores exactly a_p (the 1/8 scale of 64
    // dims undoes the 8); a_p from +8 down to -30 spreads the weights over f16's normal and subnormal range.
    const k = instantiateKernels(module());
    const take = arena(k);
    const headDim = 64;
    for (const nPos of [64, 67]) {
      const [kp, vp, q, out, scores, ref] = [nPos * headDim * 4, nPos * headDim * 4, headDim * 4, headDim * 4, nPos * 4 + 16, nPos * 4].map(take);
      const f32 = () => new Float32Array(k.memory.buffer);
      const a = Float32Array.from({ length: nPos }, (_, p) => 8 - (38 * p) / nPos + ((p * 7919) % 13) / 64);
      f32().fill(0, kp! / 4, kp! / 4 + 2 * nPos * headDim);
      for (let p = 0; p < nPos; p++) f32()[kp! / 4 + p * headDim] = a[p]!;
      f32().fill(0, q! / 4, q! / 4 + headDim);
      f32()[q! / 4] = 8;
      k.attention(out!, q!, kp!, vp!, scores!, nPos - 1, 1, 1, 1, headDim, 1, 1);
      const got = f32().slice(scores! / 4, scores! / 4 + nPos);
      f32().set(a, ref! / 4);
      k.softmax(ref!, 1, nPos);
      k.round_f16(ref!, ref!, nPos);
      const want = f32().slice(ref! / 4, ref! / 4 + nPos);
      expect(want.some((w) => w > 0 && w < 2 ** -14)).toBe(true); // subnormal f16 weights present
      expect(bits(got)).toEqual(bits(want));
    }
  });
});
