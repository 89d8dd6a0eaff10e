// Multi-token matmuls of one input (a prompt's q, k, v; gate, up) quantize it once: the wasm backend reuses the
// quants while nothing can have written the input, and its results are the bits a fresh backend computes for each
// matmul alone, whatever ran between the calls (writes, in-place norms, an output over the input, one-token and Q8_1
// uses of the same scratch, a released and recreated buffer).
import { describe, expect, it } from "vitest";
import "../../src/backends/wasm/load-node";
import { WasmBackend } from "../../src/backends/wasm/wasm-backend";
import { kernelModules } from "../../src/backends/wasm/kernel-modules";
import type { Buffer, Matrix } from "../../src/backends/backend";
import { GgmlType } from "../../src/gguf/ggml-types";
import { quantize } from "../../src/quant/index";
import { randomArray, seededRandom } from "./expected";
import { countQuantizerCalls, expectMatmulAsFresh } from "./matmul-as-fresh";

describe.each([
  ["wasm-relaxed", () => kernelModules().relaxed!],
  ["wasm-simd128", () => kernelModules().simd128],
] as const)("%s multi-token matmuls of one input", (_name, module) => {
  it("give a fresh backend's bits after any change of the input or of the quantized scratch, and quantize once otherwise", () => {
    const rand = seededRandom(0x51c3);
    const cols = 96, nTok = 5;
    const types = { a: GgmlType.Q4_0, b: GgmlType.Q4_0, q8: GgmlType.Q8_0, c: GgmlType.Q5_1 } as const;
    type Name = keyof typeof types;
    const rows = { a: 12, b: 8, q8: 8, c: 8 } as const;
    const weights = Object.fromEntries(Object.entries(types).map(([name, t]) => [name, quantize(t, randomArray(rand, rows[name as Name] * cols, 0.5))])) as Record<Name, Uint8Array>;
    const x1 = randomArray(rand, nTok * cols), x2 = randomArray(rand, cols);

    const shared = new WasmBackend(module());
    const seen = countQuantizerCalls(shared);
    const mats = (b: WasmBackend) => Object.fromEntries(Object.entries(types).map(([name, t]) => [name, b.loadMatrix(name, t, rows[name as Name], cols, weights[name as Name])])) as Record<Name, Matrix>;
    const sm = mats(shared);
    let input: Buffer = shared.createBuffer(nTok * cols);

    /** shared.matmul of the input's first nTokens rows against a fresh backend's bits for them; the quantizer calls it made. */
    const check = (label: string, m: Name, nTokens = nTok): number => {
      const before = seen.calls; // only shared's quantizers are counted: the fresh backend has its own exports
      expectMatmulAsFresh(label, shared, sm[m], input, nTokens, cols, rows[m], () => new WasmBackend(module()), (b) => mats(b)[m]);
      return seen.calls - before;
    };

    shared.write(input, x1);
    expect(check("first", "a")).toBe(1);
    expect(check("same input: reused", "b")).toBe(0);
    expect(check("same input again: reused", "a")).toBe(0);
    // SIMD128's Q4_0 prefill reads Q8_0's rows: one layout, one quantization; the relaxed build's tiles are another.
    const tiled = module() === kernelModules().relaxed ? 1 : 0;
    expect(check("Q8_0 weights: another layout (relaxed)", "q8")).toBe(tiled);
    expect(check("back to the tiles", "a")).toBe(tiled);
    expect(check("fewer tokens: another size", "a", 2)).toBe(1);
    expect(check("all tokens again", "b")).toBe(1);
    shared.write(input, x2, 2 * cols);
    expect(check("a row rewritten", "a")).toBe(1);
    expect(check("rewritten input reused", "b")).toBe(0);
    shared.rmsnorm(input, input, shared.loadVector("norm", randomArray(rand, cols)), nTok, 1e-5);
    expect(check("normed in place", "b")).toBe(1);
    // A matmul whose output lands on the input: its 12 floats overwrite the start of token 0's row.
    shared.matmul(input, sm.a, input, 1);
    expect(check("an output over the input", "a")).toBe(1);
    // A one-token matmul quantizes into the same scratch (output elsewhere).
    const aOut = shared.createBuffer(rows.a);
    shared.matmul(aOut, sm.a, input, 1);
    expect(check("after a one-token matmul of the same scratch", "b")).toBe(1);
    expect(check("reused", "a")).toBe(0);
    expect(check("Q5_1 (Q8_1 activations in the same scratch)", "c")).toBe(1);
    expect(check("after Q8_1", "a")).toBe(1);
    // The input released and a buffer of the same size made again (the same memory, new bytes).
    shared.release(input);
    input = shared.createBuffer(nTok * cols);
    shared.write(input, x1);
    expect(check("a new buffer", "a")).toBe(1);
    expect(check("reused", "b")).toBe(0);
  });
});
