// Runs the shared conformance suite against the webgpu backend on whatever adapter Dawn finds (a software one here).
import { describe, expect, it } from "vitest";
import { GgmlType } from "../../src/gguf/ggml-types";
import { ModelError } from "../../src/engine/errors";
import { quantize } from "../../src/quant/index";
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { CONFORMANCE_WEIGHT_TYPES, EXACT_TOLERANCES, runConformance } from "./backend-conformance.case";
import { attention64, nmse, randomArray, seededRandom } from "./expected";
import { runMatmul } from "../helpers/backend-ops";
import { webGpuForTests } from "../helpers/webgpu";
import { WebGpuBackend } from "../../src/backends/webgpu/webgpu-backend";
import type { GpuMatrix } from "../../src/backends/webgpu/buffers";
import { GPU_FORMATS } from "../../src/backends/webgpu/formats";
import { GGML_TYPES } from "../../src/gguf/ggml-types";

// The format table needs no adapter: every row's geometry is the file's, and the conformance suite covers every row.
describe("webgpu format table", () => {
  it("holds every weight type of issue 12 with the file's block geometry, each one the conformance suite checks", () => {
    const names = [...GPU_FORMATS.keys()].map((t) => GgmlType[t]).sort();
    expect(names).toEqual(["BF16", "F16", "F32", "Q2_K", "Q3_K", "Q4_0", "Q4_1", "Q4_K", "Q5_0", "Q5_1", "Q5_K", "Q6_K", "Q8_0"]);
    for (const [type, f] of GPU_FORMATS) {
      const info = GGML_TYPES.get(type)!;
      expect([f.blockElems, f.blockBytes], info.name).toEqual([info.blockSize, info.typeSize]);
      expect(f.blockBytes % 2, `${info.name}: blocks.wgsl reads blocks at even offsets`).toBe(0);
      expect(CONFORMANCE_WEIGHT_TYPES, info.name).toContain(type);
    }
  });
});

const gpu = await webGpuForTests();

// Quantized matmuls dot Q8_0-quantized activations (F16: f16-rounded) like ggml and the ref backend's "ggml" mode:
// ggml's test-backend-ops bound for quantized mul_mat, 5e-4. Elementwise ops run in f32 on the GPU; RoPE computes the
// angle in f32 as llama.cpp does, which at position 2040 costs ~1e-4 rad (measured NMSE ~1e-8): bound 1e-7, still
// 1000× below what a wrong index or sign gives. Matmul and attention sums are f32 in another order: exact bounds.
// On an f16 KV cache the spec rounds the softmax weights to f16 (llama.cpp's F16 V matmul); the one-pass online
// softmax here never holds the final weights, so it keeps them f32: a relative 2^-12 per weight, NMSE ≤ 1e-7.
const TOLERANCES = { ...EXACT_TOLERANCES, matmulQuantized: 5e-4, elementwise: 1e-7, attentionF16Kv: 1e-6 };

if (gpu.backend) {
  const backend = gpu.backend;
  runConformance(`webgpu (${backend.adapterDescription})`, () => backend, TOLERANCES);

  describe("webgpu against the ref backend (ggml activations)", () => {
    const ref = new RefBackend({ activations: "ggml" });
    const rand = seededRandom(0x6e0);
    const up = (d: Float32Array) => {
      const buf = backend.createBuffer(d.length);
      backend.write(buf, d);
      return buf;
    };

    // Same activation rounding and exact integer block dots: only the f32 summation order differs. Short rows run
    // several to a workgroup (one thread each), long ones split across threads.
    it.each([
      [GgmlType.Q8_0, 64, 256, 6],
      [GgmlType.Q8_0, 31, 64, 1],
      [GgmlType.Q4_0, 64, 256, 6],
      [GgmlType.Q4_0, 31, 64, 1],
      [GgmlType.F16, 48, 172, 5],
      // Long rows: several threads per row (SPLIT 8, 16) and their workgroup reduction.
      [GgmlType.Q8_0, 40, 2048, 5],
      [GgmlType.Q4_0, 33, 4096, 3],
      [GgmlType.F32, 9, 4096, 2],
      // Every other format of the table: Q8_1 (Q4_1, Q5_1) and Q8_K (K-quants) activations, bf16-rounded ones (BF16).
      [GgmlType.BF16, 33, 96, 3],
      [GgmlType.Q5_0, 33, 96, 3],
      [GgmlType.Q4_1, 33, 96, 3],
      [GgmlType.Q5_1, 33, 2048, 2],
      [GgmlType.Q2_K, 33, 512, 3],
      [GgmlType.Q3_K, 33, 512, 3],
      [GgmlType.Q4_K, 33, 2048, 3],
      [GgmlType.Q5_K, 33, 512, 3],
      [GgmlType.Q6_K, 33, 512, 5],
    ])("matmul type %i %ix%i × %i tokens matches ref to 1e-10 NMSE", async (type, rows, cols, nTokens) => {
      const bytes = quantize(type, randomArray(rand, rows * cols, 0.5));
      const x = randomArray(rand, nTokens * cols, 2);
      const err = nmse(await runMatmul(backend, type, bytes, rows, cols, x, nTokens), await runMatmul(ref, type, bytes, rows, cols, x, nTokens));
      expect(err).toBeLessThanOrEqual(1e-10);
    });

    it("in-place ops (out aliasing an input) give the same results as separate buffers", async () => {
      const n = 96;
      const [a, b] = [randomArray(rand, n), randomArray(rand, n)];
      const x = up(a);
      backend.add(x, x, x, n);
      expect(Array.from(await backend.readAsync(x, 0, n))).toEqual(Array.from(a, (v) => Math.fround(v + v)));
      const y = up(b);
      backend.add(y, up(a), y, n);
      expect(Array.from(await backend.readAsync(y, 0, n))).toEqual(Array.from(a, (v, i) => Math.fround(v + b[i]!)));
      const w = backend.loadVector("norm", randomArray(rand, n));
      const [sep, same] = [up(a), up(a)];
      const out = backend.createBuffer(n);
      backend.rmsnorm(out, sep, w, 1, 1e-5);
      backend.rmsnorm(same, same, w, 1, 1e-5);
      expect(Array.from(await backend.readAsync(same, 0, n))).toEqual(Array.from(await backend.readAsync(out, 0, n)));
    });

    // Beyond the shared suite's shapes: more than 8 query heads per KV head (two head chunks), head dimension 128 (two
    // dimensions per thread), and more positions than one 64-position tile.
    it.each([
      [12, 1, 128, 70, 2],
      [16, 2, 64, 130, 1],
    ])("attention %i heads / %i kv heads × %i dims at pos0 %i, %i tokens", async (nHeads, nKvHeads, headDim, pos0, nTokens) => {
      const kvDim = nKvHeads * headDim;
      const cache = backend.createKvCache({ nLayers: 1, nCtx: 256, nKvHeads, headDim });
      const [k, v] = [randomArray(rand, (pos0 + nTokens) * kvDim), randomArray(rand, (pos0 + nTokens) * kvDim)];
      backend.storeKv(cache, 0, 0, pos0 + nTokens, up(k), up(v));
      const q = randomArray(rand, nTokens * nHeads * headDim);
      const out = backend.createBuffer(q.length);
      backend.attention(out, up(q), cache, 0, pos0, nTokens, { nHeads, nKvHeads, headDim });
      expect(nmse(await backend.readAsync(out, 0, q.length), attention64(q, k, v, pos0, nTokens, nHeads, nKvHeads, headDim))).toBeLessThanOrEqual(TOLERANCES.attention);
    });

    it("a forward-sized run of ops is recorded into one submission", async () => {
      const before = backend.stats;
      const x = backend.createBuffer(64);
      for (let i = 0; i < 20; i++) backend.softmax(x, 1, 64);
      await backend.readAsync(x, 0, 64);
      const after = backend.stats;
      expect(after.dispatches - before.dispatches).toBe(20);
      expect(after.submissions - before.submissions).toBe(1);
    });

    it("more dispatches than one parameter arena holds are cut into submissions in order", async () => {
      const before = backend.stats;
      const [x, one] = [backend.createBuffer(8), backend.createBuffer(8)];
      backend.write(one, new Float32Array(8).fill(1));
      for (let i = 0; i < 1500; i++) backend.add(x, x, one, 8);
      expect(Array.from(await backend.readAsync(x, 0, 8))).toEqual(new Array(8).fill(1500));
      expect(backend.stats.submissions - before.submissions).toBe(3); // the write's flush, a full arena, the rest
    });

    it("memory() counts weights, KV and scratch; release makes buffers unusable", () => {
      const before = backend.memory();
      backend.loadMatrix("w", GgmlType.Q8_0, 4, 64, quantize(GgmlType.Q8_0, randomArray(rand, 256)));
      expect(backend.memory().weightsBytes - before.weightsBytes).toBe(4 * 68 + 4);
      const cache = backend.createKvCache({ nLayers: 2, nCtx: 8, nKvHeads: 2, headDim: 4 });
      expect(backend.memory().kvBytes - before.kvBytes).toBe(2 * 2 * 8 * 8 * 4);
      backend.release(cache);
      expect(backend.memory().kvBytes).toBe(before.kvBytes);
      const buf = backend.createBuffer(100);
      backend.release(buf);
      expect(() => backend.copy(buf, 0, buf, 0, 1)).toThrow(/after release/);
    });

    it("rejects sync reads, other backends' handles and unsupported types with clear errors", () => {
      const buf = backend.createBuffer(4);
      expect(() => backend.read(buf, 0, 1)).toThrow(/readAsync/);
      expect(() => backend.matmul(buf, backend.loadMatrix("w", GgmlType.F32, 1, 4, new Uint8Array(16)), ref.createBuffer(4), 1)).toThrow(/another backend/);
      expect(backend.supportsWeightType(GgmlType.Q8_1)).toBe(false);
      // A type missing from the format table is refused at load, naming the tensor and the type.
      expect(() => backend.loadMatrix("blk.0.ffn_up.weight", GgmlType.Q8_1, 1, 32, new Uint8Array(36))).toThrow(ModelError);
      expect(() => backend.loadMatrix("blk.0.ffn_up.weight", GgmlType.Q8_1, 1, 32, new Uint8Array(36))).toThrow(/blk\.0\.ffn_up\.weight has type Q8_1/);
      expect(() => backend.loadMatrix("blk.0.attn_q.weight", GgmlType.Q4_K, 1, 64, new Uint8Array(144))).toThrow(/blk\.0\.attn_q\.weight: rows of 64 are not whole Q4_K blocks/);
    });
  });
} else {
  describe.skip(`webgpu backend — SKIPPED: ${gpu.reason}`, () => {
    it("needs a WebGPU adapter", () => {});
  });
}

// Weights larger than the device's buffer limit are split by rows; here the limit is lowered so small ones split too.
describe.skipIf(!gpu.backend)("webgpu weights split across buffers", () => {
  it.each([
    [GgmlType.Q8_0, 37, 64, 3],
    [GgmlType.Q4_0, 37, 96, 2],
    [GgmlType.F16, 37, 172, 1],
    [GgmlType.F32, 37, 40, 2],
    // Blocks of 22, 110 and 210 bytes: rows start at half-word offsets in each chunk.
    [GgmlType.Q5_0, 37, 96, 2],
    [GgmlType.Q3_K, 37, 256, 2],
    [GgmlType.Q6_K, 37, 256, 3],
  ])("type %i, %i rows of %i, %i tokens: matmul and embed equal an unsplit matrix", async (type, rows, cols, nTokens) => {
    const whole = gpu.backend!;
    const split = await WebGpuBackend.create(null, { maxWeightBytes: 1024 });
    const rand = seededRandom(rows * cols);
    const bytes = quantize(type, randomArray(rand, rows * cols, 0.5));
    const x = randomArray(rand, nTokens * cols);
    const tokens = [0, 36, 17, 5];
    const results = [];
    const chunks: number[] = [];
    for (const b of [whole, split]) {
      const w = b.loadMatrix("w", type, rows, cols, bytes);
      chunks.push((w as GpuMatrix).chunks.length);
      const xb = b.createBuffer(x.length);
      b.write(xb, x);
      const out = b.createBuffer(rows * nTokens);
      b.matmul(out, w, xb, nTokens);
      const emb = b.createBuffer(tokens.length * cols);
      b.embed(emb, w, tokens);
      results.push([await b.readAsync(out, 0, rows * nTokens), await b.readAsync(emb, 0, tokens.length * cols)]);
    }
    expect(Array.from(results[1]![0]!)).toEqual(Array.from(results[0]![0]!));
    expect(Array.from(results[1]![1]!)).toEqual(Array.from(results[0]![1]!));
    const rowsPerChunk = Math.floor((1024 - 4) / (bytes.length / rows)); // whole rows plus 4 bytes of slack
    expect(chunks).toEqual([1, Math.ceil(rows / rowsPerChunk)]);
    expect(chunks[1]).toBeGreaterThan(1);
    split.destroy();
  });
});
