// Relaxed Q4_K / Q5_K decode with fused i32 dot-adds runs two 4-row panels per pass (kernels/wasm/decode-q45-pair.ts),
// as does relaxed Q4_K's i16 decode (decode-q45-i16.ts); every row must get the bits of the i16 decode (dot_add_fused
// forced to 0) and of the one-panel decode (one token of three), in Node and in workerd.
import { describe, expect, it } from "vitest";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import { instantiateKernels, type KernelExports } from "../../src/backends/wasm/kernel-exports";
import { LinearMemory } from "../../src/backends/wasm/linear-memory";
import { GgmlType } from "../../src/gguf/ggml-types";
import { randomArray, seededRandom } from "./expected";
import { F16_FIELDS, randomBlocks } from "./random-blocks";
import { packQ4K, packQ5K } from "../../src/backends/wasm/repack-kquant";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { runMatmul } from "../helpers/backend-ops";

type K = KernelExports & { set_dot_add_fused(v: number): void } & Record<string, unknown>;
type KMatmul = (out: number, w: number, xq: number, xd: number, xs: number, rows: number, cols: number, nTokens: number) => void;

const FORMATS = [
  ["Q4_K", GgmlType.Q4_K, packQ4K, "matmul_q4_k", 144],
  ["Q5_K", GgmlType.Q5_K, packQ5K, "matmul_q5_k", 176],
] as const;

/** One token's out bits of `fn` on a fresh relaxed instance with dot_add_fused set to `fused`. */
function decode(fused: number, pack: typeof packQ4K, fn: string, bytes: Uint8Array, rows: number, cols: number, x: Float32Array): Uint32Array {
  const k = instantiateKernels(kernelModules().relaxed!) as unknown as K;
  k.set_dot_add_fused(fused);
  const mem = new LinearMemory(k.memory, k.heap_base());
  const w = pack(mem, rows, cols, bytes, true);
  const xp = mem.alloc(cols * 4);
  mem.f32.set(x, xp / 4);
  const nb = cols / 256;
  const q = mem.alloc(cols + nb * 116);
  k.quantize_q8_k(xp, q, q + cols, q + cols + nb * 4, cols);
  // the output sits right below the end of the allocations, so a store past row `rows` would show in `guard`
  const out = mem.alloc(rows * 4 + 16);
  new Uint32Array(k.memory.buffer, out, rows + 4).fill(0xdeadbeef);
  (k[fn] as KMatmul)(out, w.data, q, q + cols, q + cols + nb * 4, rows, cols, 1);
  const bits = new Uint32Array(k.memory.buffer.slice(out, out + rows * 4));
  expect(Array.from(new Uint32Array(k.memory.buffer, out + rows * 4, 4)), "past the last row").toEqual([0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef]);
  return bits;
}

/** The shared cases; `runtime` names where they run. */
export function kquantDecodePairCases(runtime: string): void {
  describe.each(FORMATS)(`${runtime}: wasm-relaxed %s decode in panel pairs`, (_name, type, pack, fn, blockBytes) => {
    // Panels 1 to 11 (panels p and p + P/2 together, an odd last panel alone): 1 (alone), 2 (a pair whose second
    // panel has 1 row), 3 and 5 (odd: the last alone, 3 rows / full), 4 (two pairs, the second's last panel with 1
    // row), 6 and 8 (three and four pairs, the second stream's last panel with 2 rows), 7 and 9 (the last panel alone
    // with 1 row), 10 (rows a multiple of 8), 11 (five pairs and the last panel alone, all full).
    it.each([
      [3, 256],
      [5, 512],
      [11, 256],
      [13, 768],
      [20, 512],
      [22, 256],
      [25, 512],
      [30, 256],
      [33, 512],
      [40, 256],
      [44, 256],
    ])("%i×%i: the i16 decode's bits", (rows, cols) => {
      const rand = seededRandom(0xd5ec0 + type * 31 + rows + cols);
      const bytes = randomBlocks(rand, type, rows, cols);
      const x = randomArray(rand, cols);
      const want = decode(0, pack, fn, bytes, rows, cols, x);
      expect(new Set(want).size).toBeGreaterThan(rows / 2);
      expect(Array.from(decode(1, pack, fn, bytes, rows, cols, x))).toEqual(Array.from(want));
    });

    it("every value, scale and min at its largest against |q| = 127, 9 and 17 rows: the i16 decode's bits", () => {
      for (const rows of [9, 17]) {
        const cols = 512;
        const bytes = new Uint8Array(((rows * cols) / 256) * blockBytes).fill(0xff);
        for (let b = 0; b < bytes.length; b += blockBytes) for (const f of F16_FIELDS.get(type)!) bytes.set([0x00, 0x38], b + f); // f16 0.5
        for (const sign of [1, -1]) {
          const x = new Float32Array(cols).fill(sign);
          const want = decode(0, pack, fn, bytes, rows, cols, x);
          // values 15 (31) · scale 63 · 127 · 512 less the mins' term: every row the same finite, non-zero figure
          const f = Array.from(new Float32Array(want.buffer));
          expect(f.every((v) => Number.isFinite(v) && v !== 0 && v === f[0])).toBe(true);
          expect(Array.from(decode(1, pack, fn, bytes, rows, cols, x)), `${rows} rows, x = ${sign}`).toEqual(Array.from(want));
        }
      }
    });
  });
}

/**
 * Q4_K decode widens its f16 d and dmin in four operations unless a block's eight hold an Inf/NaN (q45-values.ts
 * q4Scale): with subnormal, negative and largest finite headers and blocks of Inf/NaN d or dmin, both decode forms and
 * builds must give ref's figures (ggml activations), and non-finite rows where ref's are. (In workerd the relaxed
 * build decodes in panel pairs, in Node one panel at a time.)
 */
export function q4kHeaderCases(runtime: string): void {
  const builds = [
    ["wasm-simd128", () => new WasmBackend(kernelModules().simd128)],
    ["wasm-relaxed", () => new WasmBackend(kernelModules().relaxed!)],
  ] as const;
  describe.each(builds)(`${runtime}: %s Q4_K decode with special f16 d and dmin`, (_label, make) => {
    it("subnormal, negative, largest and Inf/NaN headers: ref's figures", async () => {
      const rows = 20, cols = 512, rand = seededRandom(0x4f16);
      const bytes = randomBlocks(rand, GgmlType.Q4_K, rows, cols);
      // [d, dmin] per row (f16 bits), both blocks of the row alike except where noted
      const heads: [number, number][] = [
        [0x0001, 0x0001], [0x03ff, 0x8200], [0x7bff, 0x3c00], [0xfbff, 0x0400], [0x8001, 0x7bff],
        [0x7c00, 0x3800], [0x3800, 0xfc00], [0x7e00, 0x3800], [0x3800, 0x7e01], [0x2000, 0x1000],
      ];
      for (let r = 0; r < rows; r++) {
        const [d, m] = heads[r % heads.length]!;
        for (let b = 0; b < cols / 256; b++) {
          const o = (r * (cols / 256) + b) * 144;
          // row 5's Inf only in its second block: the block's other rows take the full conversion too
          if (r % heads.length === 5 && b === 0) continue;
          bytes.set([d & 0xff, d >> 8, m & 0xff, m >> 8], o);
        }
      }
      const x = randomArray(rand, cols);
      const want = await runMatmul(new RefBackend({ activations: "ggml" }), GgmlType.Q4_K, bytes, rows, cols, x, 1);
      const got = await runMatmul(make(), GgmlType.Q4_K, bytes, rows, cols, x, 1);
      // ref dequantizes each weight (Inf·0 gives NaN) where the kernels scale whole sums (±Inf): both non-finite
      expect(want.filter((v) => !Number.isFinite(v)).length).toBe(8);
      for (let r = 0; r < rows; r++) {
        if (!Number.isFinite(want[r]!)) expect(Number.isFinite(got[r]!), `row ${r}: ${got[r]}`).toBe(false);
        else expect(Math.abs(got[r]! - want[r]!), `row ${r}: ${got[r]} vs ${want[r]}`).toBeLessThanOrEqual(1e-3 * Math.abs(want[r]!) + 1e-30);
      }
    });
  });
}

/**
 * One token of a 3-token matmul runs the one-panel decode (matmul-q4k.ts: fewer than 4 tokens take no prefill tile):
 * every row of each token's pair decode (the i16 form's on expanded activations, decode-q45-i16.ts, with fused 0;
 * decode-q45-pair.ts with 1) must have that token's bits from the 3-token call.
 */
function tokensVsDecode(fused: number, pack: typeof packQ4K, fn: string, bytes: Uint8Array, rows: number, cols: number, x: Float32Array): Uint32Array {
  const k = instantiateKernels(kernelModules().relaxed!) as unknown as K;
  k.set_dot_add_fused(fused);
  const mem = new LinearMemory(k.memory, k.heap_base());
  const w = pack(mem, rows, cols, bytes, true);
  const n = 3, nb = cols / 256;
  const xp = mem.alloc(n * cols * 4);
  mem.f32.set(x, xp / 4);
  const q = mem.alloc(n * cols + n * nb * 116), d = q + n * cols, s = d + n * nb * 4;
  k.quantize_q8_k(xp, q, d, s, n * cols);
  const out = mem.alloc(n * rows * 4 + 16);
  const run = k[fn] as KMatmul;
  run(out, w.data, q, d, s, rows, cols, n);
  const want = Array.from(new Uint32Array(k.memory.buffer.slice(out, out + n * rows * 4)));
  for (let t = 0; t < n; t++) {
    const o = mem.alloc(rows * 4 + 16);
    new Uint32Array(k.memory.buffer, o, rows + 4).fill(0xdeadbeef);
    run(o, w.data, q + t * cols, d + t * nb * 4, s + t * nb * 112, rows, cols, 1);
    expect(Array.from(new Uint32Array(k.memory.buffer, o, rows)), `token ${t}`).toEqual(want.slice(t * rows, (t + 1) * rows));
    expect(Array.from(new Uint32Array(k.memory.buffer, o + rows * 4, 4)), "past the last row").toEqual([0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef]);
  }
  return Uint32Array.from(want);
}

/** The shared cases of the pair decodes against the one-panel decode; `runtime` names where they run. */
export function kquantDecodeOnePanelCases(runtime: string): void {
  describe.each(FORMATS)(`${runtime}: wasm-relaxed %s decode against the one-panel decode`, (_name, type, pack, fn, blockBytes) => {
    // Panels 1, 2 (the second with 1 row), 3, 4, 5, 10 (and 6, 9 fused); 80 blocks of columns (the most the i16
    // form's expanded activations hold) and 81 (past them: the one-panel decode).
    it.each([
      [3, 256, 0], [5, 512, 0], [11, 256, 0], [13, 768, 0], [20, 512, 0], [40, 256, 0], [9, 20480, 0], [9, 20736, 0],
      [5, 512, 1], [13, 768, 1], [9, 20480, 1], [22, 512, 1], [33, 256, 1],
    ])("%i×%i, dot_add_fused %i: each token's bits", (rows, cols, fused) => {
      const rand = seededRandom(0x1e16 + type * 31 + rows + cols);
      const bits = tokensVsDecode(fused, pack, fn, randomBlocks(rand, type, rows, cols), rows, cols, randomArray(rand, 3 * cols));
      expect(new Set(bits).size).toBeGreaterThan(rows);
    });

    it("every value, scale and min at its largest against |q| = 127, 9 and 17 rows: the one-panel bits", () => {
      for (const rows of [9, 17]) {
        const cols = 512;
        const bytes = new Uint8Array(((rows * cols) / 256) * blockBytes).fill(0xff);
        for (let b = 0; b < bytes.length; b += blockBytes) for (const f of F16_FIELDS.get(type)!) bytes.set([0x00, 0x38], b + f); // f16 0.5
        // tokens of +1, -1 and +1, +1, -1 repeated
        const x = Float32Array.from({ length: 3 * cols }, (_, i) => (i < cols ? 1 : i < 2 * cols ? -1 : i % 3 === 2 ? -1 : 1));
        for (const fused of [0, 1]) {
          // each token's rows the same finite, non-zero figure; the three tokens' figures differ
          const f = Array.from(new Float32Array(tokensVsDecode(fused, pack, fn, bytes, rows, cols, x).buffer));
          for (let t = 0; t < 3; t++) expect(f.slice(t * rows, (t + 1) * rows).every((v) => Number.isFinite(v) && v !== 0 && v === f[t * rows])).toBe(true);
          expect(new Set([f[0], f[rows], f[2 * rows]]).size).toBe(3);
        }
      }
    });
  });
}
