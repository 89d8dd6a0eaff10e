// The shared conformance suite: every op of a Backend against float64 math, with seeded random and awkward shapes.
import { readBack as readFrom } from "../helpers/backend-ops";
import { describe, expect, it } from "vitest";
import type { Backend, Buffer, KvCache } from "../../src/backends/backend";
import { GGML_TYPES, GgmlType } from "../../src/gguf/ggml-types";
import { QUANTIZE_TYPES, dequantize, quantize } from "../../src/quant/index";
import { attention64, matmul64, nmse, randomArray, rmsnorm64, rope64, seededRandom, softmax64 } from "./expected";
import { randomBlocks } from "./random-blocks";
import { runKvConformance } from "./kv-conformance.case";

/** Per-op NMSE bounds a backend promises. Quantized matmuls get their own bound when inputs are quantized too. */
export interface ConformanceTolerances {
  /** Matmul against F32 weights. */
  matmulF32: number;
  /** Matmul against every other weight type (exact backends: same as F32; activation-quantizing ones: looser). */
  matmulQuantized: number;
  /** Elementwise and normalisation ops (rmsnorm, rope, softmax, swiglu, add, embed). */
  elementwise: number;
  attention: number;
  /**
   * Attention on an f16 KV cache, when the backend cannot round the softmax weights to f16 as the spec does (webgpu's
   * one-pass online softmax never holds the final weights); default: `attention`.
   */
  attentionF16Kv?: number;
}

/** float32-exact math lands around 1e-14 NMSE; these bounds leave a wide margin yet catch any real mistake (≥1e-4). */
export const EXACT_TOLERANCES: ConformanceTolerances = { matmulF32: 1e-10, matmulQuantized: 1e-10, elementwise: 1e-10, attention: 1e-10 };

/**
 * Every weight type the suite checks, each where the backend under test supports it (supportsWeightType). A backend's
 * format table must not hold a type missing here: wasm-backend.test.ts and ref-backend.test.ts check that.
 */
export const CONFORMANCE_WEIGHT_TYPES: readonly GgmlType[] = [
  GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
  GgmlType.Q8_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
];

/**
 * `rows`×`cols` weights of `type` as GGUF bytes: quantized from uniform values where src/quant can, else random blocks
 * (every bit pattern of quants, scales and mins; see random-blocks.ts).
 */
function weightBytes(rand: () => number, type: GgmlType, rows: number, cols: number): Uint8Array {
  if (QUANTIZE_TYPES.includes(type)) return quantize(type, randomArray(rand, rows * cols, 0.5));
  return randomBlocks(rand, type, rows, cols);
}

/** (rows, cols, nTokens) for 256-element super-block types: fewer rows than a panel, partial last panels, prefill batches. */
const KQUANT_SHAPES = [
  [2, 512, 2],
  [64, 256, 1],
  [33, 512, 3],
  [7, 768, 9],
  [130, 256, 4],
  [13, 512, 8], // K-quant prefill tiles of two panels (wasm relaxed), the second one row long
] as const;
/** (rows, cols, nTokens): cols 172 is stories260K's ffn_down (not a multiple of 32, so float types only). */
const MATMUL_SHAPES = [
  [1, 32, 1],
  [64, 64, 1],
  [33, 96, 3],
  [172, 64, 7],
  [64, 172, 5],
  [512, 64, 1],
  [7, 256, 32],
] as const;

export function runConformance(label: string, makeBackend: () => Backend, tol: ConformanceTolerances): void {
  describe(`${label} conformance`, () => {
    const backend = makeBackend();
    const rand = seededRandom(0x5eed);
    // Device backends (webgpu) read results back asynchronously; the others synchronously.
    const readBack = (b: Buffer, offset: number, n: number) => readFrom(backend, b, offset, n);
    const readKvBack = async (c: KvCache, pos0: number, n: number) => (backend.readKvAsync ? backend.readKvAsync(c, pos0, n) : backend.readKv(c, pos0, n));
    const upload = (data: Float32Array) => {
      const b = backend.createBuffer(data.length);
      backend.write(b, data);
      return b;
    };

    for (const type of CONFORMANCE_WEIGHT_TYPES.filter((t) => backend.supportsWeightType(t))) {
      const block = GGML_TYPES.get(type)!.blockSize;
      for (const [rows, cols, nTokens] of block === 256 ? KQUANT_SHAPES : MATMUL_SHAPES) {
        if (cols % block !== 0) continue;
        // A single output's NMSE is its squared relative error: random blocks (weights with large offsets) can land it
        // near zero, where activation quantization noise alone exceeds any bound. Random-block types get ≥ 4 outputs.
        if (!QUANTIZE_TYPES.includes(type) && rows * nTokens < 4) continue;
        it(`matmul type ${GgmlType[type]} ${rows}x${cols} × ${nTokens} tokens`, async () => {
          const bytes = weightBytes(rand, type, rows, cols);
          const x = randomArray(rand, nTokens * cols);
          const w = backend.loadMatrix("w", type, rows, cols, bytes);
          const out = backend.createBuffer(nTokens * rows);
          backend.matmul(out, w, upload(x), nTokens);
          const err = nmse(await readBack(out, 0, nTokens * rows), matmul64(type, bytes, rows, cols, x, nTokens));
          expect(err).toBeLessThanOrEqual(type === GgmlType.F32 ? tol.matmulF32 : tol.matmulQuantized);
        });
      }
    }

    it.each([[64, 1], [172, 3], [288, 4]])("rmsnorm dim %i × %i tokens", async (dim, nTokens) => {
      const x = randomArray(rand, dim * nTokens, 3);
      const w = randomArray(rand, dim);
      const out = backend.createBuffer(dim * nTokens);
      backend.rmsnorm(out, upload(x), backend.loadVector("norm", w), nTokens, 1e-5);
      expect(nmse(await readBack(out, 0, dim * nTokens), rmsnorm64(x, w, nTokens, 1e-5))).toBeLessThanOrEqual(tol.elementwise);
    });

    // Positions 0, 1 and near the end of a 2048 context; head dims 8 (stories260K), 64, and a partial rotation.
    it.each([
      [0, 3, 8, 8, 8],
      [1, 2, 4, 64, 64],
      [2040, 8, 2, 32, 32],
      [500, 1, 3, 64, 32],
    ])("rope pos0 %i, %i tokens, %i heads × %i dims (rotating %i)", async (pos0, nTokens, nHeads, headDim, ropeDims) => {
      const n = nTokens * nHeads * headDim;
      const x = randomArray(rand, n);
      const b = upload(x);
      backend.rope(b, nTokens, pos0, { nHeads, headDim, ropeDims, freqBase: 10000, freqScale: 1 });
      expect(nmse(await readBack(b, 0, n), rope64(x, nTokens, pos0, nHeads, headDim, ropeDims, 10000))).toBeLessThanOrEqual(tol.elementwise);
    });

    // qwen2/qwen3 rotate half-split pairs; llama 3 divides each pair's angle by its rope_freqs factor (host floats in
    // RopeParams, whatever their count: 128 factors for a 256-dim rotation).
    it.each([
      ["neox", false, 1, 3, 2, 64, 64],
      ["neox", false, 700, 2, 3, 128, 64],
      ["norm", true, 1000, 3, 2, 64, 64],
      ["neox", true, 5, 2, 2, 32, 32],
      ["norm", true, 300, 2, 2, 256, 256],
    ] as const)("rope %s (factors %s) pos0 %i, %i tokens, %i heads × %i dims (rotating %i)", async (style, withFactors, pos0, nTokens, nHeads, headDim, ropeDims) => {
      const n = nTokens * nHeads * headDim;
      const x = randomArray(rand, n);
      const factors = withFactors ? Float32Array.from({ length: ropeDims / 2 }, (_, i) => 1 + (i % 5) * 1.75) : undefined;
      const b = upload(x);
      const params = { nHeads, headDim, ropeDims, freqBase: 500000, freqScale: 1, style };
      backend.rope(b, nTokens, pos0, factors ? { ...params, freqFactors: factors } : params);
      expect(nmse(await readBack(b, 0, n), rope64(x, nTokens, pos0, nHeads, headDim, ropeDims, 500000, style, factors))).toBeLessThanOrEqual(tol.elementwise);
    });

    // Backends that cache the angle table per positions and params must also key it on the factors themselves: two
    // arrays at the same positions, then the first again, each rotate by their own values.
    it("rope with different frequency factors at the same positions", async () => {
      const [nTokens, nHeads, headDim, pos0] = [2, 2, 64, 40];
      const params = { nHeads, headDim, ropeDims: headDim, freqBase: 500000, freqScale: 1 };
      const a = Float32Array.from({ length: headDim / 2 }, (_, i) => 1 + (i % 3));
      const b = Float32Array.from({ length: headDim / 2 }, (_, i) => 8 - (i % 7));
      for (const factors of [a, b, a]) {
        const x = randomArray(rand, nTokens * nHeads * headDim);
        const xb = upload(x);
        backend.rope(xb, nTokens, pos0, { ...params, freqFactors: factors });
        expect(nmse(await readBack(xb, 0, x.length), rope64(x, nTokens, pos0, nHeads, headDim, headDim, 500000, "norm", factors))).toBeLessThanOrEqual(tol.elementwise);
      }
    });

    it("rope refuses frequency factors that do not hold one per rotated pair", () => {
      const params = { nHeads: 1, headDim: 64, ropeDims: 64, freqBase: 10000, freqScale: 1, freqFactors: new Float32Array(16) };
      expect(() => backend.rope(upload(randomArray(rand, 64)), 1, 0, params)).toThrow(/16 frequency factors, expected ropeDims \/ 2 = 32/);
    });

    it.each([[1, 64], [5, 896], [3, 128]])("addBias %i rows × %i", async (rows, len) => {
      const [x, bias] = [randomArray(rand, rows * len), randomArray(rand, len)];
      const b = upload(x);
      backend.addBias(b, backend.loadVector("bias", bias), rows);
      expect(nmse(await readBack(b, 0, rows * len), Float64Array.from(x, (xi, i) => xi + bias[i % len]!))).toBeLessThanOrEqual(tol.elementwise);
    });

    it.each([[1, 5], [3, 512], [2, 1000]])("softmax %i rows × %i", async (rows, len) => {
      const x = randomArray(rand, rows * len, 10);
      const b = upload(x);
      backend.softmax(b, rows, len);
      expect(nmse(await readBack(b, 0, rows * len), softmax64(x, rows, len))).toBeLessThanOrEqual(tol.elementwise);
    });

    it("swiglu and add", async () => {
      const n = 1000;
      const [g, u] = [randomArray(rand, n, 6), randomArray(rand, n)];
      const out = backend.createBuffer(n);
      backend.swiglu(out, upload(g), upload(u), n);
      const want = Float64Array.from(g, (gi, i) => (gi / (1 + Math.exp(-gi))) * u[i]!);
      expect(nmse(await readBack(out, 0, n), want)).toBeLessThanOrEqual(tol.elementwise);
      const a = upload(g);
      backend.add(a, a, upload(u), n);
      expect(nmse(await readBack(a, 0, n), Float64Array.from(g, (gi, i) => gi + u[i]!))).toBeLessThanOrEqual(tol.elementwise);
    });

    it.each(CONFORMANCE_WEIGHT_TYPES.filter((t) => backend.supportsWeightType(t)).map((t) => [GgmlType[t], t] as const))("embed rows of type %s", async (_name, type) => {
      const [vocab, dim] = [50, GGML_TYPES.get(type)!.blockSize === 256 ? 256 : 64];
      const bytes = weightBytes(rand, type, vocab, dim);
      const table = backend.loadMatrix("embd", type, vocab, dim, bytes);
      const tokens = [0, 49, 7, 7];
      const out = backend.createBuffer(tokens.length * dim);
      backend.embed(out, table, tokens);
      const all = dequantize(type, bytes, vocab * dim);
      const want = tokens.flatMap((t) => Array.from(all.subarray(t * dim, (t + 1) * dim)));
      expect(nmse(await readBack(out, 0, want.length), want)).toBeLessThanOrEqual(tol.elementwise);
    });

    // GQA group sizes 1 (MHA), 2 (stories260K), 4, and MQA; queries at position 0, mid-context and the last position.
    it.each([
      [4, 4, 16, 0, 1, 16],
      [8, 4, 8, 0, 5, 16],
      [8, 2, 32, 9, 3, 16],
      [6, 1, 16, 62, 2, 64],
      [4, 2, 8, 63, 1, 64],
    ])("attention %i heads / %i kv heads × %i dims, pos0 %i, %i tokens, ctx %i", async (nHeads, nKvHeads, headDim, pos0, nTokens, nCtx) => {
      const kvDim = nKvHeads * headDim;
      const cache = backend.createKvCache({ nLayers: 2, nCtx, nKvHeads, headDim });
      const k = randomArray(rand, (pos0 + nTokens) * kvDim);
      const v = randomArray(rand, (pos0 + nTokens) * kvDim);
      const layer = 1;
      // Earlier positions one at a time, then the batch: also exercises storeKv at offsets.
      for (let p = 0; p < pos0; p++) backend.storeKv(cache, layer, p, 1, upload(k.slice(p * kvDim, (p + 1) * kvDim)), upload(v.slice(p * kvDim, (p + 1) * kvDim)));
      backend.storeKv(cache, layer, pos0, nTokens, upload(k.slice(pos0 * kvDim)), upload(v.slice(pos0 * kvDim)));
      const q = randomArray(rand, nTokens * nHeads * headDim);
      const out = backend.createBuffer(q.length);
      backend.attention(out, upload(q), cache, layer, pos0, nTokens, { nHeads, nKvHeads, headDim });
      const want = attention64(q, k, v, pos0, nTokens, nHeads, nKvHeads, headDim);
      expect(nmse(await readBack(out, 0, q.length), want)).toBeLessThanOrEqual(tol.attention);
      backend.release(cache);
    });

    it("readKv / writeKv round-trip positions between caches", async () => {
      const layout = { nLayers: 3, nCtx: 20, nKvHeads: 2, headDim: 8 };
      const [a, b] = [backend.createKvCache(layout), backend.createKvCache(layout)];
      const kvDim = 16;
      for (let l = 0; l < 3; l++) backend.storeKv(a, l, 0, 10, upload(randomArray(rand, 10 * kvDim)), upload(randomArray(rand, 10 * kvDim)));
      const page = await readKvBack(a, 2, 6);
      expect(page.length).toBe(6 * 3 * 2 * kvDim);
      backend.writeKv(b, 2, 6, page);
      expect(Array.from(await readKvBack(b, 2, 6))).toEqual(Array.from(page));
      expect((await readKvBack(b, 0, 2)).every((x) => x === 0)).toBe(true);
    });

    runKvConformance(backend, upload, readBack, { q8_0: tol.attention, f16: tol.attentionF16Kv ?? tol.attention });
  });
}
