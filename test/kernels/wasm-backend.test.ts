// Runs the shared conformance suite against both wasm builds, and checks them against the ref backend's ggml mode.
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { RefBackend } from "../../src/backends/ref/ref-backend";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules, pickBuild, relaxedSimdSupported, RELAXED_PROBE } from "../../src/backends/wasm/kernel-modules";
import { createBackend } from "../../src/backends/select";
import { GgmlType } from "../../src/gguf/ggml-types";
import { quantize } from "../../src/quant/index";
import { CONFORMANCE_WEIGHT_TYPES, EXACT_TOLERANCES, runConformance } from "./backend-conformance.case";
import { WASM_FORMATS } from "../../src/backends/wasm/formats";
import { ModelError } from "../../src/engine/errors";
import { GGML_TYPES } from "../../src/gguf/ggml-types";
import { randomBlocks } from "./random-blocks";
import { runMatmul } from "../helpers/backend-ops";
import { attention64, nmse, randomArray, rope64, seededRandom } from "./expected";

// Quantized matmuls dot Q8_0-quantized activations (F16: f16-rounded ones) exactly like the ref backend's "ggml"
// mode, so they get the same bound as that mode: ggml's test-backend-ops bound for quantized mul_mat, 5e-4. Everything
// else is f32 math in a different summation order (f32 exp in softmax), inside the exact bounds.
const TOLERANCES = { ...EXACT_TOLERANCES, matmulQuantized: 5e-4 };
const builds = [
  ["wasm-simd128", () => new WasmBackend(kernelModules().simd128)],
  ["wasm-relaxed", () => new WasmBackend(kernelModules().relaxed!)],
] as const;

for (const [label, make] of builds) runConformance(label, make, TOLERANCES);

describe.each(builds)("%s against the ref backend (ggml activations)", (label, make) => {
  const ref = new RefBackend({ activations: "ggml" });
  const wasm = make();
  const rand = seededRandom(0xa11ce);

  it("reports its build", () => expect(wasm.name).toBe(label));

  // Same activation rounding, so only the summation order differs: far tighter than the 5e-4 bound against f64 math.
  it.each([
    [GgmlType.F16, 48, 172, 5],
    [GgmlType.F16, 64, 64, 1],
    [GgmlType.Q8_0, 64, 256, 6],
    [GgmlType.Q8_0, 31, 64, 1],
    [GgmlType.Q4_0, 64, 256, 6],
    [GgmlType.Q4_0, 31, 64, 1],
    // A partial last 4-row panel under 4-token tiles plus a leftover token.
    [GgmlType.Q8_0, 30, 96, 9],
    [GgmlType.Q4_0, 30, 96, 9],
  ])("matmul type %i %ix%i × %i tokens matches ref to 1e-10 NMSE", async (type, rows, cols, nTokens) => {
    const bytes = quantize(type, randomArray(rand, rows * cols, 0.5));
    const x = randomArray(rand, nTokens * cols, 2);
    const err = nmse(await runMatmul(wasm, type, bytes, rows, cols, x, nTokens), await runMatmul(ref, type, bytes, rows, cols, x, nTokens));
    expect(err).toBeLessThanOrEqual(1e-10);
  });

  it("memory() counts weights, KV and scratch; release returns blocks for reuse", () => {
    const b = make();
    const before = b.memory();
    b.loadMatrix("w", GgmlType.Q8_0, 4, 64, quantize(GgmlType.Q8_0, randomArray(rand, 256)));
    // Q8_0 panels keep the file's size: 4 rows × 2 blocks × (32 quants + an f16 scale).
    expect(b.memory().weightsBytes - before.weightsBytes).toBe(4 * 2 * 34);
    const cache = b.createKvCache({ nLayers: 2, nCtx: 8, nKvHeads: 2, headDim: 4 });
    expect(b.memory().kvBytes).toBe(2 * 2 * 8 * 8 * 4);
    b.release(cache);
    expect(b.memory().kvBytes).toBe(0);
    const buf = b.createBuffer(100);
    expect(b.memory().scratchBytes).toBe(before.scratchBytes + 400);
    b.release(buf);
    expect(() => b.read(buf, 0, 1)).toThrow(/after release/);
  });

  it("buffers stay valid while linear memory grows (views are refreshed)", () => {
    const b = make();
    const small = b.createBuffer(16);
    b.write(small, Float32Array.from({ length: 16 }, (_, i) => i));
    b.loadMatrix("big", GgmlType.F32, 1024, 1024, new Uint8Array(1024 * 1024 * 4)); // 4 MiB: forces memory.grow
    expect(Array.from(b.read(small, 0, 16))).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });

  // The kernel takes keys four at a time and values 16 dims at a time; these head sizes leave every kind of remainder.
  it.each([
    [6, 3, 20, 5, 3],
    [4, 1, 6, 2, 2],
    [2, 2, 36, 0, 7],
  ])("attention %i heads / %i kv heads × %i dims, pos0 %i, %i tokens, matches f64", (nHeads, nKvHeads, headDim, pos0, nTokens) => {
    const b = make();
    const kvDim = nKvHeads * headDim;
    const cache = b.createKvCache({ nLayers: 1, nCtx: 16, nKvHeads, headDim });
    const [k, v] = [randomArray(rand, (pos0 + nTokens) * kvDim), randomArray(rand, (pos0 + nTokens) * kvDim)];
    const upload = (data: Float32Array) => {
      const buf = b.createBuffer(data.length);
      b.write(buf, data);
      return buf;
    };
    b.storeKv(cache, 0, 0, pos0 + nTokens, upload(k), upload(v));
    const q = randomArray(rand, nTokens * nHeads * headDim);
    const out = b.createBuffer(q.length);
    b.attention(out, upload(q), cache, 0, pos0, nTokens, { nHeads, nKvHeads, headDim });
    expect(nmse(b.read(out, 0, q.length), attention64(q, k, v, pos0, nTokens, nHeads, nKvHeads, headDim))).toBeLessThanOrEqual(1e-10);
  });

  // The backend keeps one table of RoPE angles for consecutive calls at the same positions (q and k of every layer).
  it("rope's shared angle table follows changes of positions and params", () => {
    const b = make();
    const [nHeads, headDim] = [3, 16];
    for (const [pos0, nTokens, freqBase] of [[3, 2, 10000], [3, 2, 10000], [4, 2, 10000], [4, 2, 500000], [4, 3, 500000]] as const) {
      const x = randomArray(rand, nTokens * nHeads * headDim);
      const xb = b.createBuffer(x.length);
      b.write(xb, x);
      b.rope(xb, nTokens, pos0, { nHeads, headDim, ropeDims: headDim, freqBase, freqScale: 1 });
      expect(nmse(b.read(xb, 0, x.length), rope64(x, nTokens, pos0, nHeads, headDim, headDim, freqBase))).toBeLessThanOrEqual(1e-10);
    }
  });

  // Both builds widen Q8_0 quants to i16 (relaxed_dot's 7-bit operand is kept for Q4_0's nibbles), so -128 is exact too.
  it("Q8_0 weights of -128 (never emitted by ggml) match ref on both builds", async () => {
    const b = make();
    const bytes = quantize(GgmlType.Q8_0, randomArray(rand, 64));
    bytes[2] = 0x80; // first quant of the first block: -128
    const x = randomArray(rand, 64);
    const err = nmse(await runMatmul(b, GgmlType.Q8_0, bytes, 2, 32, x, 2), await runMatmul(ref, GgmlType.Q8_0, bytes, 2, 32, x, 2));
    expect(err).toBeLessThanOrEqual(1e-10);
  });

  it("rejects handles of other backends", () => {
    expect(() => wasm.read(ref.createBuffer(4), 0, 1)).toThrow(/another backend/);
  });

  // Every ggml type outside the format table is refused at load, by name, never run through another type's kernel.
  it("a type missing from the format table is a ModelError naming the tensor and the type", () => {
    const missing = [...GGML_TYPES.keys()].filter((t) => !WASM_FORMATS.has(t));
    expect(missing).toContain(GgmlType.IQ2_XXS);
    for (const type of missing) {
      expect(wasm.supportsWeightType(type)).toBe(false);
      const load = () => wasm.loadMatrix("blk.3.ffn_up.weight", type, 4, 256, new Uint8Array(4096));
      expect(load).toThrow(ModelError);
      expect(load).toThrow(`tensor blk.3.ffn_up.weight has type ${GGML_TYPES.get(type)!.name}, which the ${label} backend cannot use`);
    }
    expect(() => wasm.loadMatrix("output.weight", GgmlType.Q4_K, 4, 128, new Uint8Array(4096))).toThrow(/output.weight: rows of 128 are not whole Q4_K blocks of 256/);
    expect(() => wasm.loadMatrix("output.weight", GgmlType.Q6_K, 4, 256, new Uint8Array(10))).toThrow(ModelError);
  });

  // K-quant panels: the file's bytes plus unpacked scales (Q4_K: 592 per 4·144, Q5_K: 736 per 4·176, Q6_K: 848 per
  // 4·210, Q3_K: 456 per 4·110), ≤ 5 % over; Q4_1/Q5_0/Q5_1 and Q2_K panels hold exactly the file's bytes.
  it.each([GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K])("type %i weights take at most 5 %% over the file's bytes", (type) => {
    const b = make();
    const before = b.memory().weightsBytes;
    const [rows, cols] = [64, 512];
    b.loadMatrix("w", type, rows, cols, randomBlocks(rand, type, rows, cols));
    const info = GGML_TYPES.get(type)!;
    const fileBytes = ((rows * cols) / info.blockSize) * info.typeSize;
    const packed = b.memory().weightsBytes - before;
    expect(packed).toBe(WASM_FORMATS.get(type)!.packedBytes(rows, cols));
    expect(packed / fileBytes).toBeLessThanOrEqual(1.05);
  });

  // Same Q8_K / Q8_0 / Q8_1 activations as the ref backend's ggml mode; the kernels' sums are exact integers scaled
  // once per block.
  it.each([
    [GgmlType.Q4_K, 64, 256, 1],
    [GgmlType.Q4_K, 30, 768, 9],
    [GgmlType.Q4_1, 64, 256, 1],
    [GgmlType.Q4_1, 30, 96, 9],
    [GgmlType.Q5_0, 64, 256, 1],
    [GgmlType.Q5_0, 30, 96, 9],
    [GgmlType.Q5_1, 64, 256, 1],
    [GgmlType.Q5_1, 30, 96, 9],
    [GgmlType.Q2_K, 64, 256, 1],
    [GgmlType.Q2_K, 30, 768, 9],
    [GgmlType.Q3_K, 64, 256, 1],
    [GgmlType.Q3_K, 30, 768, 9],
    [GgmlType.Q5_K, 64, 256, 1],
    [GgmlType.Q5_K, 30, 768, 9],
    [GgmlType.Q6_K, 64, 256, 1],
    [GgmlType.Q6_K, 30, 768, 9],
  ])("K-quant and legacy matmul type %i %ix%i × %i tokens matches ref to 1e-10 NMSE", async (type, rows, cols, nTokens) => {
    const bytes = randomBlocks(rand, type, rows, cols);
    const x = randomArray(rand, nTokens * cols, 2);
    const err = nmse(await runMatmul(wasm, type, bytes, rows, cols, x, nTokens), await runMatmul(ref, type, bytes, rows, cols, x, nTokens));
    expect(err).toBeLessThanOrEqual(1e-10);
  });
});

describe("wasm format table", () => {
  it("every row is exercised by the shared conformance suite", () => {
    for (const type of WASM_FORMATS.keys()) expect(CONFORMANCE_WEIGHT_TYPES, GgmlType[type]).toContain(type);
  });

  it("rows carry the file's block geometry", () => {
    for (const [type, f] of WASM_FORMATS) {
      expect(f.type).toBe(type);
      expect([f.blockElems, f.blockBytes]).toEqual([GGML_TYPES.get(type)!.blockSize, GGML_TYPES.get(type)!.typeSize]);
    }
  });
});

describe("wasm build selection", () => {
  it("the relaxed probe validates on this engine (Node 22+), and selection follows it", () => {
    expect(WebAssembly.validate(RELAXED_PROBE)).toBe(true);
    expect(relaxedSimdSupported()).toBe(true);
    expect(pickBuild(kernelModules())).toBe("relaxed");
    expect(createBackend("wasm").name).toBe("wasm-relaxed");
  });

  it("falls back to SIMD128 where relaxed SIMD does not validate", () => {
    expect(relaxedSimdSupported(() => false)).toBe(false);
    expect(pickBuild(kernelModules(), false)).toBe("simd128");
    // A corrupted opcode in the probe must not validate: validate really inspects the instructions.
    const broken = RELAXED_PROBE.slice();
    broken[broken.length - 3] = 0xff;
    expect(WebAssembly.validate(broken)).toBe(false);
  });

  it("createBackend knows the wasm names", () => {
    expect(createBackend("wasm-simd128").name).toBe("wasm-simd128");
    expect(createBackend("wasm-relaxed").name).toBe("wasm-relaxed");
    expect(createBackend().name).toBe("ref");
  });
});
